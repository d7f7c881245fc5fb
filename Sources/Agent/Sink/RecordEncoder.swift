public import KafkaProtocol
import NIOCore
import SystemdJournal

/// Turns line events into Kafka records as DESIGN.md's record contract says: value = the line, timestamp =
/// read time (the entry's realtime for journald), key = host, source or none, headers `host`, `source`, `origin`
/// (`<host>:<stream>:<offset>` for files, `<host>:<cursor>` for journald), for journald `unit`, `priority`, `pid`
/// and `identifier` when the entry has them, and for a piece of an over-long line `truncated` = `true`. Reuses its buffers: no allocation per record.
public struct RecordEncoder {
    private let host: String
    private let key: RecordKeyChoice
    private var headers = EncodedRecordHeaders(capacity: 512)
    private var origin = ByteBufferAllocator().buffer(capacity: 128)
    private var hostKey: ByteBuffer?
    private var sourceKey: (source: String, buffer: ByteBuffer)?

    public init(host: String, key: RecordKeyChoice) {
        self.host = host
        self.key = key
    }

    /// The `origin` header value of `event`.
    public static func origin(host: String, _ origin: EventOrigin) -> String { "\(host):\(origin.stream):\(origin.offset)" }

    /// Appends `event` to `builder` as one record.
    public mutating func append(_ event: LineEvent, to builder: RecordBatchBuilder) {
        let headers = self.headers(for: event)
        var keyText: String?
        switch key {
        case .none: keyText = nil
        case .host: keyText = host
        case .source: keyText = event.source
        }
        event.value.withUnsafeReadableBytes { value in
            if var keyText {
                keyText.withUTF8 {
                    builder.append(timestamp: event.readTimeMilliseconds, key: UnsafeRawBufferPointer($0), value: value, headers: headers)
                }
            } else {
                builder.append(timestamp: event.readTimeMilliseconds, key: nil, value: value, headers: headers)
            }
        }
    }

    /// The headers of `event`'s record (`host`, `source`, `origin`, maybe `truncated`), built in storage reused
    /// by the next call: use them before encoding the next event.
    public mutating func headers(for event: LineEvent) -> EncodedRecordHeaders {
        var host = self.host
        var source = event.source
        origin.clear()
        host.withUTF8 { origin.writeBytes($0) }
        origin.writeInteger(UInt8(ascii: ":"))
        let entry = event.journalEntry?.record
        if let entry {
            var cursor = entry.cursor
            origin.writeBuffer(&cursor)
        } else {
            Self.writeHex(event.origin.stream.rawValue, into: &origin)
            origin.writeInteger(UInt8(ascii: ":"))
            Self.writeDecimal(event.origin.offset, into: &origin)
        }
        headers.removeAll()
        host.withUTF8 { headers.append(key: "host", value: UnsafeRawBufferPointer($0)) }
        source.withUTF8 { headers.append(key: "source", value: UnsafeRawBufferPointer($0)) }
        origin.withUnsafeReadableBytes { headers.append(key: "origin", value: $0) }
        if let entry {
            for field in JournalCapturedField.allCases {
                guard let name = field.headerName, let value = entry.value(at: field.rawValue) else { continue }
                value.withUnsafeReadableBytes { bytes in
                    name.withUTF8Buffer { headers.append(keyBytes: UnsafeRawBufferPointer($0), value: bytes) }
                }
            }
        }
        if event.truncated {
            var yes = "true"
            yes.withUTF8 { headers.append(key: "truncated", value: UnsafeRawBufferPointer($0)) }
        }
        return headers
    }

    /// The key of `event`'s record as the key choice says (nil for `none`); the host key and the last source
    /// key are cached, so a run of events from one file allocates nothing.
    public mutating func keyBuffer(for event: LineEvent) -> ByteBuffer? {
        switch key {
        case .none:
            return nil
        case .host:
            if hostKey == nil { hostKey = ByteBufferAllocator().buffer(string: host) }
            return hostKey
        case .source:
            if let cached = sourceKey, cached.source == event.source { return cached.buffer }
            let buffer = ByteBufferAllocator().buffer(string: event.source)
            sourceKey = (event.source, buffer)
            return buffer
        }
    }

    private static func writeHex(_ value: UInt64, into buffer: inout ByteBuffer) {
        for shift in stride(from: 60, through: 0, by: -4) {
            let digit = UInt8((value >> UInt64(shift)) & 0xF)
            buffer.writeInteger(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
        }
    }

    private static func writeDecimal(_ value: UInt64, into buffer: inout ByteBuffer) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
