import Foundation
@testable import KafkaClient
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

/// Interop with kcat (librdkafka): this consumer reads what kcat produced, every codec, byte for
/// byte; and it shares a consumer group with a `kcat -G` member (assignment bytes both ways).
@Suite("Consumer kcat interop", .serialized, .enabled(if: ProcessRunner.executablePath("kcat") != nil, "kcat is not installed"))
struct ConsumerKcatTests {
    typealias Support = ConsumerTestSupport

    /// Lines of varied content: log-like text, non-UTF-8 bytes, an empty-ish line, long lines.
    static func sampleLines(count: Int) -> [[UInt8]] {
        var random = SplitMix64(seed: SplitMix64.testSeed())
        return (0..<count).map { index in
            var line = Array("2026-11-25T15:\(index % 60) host-\(index % 7) sshd[\(index)]: accepted key ".utf8)
            line += random.bytes(Int.random(in: 0...200, using: &random)).map { $0 == UInt8(ascii: "\n") ? 0xFF : $0 }
            return line
        }
    }

    @Test("every codec kcat -P -z writes is consumed byte-identical, in order, batches as kcat compressed them",
          arguments: ["none", "gzip", "snappy", "lz4", "zstd"])
    func codecs(codec: String) async throws {
        try await EmbeddedBroker.with { broker in
            let topic = "kcat-\(codec)"
            let lines = Self.sampleLines(count: 500)
            let input = Data(lines.flatMap { $0 + [UInt8(ascii: "\n")] })
            let produced = try await Support.blocking {
                try TributaryProcess.run(
                    executable: "timeout",
                    ["60", "kcat", "-P", "-b", "\(broker.address)", "-t", topic, "-p", "0", "-z", codec,
                     "-X", "linger.ms=50", "-X", "batch.num.messages=100"],
                    stdin: input)
            }
            #expect(produced.status == 0, "kcat -P failed: \(produced.stderr)")

            let consumer = KafkaConsumer(
                assigning: [TopicPartition(topic: topic, partition: 0)], clientConfiguration: broker.clientConfiguration,
                configuration: Support.configuration())
            var received: [[UInt8]] = []
            var codecs: Set<KafkaCompression> = []
            for try await event in consumer.events {
                guard case .batches(let fetched) = event else { continue }
                for batch in fetched.batches { codecs.insert(batch.header.attributes.compression) }
                try fetched.forEachRecord { record in
                    received.append(record.value.map { Array($0) } ?? [])
                    return true
                }
                if received.count >= lines.count { break }
            }
            await consumer.close()
            #expect(received.count == lines.count)
            #expect(received == lines, "values differ from what kcat was given")
            let expected: KafkaCompression = switch codec {
            case "gzip": .gzip
            case "snappy": .snappy
            case "lz4": .lz4
            case "zstd": .zstd
            default: .none
            }
            // librdkafka sends a batch uncompressed when compressing does not make it smaller.
            #expect(codecs.contains(expected) && codecs.isSubset(of: [expected, .none]), "\(codecs)")
        }
    }

    @Test("a kcat -G member and this consumer share a group: each gets 2 of 4 partitions (roundrobin), kcat reads only its own")
    func sharedGroupWithKcat() async throws {
        var options = EmbeddedBroker.Options()
        options.partitions = 4
        try await EmbeddedBroker.with(options) { broker in
            let cluster = KafkaCluster(configuration: broker.clientConfiguration)
            try await Support.createTopic("shared", cluster: cluster)
            for partition in 0..<Int32(4) {
                try await Support.produce(
                    (0..<3).map { "p\(partition)-\($0)" }, topic: "shared", partition: partition, cluster: cluster)
            }
            await cluster.shutdown()

            var configuration = Support.configuration(group: "mixed")
            configuration.assignors = [RoundRobinAssignor()]
            let ours = KafkaConsumer(
                subscribing: ["shared"], clientConfiguration: broker.clientConfiguration, configuration: configuration)
            let log = Support.EventLog()
            let task = Support.drain(ours, into: log)
            try await waitUntil("this consumer holds all 4 partitions") { await log.lastAssignment?.count == 4 }

            // kcat joins second: this consumer, the leader, decodes librdkafka's subscription and
            // encodes kcat's assignment.
            let directory = try TemporaryDirectory(prefix: "consumer-kcat")
            defer { directory.remove() }
            let output = "\(directory.path)/kcat.out"
            let kcat = try Self.startKcat(
                ["-u", "-b", "\(broker.address)", "-G", "mixed", "-X", "auto.offset.reset=earliest", "-f", "%p %s\\n",
                 "-X", "partition.assignment.strategy=roundrobin", "-X", "session.timeout.ms=6000", "shared"],
                output: output, stderr: "\(directory.path)/kcat.err")
            defer { if kcat.isRunning { kill(kcat.processIdentifier, SIGKILL) } }

            do {
                try await waitUntil("the group split 2/2", timeout: .seconds(30)) { await log.lastAssignment?.count == 2 }
            } catch {
                Issue.record("events: \(await log.events); kcat: \((try? String(contentsOfFile: "\(directory.path)/kcat.err", encoding: .utf8)) ?? "")")
                throw error
            }
            let mine = Set(await log.lastAssignment ?? [])
            let theirs = Set((0..<Int32(4)).map { TopicPartition(topic: "shared", partition: $0) }).subtracting(mine)
            let expectedLines = theirs.sorted().flatMap { partition in (0..<3).map { "\(partition.partition) p\(partition.partition)-\($0)" } }
            do {
                try await waitUntil("kcat printed the records of its 2 partitions", timeout: .seconds(30)) {
                    let printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                    return Set(printed.split(separator: "\n").map(String.init)).isSuperset(of: expectedLines)
                }
            } catch {
                let printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                let diagnostics = (try? String(contentsOfFile: "\(directory.path)/kcat.err", encoding: .utf8)) ?? ""
                Issue.record("mine \(mine.sorted()); kcat printed: \(printed); kcat stderr: \(diagnostics)")
                throw error
            }
            let printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            #expect(Set(printed.split(separator: "\n").map(String.init)) == Set(expectedLines),
                    "kcat read only its own partitions")

            // kcat dies (SIGKILL: children of the test runner do not get to handle SIGTERM); after
            // its session timeout this consumer gets everything back.
            kill(kcat.processIdentifier, SIGKILL)
            try await waitUntil("kcat exited", timeout: .seconds(20)) { !kcat.isRunning }
            try await waitUntil("this consumer holds all 4 partitions again", timeout: .seconds(30)) {
                await log.lastAssignment?.count == 4
            }
            await ours.close()
            await task.value
            #expect(await log.error == nil)
        }
    }

    /// Starts kcat in the background with stdout and stderr going to files.
    static func startKcat(_ arguments: [String], output: String, stderr: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(ProcessRunner.executablePath("kcat")))
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: stderr)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }
}
