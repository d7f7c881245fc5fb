public import NIOCore

/// Identity of one stream of bytes (a file's content from its creation or last truncation), stable across
/// renames, copytruncate copies and agent restarts.
public struct StreamID: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// 16 lower-case hex digits.
    public var description: String {
        let hex = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
    init?(hex: String) {
        guard let value = UInt64(hex, radix: 16) else { return nil }
        rawValue = value
    }
}

/// Where an event came from: stream and byte offset of its first byte. A re-sent line carries the same origin.
public struct EventOrigin: Hashable, Sendable, CustomStringConvertible {
    public var stream: StreamID
    public var offset: UInt64
    public init(stream: StreamID, offset: UInt64) {
        self.stream = stream
        self.offset = offset
    }
    /// `<stream>:<offset>`, the form of the `origin` header (after the host).
    public var description: String { "\(stream):\(offset)" }
}

/// Handed back by the sink once an event is durably delivered; see `AcknowledgementInbox`.
public struct AckToken: Hashable, Sendable {
    let input: Int
    let slot: Int
    let sequence: UInt64
    /// Value bytes counted against the in-flight budget.
    let bytes: Int
    /// Source bytes the event covers (file bytes including terminators), for the acknowledged-bytes counter.
    var sourceBytes = 0
}

/// One log event read from a file: the line (or joined lines) and where it came from.
public struct LineEvent: Sendable {
    /// The line's bytes without terminator: a slice of the read buffer (no copy), untouched (any bytes).
    public var value: ByteBuffer
    /// The record timestamp in ms since the Unix epoch: when the bytes were read (files), the entry's realtime
    /// timestamp (journald).
    public var readTimeMilliseconds: Int64
    /// The path the stream was first seen at (the `source` header).
    public var source: String
    /// Stream and offset of the first byte (the `origin` header).
    public var origin: EventOrigin
    /// Offset just past the event's last byte and terminator; acknowledging the event acknowledges up to here.
    public var endOffset: UInt64
    /// Whether the line was longer than `max_line_bytes` and this is one piece of it.
    public var truncated: Bool
    /// Index of the input in the config (selects topic and key choice).
    public var inputIndex: Int
    /// Give this back to the `AcknowledgementInbox` once the event is delivered.
    public var ackToken: AckToken
    /// For a journald event, the entry it came from: its cursor is the `origin` (with the host) and its unit,
    /// priority, pid and identifier become headers; `readTimeMilliseconds` then holds the entry's realtime
    /// timestamp. `nil` for file events.
    public var journalEntry: JournalEntryReference? = nil
}
