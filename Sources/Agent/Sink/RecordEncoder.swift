public import KafkaProtocol
import NIOCore
import SystemdJournal

/// Turns line events into Kafka records as DESIGN.md's record contract says: value = the line, timestamp =
/// read time (the entry's realtime for journald), key = host, source or none, headers `host`, `source`, `origin`
/// (`<host>:<stream>:<offset>` for files, `<host>:<cursor>` for journald), for journald `unit`, `priority`, `pid`
/// and `identifier` when the entry has them, and for a piece of an over-long line `truncated` = `true`. Reuses its buffers: no allocation per record.
public struct RecordEncoder {
    private let host: String
    private let hostBytes: [UInt8]
    private let key: RecordKeyChoice
    private var headers = EncodedRecordHeaders(capacity: 512)
    /// The `host` and `source` headers of the last source seen (a run of events from one file shares them).
    private var prefix: (source: String, headers: EncodedRecordHeaders)?
    private var origin = ByteBufferAllocator().buffer(capacity: 128)
    private var originPrefix: (stream: StreamID, bytes: [UInt8])?
    private var hostKey: ByteBuffer?
    private var sourceKey: (source: String, buffer: ByteBuffer)?

    public init(host: String, key: RecordKeyChoice) {
        self.host = host
        self.hostBytes = Array(host.utf8)
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
        headers.removeAll()
        if let prefix, prefix.source == event.source {
            headers.append(contentsOf: prefix.headers)
        } else {
            var prefixHeaders = EncodedRecordHeaders(capacity: 64 + hostBytes.count + event.source.utf8.count)
            hostBytes.withUnsafeBytes { prefixHeaders.append(key: "host", value: $0) }
            prefixHeaders.append(key: "source", value: event.source)
            prefix = (event.source, prefixHeaders)
            headers.append(contentsOf: prefixHeaders)
        }
        if let entry = event.journalEntry?.record {
            origin.clear()
            origin.writeBytes(hostBytes)
            origin.writeInteger(UInt8(ascii: ":"))
            var cursor = entry.cursor
            origin.writeBuffer(&cursor)
            if let pieceOffset = event.journalEntry?.pieceOffset {
                origin.writeInteger(UInt8(ascii: ":"))
                origin.writeString(String(pieceOffset))
            }
            origin.withUnsafeReadableBytes { headers.append(key: "origin", value: $0) }
            for field in JournalCapturedField.allCases {
                guard let name = field.headerName, let value = entry.value(at: field.rawValue) else { continue }
                value.withUnsafeReadableBytes { bytes in
                    name.withUTF8Buffer { headers.append(keyBytes: UnsafeRawBufferPointer($0), value: bytes) }
                }
            }
        } else {
            let prefix = fileOriginPrefix(event.origin.stream)
            Self.withFileOrigin(prefix, event.origin.offset) { headers.append(key: "origin", value: $0) }
        }
        if event.truncated {
            var yes = "true"
            yes.withUTF8 { headers.append(key: "truncated", value: UnsafeRawBufferPointer($0)) }
        }
        return headers
    }

    /// `<host>:<stream as 16 hex digits>:` of `stream`, cached for a run of events from one stream.
    private mutating func fileOriginPrefix(_ stream: StreamID) -> [UInt8] {
        if let cached = originPrefix, cached.stream == stream { return cached.bytes }
        let bytes = hostBytes + Array(":\(stream):".utf8)  // `StreamID.description`: 16 hex digits
        originPrefix = (stream, bytes)
        return bytes
    }

    /// Calls `body` with `prefix` followed by `offset` in decimal, formatted on the stack.
    private static func withFileOrigin<R>(_ prefix: [UInt8], _ offset: UInt64, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: prefix.count + 20) { out in
            let base = out.baseAddress!  // a non-empty allocation
            prefix.withUnsafeBufferPointer { base.update(from: $0.baseAddress!, count: prefix.count) }  // ends in ':'
            // The digits are written backwards at the end of the 20-digit field, then moved up to the prefix.
            var start = prefix.count + 20
            var rest = offset
            repeat {
                start -= 1
                base[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            let digits = prefix.count + 20 - start
            (base + prefix.count).update(from: base + start, count: digits)
            return body(UnsafeRawBufferPointer(start: base, count: prefix.count + digits))
        }
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
}
