import Dispatch
import Foundation
import KafkaClient
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
import Testing
import TributaryTestSupport

/// Test helpers: loghub sample lines and kcat runs off the cooperative pool.
enum ProducerInterop {
    /// `<repo>/../shared/data/loghub`.
    static var loghubDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/loghub").path
    }

    /// Every loghub sample's lines, `\r\n` / `\n` stripped, as the CLI and the agent cut them.
    static func loghubLines() throws -> [[UInt8]] {
        let names = try FileManager.default.contentsOfDirectory(atPath: loghubDirectory).filter { $0.hasSuffix(".log") }
        var lines: [[UInt8]] = []
        for name in names.sorted() {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(loghubDirectory)/\(name)"))
            for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
                lines.append(Array(line.last == UInt8(ascii: "\r") ? line.dropLast() : line))
            }
        }
        return lines
    }

    static var hasKcat: Bool { ProcessRunner.executablePath("kcat") != nil }

    /// Runs kcat (under `timeout`) on a Dispatch thread.
    static func kcat(_ arguments: [String], stdin: [UInt8] = []) async throws -> ProcessRunner.Output {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try ProcessRunner.run("timeout", ["60", "kcat"] + arguments, stdin: stdin) })
            }
        }
    }

    /// Every value of `topic` from the beginning, one per line (`-f '%s\n'`).
    static func consumeValues(_ broker: EmbeddedBroker, topic: String) async throws -> [UInt8] {
        let result = try await kcat(["-b", "\(broker.address)", "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\n"])
        #expect(result.succeeded, "kcat -C: \(result.stderr)")
        return result.stdout
    }
}

/// Wraps a transport and loses the responses of the first `count` Produce requests after the
/// broker applied them, as a connection dropped just before the answer.
///
/// Not an actor: `produce` must reach the base transport's write without suspending, or requests
/// would reach the broker out of order.
final class ResponseDroppingTransport: ProducerTransport {
    let base: any ProducerTransport
    private let remaining: NIOLockedValueBox<Int>
    private let droppedCount = NIOLockedValueBox(0)

    var dropped: Int { droppedCount.withLockedValue { $0 } }

    init(base: any ProducerTransport, dropping count: Int) {
        self.base = base
        self.remaining = NIOLockedValueBox(count)
    }

    func prepare(node: Int32) async { await base.prepare(node: node) }

    func route(topic: String, refresh: Bool) async throws(KafkaProducerError) -> ProducerTopicRoute {
        try await base.route(topic: topic, refresh: refresh)
    }

    func initProducerId() async throws(KafkaProducerError) -> ProducerIdentity {
        try await base.initProducerId()
    }

    func produce(_ request: ProduceRequest, toNode node: Int32) async throws(KafkaProducerError) -> ProduceResponse? {
        let response = try await base.produce(request, toNode: node)
        let drop = remaining.withLockedValue { remaining in
            defer { remaining -= 1 }
            return remaining > 0
        }
        if drop {
            droppedCount.withLockedValue { $0 += 1 }
            throw KafkaProducerError(.transport, "test proxy: response of node \(node) dropped")
        }
        return response
    }

    func shutdown() async { await base.shutdown() }
}

@Suite("Producer: against the embedded broker", .serialized)
struct ProducerEmbeddedBrokerTests {
    static func configuration(_ compression: KafkaCompression = .none) -> KafkaProducerConfiguration {
        var configuration = KafkaProducerConfiguration()
        configuration.compression = compression
        configuration.linger = .milliseconds(2)
        configuration.maxBatchBytes = 256 * 1024
        configuration.deliveryTimeout = .seconds(30)
        return configuration
    }

    @Test(.enabled(if: ProducerInterop.hasKcat, "kcat is not installed"), arguments: KafkaCompression.allCases)
    func kcatReadsEveryCodecByteIdentical(compression: KafkaCompression) async throws {
        let lines = try ProducerInterop.loghubLines()
        try await EmbeddedBroker.with { broker in
            let cluster = KafkaCluster(configuration: broker.clientConfiguration)
            let log = ProducerReportLog()
            let producer = try KafkaProducer(cluster: cluster, configuration: Self.configuration(compression), onDelivery: log.append)
            let topic = "codec-\(compression)"
            for (index, line) in lines.enumerated() {
                try await producer.send(topic: topic, key: nil, value: ByteBuffer(bytes: line), token: UInt64(index))
            }
            await producer.close()
            await cluster.shutdown()
            let failures = log.reports.filter { !$0.isSuccess }
            #expect(failures.isEmpty, "\(failures.count) failed batches, first: \(failures.first.map { "\($0.result)" } ?? "")")
            #expect(log.deliveredTokenCount == lines.count)
            let consumed = try await ProducerInterop.consumeValues(broker, topic: topic)
            let expected = lines.flatMap { $0 + [UInt8(ascii: "\n")] }
            #expect(consumed.count == expected.count)
            #expect(consumed == expected, "kcat output differs for \(compression)")
        }
    }

