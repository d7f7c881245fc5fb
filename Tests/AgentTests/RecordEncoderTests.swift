@testable import Agent
import KafkaProtocol
import NIOCore
import Testing

/// Line events become records as DESIGN.md's contract says, readable by any Kafka client.
@Suite("Record encoder")
struct RecordEncoderTests {
    @Test(arguments: [RecordKeyChoice.host, .source, .none])
    func eventsBecomeContractRecords(key: RecordKeyChoice) throws {
        let harness = try FileInputHarness(paths: ["app.log"]) { $0.maxLineBytes = 64 }
        try LogWriter.append(harness.path("app.log"), "first line\r\n" + String(repeating: "z", count: 70) + "\n")
        #expect(harness.poll(untilEvents: 3))
        var encoder = RecordEncoder(host: "web-1", key: key)
        let builder = try RecordBatchBuilder(compression: .lz4)
        for event in harness.sink.events { encoder.append(event, to: builder) }
        let batch = try RecordBatch(bytes: try builder.finish())
        var records: [(key: String?, value: String, timestamp: Int64, headers: [String: String])] = []
        _ = try batch.forEachRecord { record in
            var headers: [String: String] = [:]
            for header in record.headers {
                headers[String(decoding: header.key, as: UTF8.self)] = header.value.map { String(decoding: $0, as: UTF8.self) }
            }
            records.append((
                record.key.map { String(decoding: $0, as: UTF8.self) }, record.value.map { String(decoding: $0, as: UTF8.self) } ?? "",
                record.timestamp, headers))
            return true
        }
        let events = harness.sink.events
        #expect(records.map(\.value) == ["first line", String(repeating: "z", count: 64), "zzzzzz"])
        #expect(records.map(\.timestamp) == events.map(\.readTimeMilliseconds))
        let expectedKey: String? = switch key {
        case .host: "web-1"
        case .source: harness.path("app.log")
        case .none: nil
        }
        #expect(records.allSatisfy { $0.key == expectedKey })
        for (record, event) in zip(records, events) {
            #expect(record.headers["host"] == "web-1")
            #expect(record.headers["source"] == harness.path("app.log"))
            #expect(record.headers["origin"] == RecordEncoder.origin(host: "web-1", event.origin))
            #expect(record.headers["truncated"] == (event.truncated ? "true" : nil))
        }
        #expect(records[1].headers["origin"] == "web-1:\(events[1].origin.stream):12")
    }

    /// The `host`/`source` headers and the `origin` prefix are cached per source and stream: events alternating
    /// between streams and sources, and offsets of every decimal width, still get exactly their own values.
    @Test func originsOfEveryWidthAndAlternatingStreams() throws {
        let offsets: [UInt64] = [0, 9, 10, 99, 100, 12_345, 999_999_999, 1 << 40, UInt64.max]
        let streams = [StreamID(rawValue: 0), StreamID(rawValue: 0xDEAD_BEEF), StreamID(rawValue: UInt64.max)]
        var events: [LineEvent] = []
        for (index, offset) in offsets.enumerated() {
            let stream = streams[index % streams.count]
            events.append(LineEvent(
                value: ByteBuffer(string: "line \(index)"), readTimeMilliseconds: 1_700_000_000_000 + Int64(index),
                source: index % 2 == 0 ? "/var/log/a.log" : "/var/log/b.log",
                origin: EventOrigin(stream: stream, offset: offset), endOffset: offset, truncated: false,
                inputIndex: 0, ackToken: AckToken(input: 0, slot: 0, sequence: 0, bytes: 0)))
        }
        var encoder = RecordEncoder(host: "h", key: .none)
        for event in events {
            let headers = encoder.headers(for: event)
            let builder = try RecordBatchBuilder()
            builder.append(timestamp: 0, key: nil, value: nil, headers: headers)
            let batch = try RecordBatch(bytes: try builder.finish())
            var decoded: [String: String] = [:]
            _ = try batch.forEachRecord { record in
                for header in record.headers {
                    decoded[String(decoding: header.key, as: UTF8.self)] = header.value.map { String(decoding: $0, as: UTF8.self) }
                }
                return true
            }
            let hex = String(event.origin.stream.rawValue, radix: 16)
            let expected = "h:" + String(repeating: "0", count: 16 - hex.count) + hex + ":\(event.origin.offset)"
            #expect(decoded == ["host": "h", "source": event.source, "origin": expected])
        }
    }
}
