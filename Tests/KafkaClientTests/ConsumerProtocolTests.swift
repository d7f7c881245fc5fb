import Foundation
import KafkaClient
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

/// The consumer protocol's embedded formats against bytes written by hand from Apache Kafka's
/// JSON definitions and against kafka-python's `ConsumerProtocolMemberMetadata/Assignment`.
@Suite("Consumer protocol formats")
struct ConsumerProtocolTests {
    private func hex(_ buffer: ByteBuffer) -> String {
        buffer.readableBytesView.map { String(format: "%02x", $0) }.joined()
    }

    private func buffer(hex: String) -> ByteBuffer {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return ByteBuffer(bytes: bytes)
    }

    // "logs" = 6c6f6773, "nginx" = 6e67696e78, "r1" = 7231
    private let topicsHex = "00000002" + "00046c6f6773" + "00056e67696e78"
    private let ownedHex = "00000001" + "00046c6f6773" + "00000002" + "00000000" + "00000002"

    @Test("subscription v0-v3 encode to the JSON layout, field by field")
    func subscriptionLayouts() {
        let subscription = ConsumerProtocolSubscription(
            topics: ["logs", "nginx"], userData: ByteBuffer(bytes: [0xAB]),
            ownedPartitions: [.init(topic: "logs", partitions: [0, 2])], generationID: 7, rackID: "r1")
        #expect(hex(subscription.encoded(version: 0)) == "0000" + topicsHex + "00000001ab")
        #expect(hex(subscription.encoded(version: 1)) == "0001" + topicsHex + "00000001ab" + ownedHex)
        #expect(hex(subscription.encoded(version: 2)) == "0002" + topicsHex + "00000001ab" + ownedHex + "00000007")
        #expect(hex(subscription.encoded(version: 3))
            == "0003" + topicsHex + "00000001ab" + ownedHex + "00000007" + "00027231")
        let defaults = ConsumerProtocolSubscription(topics: ["logs"])
        #expect(hex(defaults.encoded(version: 3)) == "0003" + "00000001" + "00046c6f6773" + "ffffffff" + "00000000"
            + "ffffffff" + "ffff")
    }

    @Test("subscriptions round-trip at every version, dropping what older versions cannot carry")
    func subscriptionRoundTrip() throws {
        let full = ConsumerProtocolSubscription(
            topics: ["logs", "nginx"], userData: ByteBuffer(bytes: [1, 2, 3]),
            ownedPartitions: [.init(topic: "logs", partitions: [0, 2])], generationID: 7, rackID: "r1")
        for version: Int16 in 0...3 {
            let decoded = try ConsumerProtocolSubscription(decoding: full.encoded(version: version))
            var expected = full
            if version < 1 { expected.ownedPartitions = [] }
            if version < 2 { expected.generationID = -1 }
            if version < 3 { expected.rackID = nil }
            #expect(decoded == expected, "version \(version)")
        }
    }

    @Test("a newer version is read as v3 and its extra fields ignored (as Java does)")
    func subscriptionNewerVersion() throws {
        let bytes = buffer(hex: "0004" + topicsHex + "ffffffff" + "00000000" + "00000003" + "ffff" + "deadbeef")
        let decoded = try ConsumerProtocolSubscription(decoding: bytes)
        #expect(decoded.topics == ["logs", "nginx"])
        #expect(decoded.generationID == 3)
    }

    @Test("truncated, negative-version and oversized-count subscriptions throw, naming the field")
    func subscriptionBadInput() {
        let cases: [(String, String)] = [
            ("", "version"),
            ("ffff00000000ffffffff", "subscription version -1"),
            ("0000" + "00000002" + "00046c6f6773", "topics"),
            ("0000" + "7fffffff", "topics"),
            ("0001" + topicsHex + "ffffffff" + "00000001" + "00046c6f6773" + "00000005", "ownedPartitions"),
        ]
        for (bytes, needle) in cases {
            do {
                _ = try ConsumerProtocolSubscription(decoding: buffer(hex: bytes))
                Issue.record("decoding \(bytes) did not throw")
            } catch {
                #expect(error.description.contains(needle), "\(error)")
                #expect(error.description.contains("ConsumerProtocolSubscription"), "\(error)")
            }
        }
    }

    @Test("assignments encode to the JSON layout at v0-v3 and decode librdkafka's short form")
    func assignmentLayouts() throws {
        let assignment = ConsumerProtocolAssignment(assignedPartitions: [
            .init(topic: "logs", partitions: [0, 2]), .init(topic: "nginx", partitions: [1]),
        ])
        let body = "00000002" + "00046c6f6773" + "00000002" + "00000000" + "00000002"
            + "00056e67696e78" + "00000001" + "00000001" + "ffffffff"
        for version: Int16 in 0...3 {
            let encoded = assignment.encoded(version: version)
            #expect(hex(encoded) == String(format: "%04x", version) + body)
            #expect(try ConsumerProtocolAssignment(decoding: encoded) == assignment)
        }
        // No userData at all (ends after the partitions), and an empty buffer: both valid.
        let short = try ConsumerProtocolAssignment(decoding: buffer(hex: "0000" + "00000001" + "00046c6f6773" + "00000001" + "00000003"))
        #expect(short.assignedPartitions.topicPartitions == [TopicPartition(topic: "logs", partition: 3)])
        #expect(try ConsumerProtocolAssignment(decoding: ByteBuffer()).assignedPartitions.isEmpty)
        #expect(throws: KafkaDecodingError.self) {
            try ConsumerProtocolAssignment(decoding: buffer(hex: "0000" + "00000001" + "00046c6f"))
        }
    }

    @Test("kafka-python reads our subscription and assignment, and we read kafka-python's", .enabled(if: ProcessRunner.pythonHasModules(["kafka"])))
    func kafkaPythonInterop() throws {
        let subscription = ConsumerProtocolSubscription(
            topics: ["logs", "nginx"], ownedPartitions: [.init(topic: "logs", partitions: [1])], generationID: 4)
        let assignment = ConsumerProtocolAssignment(assignedPartitions: [
            .init(topic: "logs", partitions: [0, 2]), .init(topic: "nginx", partitions: [1]),
        ])
        let script = """
            import sys
            from kafka.coordinator.protocol import ConsumerProtocolMemberMetadata_v0 as M, ConsumerProtocolMemberAssignment_v0 as A
            sub, asg = [bytes.fromhex(x) for x in sys.stdin.read().split()]
            m = M.decode(sub); a = A.decode(asg)
            print(m.version, ",".join(m.topics), a.version, sorted(a.partitions()))
            mine = M(0, ["logs", "nginx"], b"")
            theirs = A(0, [("logs", [0, 2]), ("nginx", [1])], b"xyz")
            print(mine.encode().hex()); print(theirs.encode().hex())
            """
        let input = hex(subscription.encoded()) + " " + hex(assignment.encoded())
        let output = try ProcessRunner.python(script, stdin: Array(input.utf8))
        #expect(output.succeeded, "\(output.stderr)")
        let lines = String(decoding: output.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        guard lines.count == 3 else { return }
        #expect(lines[0] == "3 logs,nginx 3 [TopicPartition(topic='logs', partition=0), TopicPartition(topic='logs', partition=2), TopicPartition(topic='nginx', partition=1)]")
        let theirSubscription = try ConsumerProtocolSubscription(decoding: buffer(hex: lines[1]))
        #expect(theirSubscription == ConsumerProtocolSubscription(topics: ["logs", "nginx"], userData: ByteBuffer()))
        let theirAssignment = try ConsumerProtocolAssignment(decoding: buffer(hex: lines[2]))
        #expect(theirAssignment == ConsumerProtocolAssignment(
            assignedPartitions: assignment.assignedPartitions, userData: ByteBuffer(string: "xyz")))
    }
}