    @Test(.enabled(if: ProducerInterop.hasKcat, "kcat is not installed"))
    func keyedRecordsLandWhereJavaAndLibrdkafkaPutThem() async throws {
        var options = EmbeddedBroker.Options()
        options.partitions = 5
        try await EmbeddedBroker.with(options) { broker in
            let cluster = KafkaCluster(configuration: broker.clientConfiguration)
            let producer = try KafkaProducer(cluster: cluster, configuration: Self.configuration())
            let keys = (0..<60).map { "host-\($0)" }
            for key in keys {
                try await producer.send(topic: "keyed", key: ByteBuffer(string: key), value: ByteBuffer(string: "ours"))
            }
            await producer.close()
            await cluster.shutdown()
            // librdkafka with the Java-compatible partitioner, same keys, another topic.
            let input = Array(keys.map { "\($0):theirs\n" }.joined().utf8)
            let produced = try await ProducerInterop.kcat(
                ["-b", "\(broker.address)", "-P", "-t", "keyed-kcat", "-K", ":", "-X", "partitioner=murmur2_random"],
                stdin: input)
            #expect(produced.succeeded, "kcat -P: \(produced.stderr)")
            for topic in ["keyed", "keyed-kcat"] {
                let result = try await ProducerInterop.kcat(
                    ["-b", "\(broker.address)", "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k %p\n"])
                let rows = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n")
                #expect(rows.count == keys.count, "\(topic): \(result.stderr)")
                for row in rows {
                    let fields = row.split(separator: " ")
                    guard fields.count == 2, let partition = Int32(fields[1]) else {
                        Issue.record("bad kcat row \(row)")
                        continue
                    }
                    let expected = KafkaKeyPartitioner.partition(forKey: String(fields[0]), partitionCount: 5)
                    #expect(partition == expected, "\(topic): key \(fields[0])")
                }
            }
        }
    }

    @Test func lostResponsesAreDeduplicatedByTheBroker() async throws {
        try await EmbeddedBroker.with { broker in
            let cluster = KafkaCluster(configuration: broker.clientConfiguration)
            let transport = ResponseDroppingTransport(base: KafkaClusterProducerTransport(cluster: cluster), dropping: 3)
            var configuration = Self.configuration(.lz4)
            configuration.maxBatchBytes = 4096
            configuration.retryBackoff = .milliseconds(5)
            let log = ProducerReportLog()
            let producer = try KafkaProducer(transport: transport, configuration: configuration, onDelivery: log.append)
            for index in 0..<3000 {
                try await producer.send(topic: "dedup", key: nil, value: ByteBuffer(string: "record-\(index)"), token: UInt64(index))
            }
            await producer.close()
            #expect(transport.dropped == 3)
            #expect(log.deliveredTokenCount == 3000)
            // Offsets are dense: 3000 records at offsets 0..<3000, each token once.
            let offsets = log.delivered
            #expect(Set(offsets.values.map(\.offset)) == Set((0..<3000).map(Int64.init)))
            if ProducerInterop.hasKcat {
                let consumed = try await ProducerInterop.consumeValues(broker, topic: "dedup")
                #expect(consumed == Array((0..<3000).map { "record-\($0)\n" }.joined().utf8))
            }
            await cluster.shutdown()
        }
    }

    @Test func sendAndWaitReturnsTheOffset() async throws {
        try await EmbeddedBroker.with { broker in
            let cluster = KafkaCluster(configuration: broker.clientConfiguration)
            let producer = try KafkaProducer(cluster: cluster, configuration: Self.configuration(.zstd))
            let first = try await producer.sendAndWait(topic: "single", key: nil, value: ByteBuffer(string: "a"))
            let second = try await producer.sendAndWait(topic: "single", key: nil, value: ByteBuffer(string: "b"))
            #expect(first.offset == 0 && second.offset == 1)
            #expect(producer.identity != nil)
            await producer.close()
            await cluster.shutdown()
        }
    }
}
