import KafkaProtocol
import NIOCore
import Testing

@Suite("Messages: round trip of every message in every version")
struct MessagesRoundTripTests {
    @Test("all 38 messages are sampled, each request has its response")
    func everyMessageIsCovered() {
        #expect(allSampledMessageTypes.count == 2 * KafkaAPIKey.allCases.count)
        for key in KafkaAPIKey.allCases {
            #expect(allSampledMessageTypes.contains { $0 == key.requestType }, "\(key) request")
            #expect(allSampledMessageTypes.contains { $0 == key.responseType }, "\(key) response")
            #expect(key.requestType.apiKey == key && key.responseType.apiKey == key)
            #expect(key.requestType.validVersions == key.responseType.validVersions)
        }
    }

    @Test("encode → decode → equal → re-encode → same bytes, consuming exactly the body")
    func roundTripEveryVersion() throws {
        var checked = 0
        for type in allSampledMessageTypes {
            checked += try Self.roundTrip(type)
        }
        #expect(checked > 250)
    }

    static func roundTrip<Message: SampledMessage>(_: Message.Type) throws -> Int {
        var count = 0
        for version in Message.validVersions {
            let where_ = "\(Message.self) v\(version)"
            let value = Message.sample(version: version)
            var buffer = ByteBuffer()
            do {
                try value.encode(into: &buffer, version: version)
            } catch {
                Issue.record("\(where_): encode failed: \(error)")
                continue
            }
            let encoded = buffer
            buffer.writeBytes([0xde, 0xad, 0xbe, 0xef])  // must be left alone
            let decoded: Message
            do {
                decoded = try Message(from: &buffer, version: version)
            } catch {
                Issue.record("\(where_): decode failed: \(error)")
                continue
            }
            #expect(buffer.readableBytesView.elementsEqual([0xde, 0xad, 0xbe, 0xef]), "\(where_): consumed \(encoded.readableBytes + 4 - buffer.readableBytes) of \(encoded.readableBytes) bytes")
            #expect(decoded == value, "\(where_): decoded value differs")
            var again = ByteBuffer()
            try decoded.encode(into: &again, version: version)
            #expect(again == encoded, "\(where_): re-encoded bytes differ")
            count += 1
        }
        return count
    }

    @Test("a non-ignorable field set in a version lacking it is refused, naming message, version and field")
    func absentNonIgnorableFieldsThrow() {
        var probes = 0
        for type in allSampledMessageTypes {
            probes += Self.checkProbes(type)
        }
        #expect(probes > 40)
    }

    static func checkProbes<Message: SampledMessage>(_: Message.Type) -> Int {
        let probes = Message.absentFieldProbes()
        for probe in probes {
            var buffer = ByteBuffer(bytes: [1, 2, 3])
            let expected = "\(Message.self) v\(probe.version): \(probe.path)"
            do {
                try probe.message.encode(into: &buffer, version: probe.version)
                Issue.record("\(expected): encoded although the field is absent from the version")
            } catch {
                #expect(error.kind == .fieldNotInVersion, "\(expected): \(error)")
                #expect(error.context == expected, "\(error)")
                #expect(buffer.readableBytes == 3, "\(expected): a failed encode must not leave bytes behind")
            }
        }
        return probes.count
    }

    @Test("versions outside validVersions are rejected both ways")
    func unsupportedVersions() {
        for type in allSampledMessageTypes {
            Self.checkUnsupported(type)
        }
    }

    static func checkUnsupported<Message: SampledMessage>(_: Message.Type) {
        let value = Message.sample(version: Message.validVersions.upperBound)
        for version in [Message.validVersions.upperBound + 1, -1] {
            var buffer = ByteBuffer()
            #expect(throws: KafkaEncodingError.self) { try value.encode(into: &buffer, version: version) }
            #expect(buffer.readableBytes == 0)
            var input = ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 0])
            do {
                _ = try Message(from: &input, version: version)
                Issue.record("\(Message.self) decoded version \(version)")
            } catch {
                #expect(error.kind == .unsupportedVersion)
                #expect(input.readableBytes == 8)
            }
        }
    }
}
