import Foundation
@testable import KafkaBroker
import Logging
import NIOCore
import Testing
import TributaryTestSupport

/// Retention through the broker: "segments older than `retention.ms` or beyond `retention.bytes`
/// are deleted and ListOffsets earliest moves forward."
///
/// Most tests run the broker in-process (``KafkaBrokerServer`` over a ``LogManager`` the test
/// holds) and trigger the sweep with `LogManager.enforceRetention(now:)`; one runs `tributary broker`
/// with `--retention-check-interval-ms`. kcat produces, asks ListOffsets for the
/// earliest offset (`kcat -Q -t topic:0:-2`) and consumes.
@Suite("Broker: retention", .serialized, .enabled(if: BrokerTestHarness.commandExists("kcat"), "kcat is not installed"))
struct BrokerRetentionTests {
    static let segmentBytes = 16 * 1024

    /// An in-process broker on 127.0.0.1:0 over `manager`.
    final class InProcessBroker: Sendable {
        let server: KafkaBrokerServer
        let task: Task<Void, any Error>
        let bootstrap: String

        init(manager: LogManager, dataDirectory: String, retentionCheckInterval: Duration = .seconds(300)) async throws {
            var logger = Logger(label: "test.broker.retention")
            logger.logLevel = .critical
            var configuration = KafkaBrokerConfiguration(
                listener: .init(host: "127.0.0.1", port: 0), dataDirectory: dataDirectory)
            configuration.retentionCheckInterval = retentionCheckInterval
            let server = try await KafkaBrokerServer.start(
                configuration: configuration, store: DurableLogStore(logs: manager), logger: logger)
            self.server = server
            self.bootstrap = "127.0.0.1:\(try #require(server.localAddress.port))"
            self.task = Task { try await server.run() }
        }

        func stop() async throws {
            server.triggerGracefulShutdown()
            try await task.value
        }
    }

    /// A data directory whose topic defaults have small segments and `retentionMs`/`retentionBytes`.
    static func fixture(retentionMs: Int64, retentionBytes: Int64) throws -> StorageFixture {
        let fixture = try StorageFixture()
        var defaults = TopicConfig.kafkaDefaults
        defaults.segmentBytes = segmentBytes
        defaults.retentionMs = retentionMs
        defaults.retentionBytes = retentionBytes
        fixture.configuration.topicDefaults = defaults
        fixture.configuration.autoCreateTopics = false
        return fixture
    }

    /// Loghub lines, produced uncompressed in small batches so they span many 16 KiB segments.
    static func produce(_ lines: [KcatTests.Line], topic: String, bootstrap: String) async throws {
        let result = try await KcatTests.kcat(
            ["-b", bootstrap, "-P", "-t", topic, "-z", "none", "-X", "acks=all", "-X", "batch.size=4096"],
            stdin: KcatTests.joined(lines))
        #expect(result.status == 0, "kcat -P failed: \(result.stderr)")
    }

    /// ListOffsets earliest (timestamp -2) of partition 0, as the broker answers it to kcat.
    static func earliestOffset(topic: String, bootstrap: String) async throws -> Int64 {
        let result = try await KcatTests.kcat(["-b", bootstrap, "-Q", "-t", "\(topic):0:-2"])
        #expect(result.status == 0, "kcat -Q failed: \(result.stderr)")
        // "<topic> [0] offset <n>"
        let line = try #require(result.stdoutString.split(separator: "\n").first { $0.contains("offset") })
        return try #require(Int64(line.split(separator: " ").last ?? ""), "\(result.stdoutString)")
    }

    /// Records from the beginning to the end of partition 0.
    static func consume(topic: String, bootstrap: String) async throws -> [KcatTests.Line] {
        let result = try await KcatTests.kcat(["-b", bootstrap, "-C", "-t", topic, "-p", "0", "-e", "-o", "beginning", "-q"])
        #expect(result.status == 0, "kcat -C failed: \(result.stderr)")
        return KcatTests.split(result.stdout).dropLast()
    }

    /// Base offsets of the `.log` segment files of `topic`-0, ascending, with their sizes.
    static func segmentFiles(_ dataDirectory: String, topic: String) throws -> [(base: Int64, size: Int)] {
        let directory = dataDirectory + "/\(topic)-0"
        return try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".log") }
            .compactMap { name -> (Int64, Int)? in
                // A file deleted between the listing and here (a concurrent sweep) is skipped.
                guard let base = Int64(name.dropLast(4)),
                    let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)
                else { return nil }
                return (base, attributes[.size] as? Int ?? 0)
            }
            .sorted { $0.0 < $1.0 }
    }

    /// Checks, after retention, that `earliest` is the first remaining segment's base, the files
    /// of the deleted segments are gone (with their indexes), and the records from `earliest` on
    /// are still consumable, identical to those produced.
    static func expectTrimmed(
        topic: String, broker: InProcessBroker, dataDirectory: String, before: [(base: Int64, size: Int)],
        lines: [KcatTests.Line], sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Int64 {
        let earliest = try await earliestOffset(topic: topic, bootstrap: broker.bootstrap)
        let after = try segmentFiles(dataDirectory, topic: topic)
        #expect(earliest > 0, "earliest did not move", sourceLocation: sourceLocation)
        #expect(after.first?.base == earliest, "first segment \(String(describing: after.first)) vs earliest \(earliest)",
            sourceLocation: sourceLocation)
        #expect(after.count < before.count, sourceLocation: sourceLocation)
        let directory = dataDirectory + "/\(topic)-0"
        for segment in before where segment.base < earliest {
            let stem = directory + "/" + LogSegment.fileStem(segment.base)
            for suffix in [".log", ".index", ".timeindex"] {
                #expect(!FileManager.default.fileExists(atPath: stem + suffix), "\(stem + suffix) still exists",
                    sourceLocation: sourceLocation)
            }
        }
        let consumed = try await consume(topic: topic, bootstrap: broker.bootstrap)
        KcatTests.expectSame(consumed, Array(lines[Int(earliest)...]), "records from the new earliest offset",
            sourceLocation: sourceLocation)
        return earliest
    }

    @Test func retentionMsDeletesOldSegmentsAndMovesEarliest() async throws {
        let retentionMs: Int64 = 60_000
        let fixture = try Self.fixture(retentionMs: retentionMs, retentionBytes: -1)
        let manager = try fixture.open()
        try manager.createTopic(name: "aged", partitions: 1, configs: [:])
        let broker = try await InProcessBroker(manager: manager, dataDirectory: fixture.dataPath)
        let lines = Array(try KcatTests.loghubLines().prefix(3000))

        let producedFrom = BrokerHandlers.nowMs()
        try await Self.produce(lines, topic: "aged", bootstrap: broker.bootstrap)
        let before = try Self.segmentFiles(fixture.dataPath, topic: "aged")
        #expect(before.count >= 4, "only \(before.count) segments")
        #expect(try await Self.earliestOffset(topic: "aged", bootstrap: broker.bootstrap) == 0)

        // Not yet past retention.ms: every segment was appended to at or after `producedFrom`.
        #expect(manager.enforceRetention(now: producedFrom + retentionMs - 1) == 0)
        #expect(try Self.segmentFiles(fixture.dataPath, topic: "aged").count == before.count)
        #expect(try await Self.earliestOffset(topic: "aged", bootstrap: broker.bootstrap) == 0)

        // Past it: every segment but the active one goes.
        let deleted = manager.enforceRetention(now: BrokerHandlers.nowMs() + retentionMs + 1)
        #expect(deleted == before.count - 1)
        let earliest = try await Self.expectTrimmed(
            topic: "aged", broker: broker, dataDirectory: fixture.dataPath, before: before, lines: lines)
        #expect(earliest == before.last?.base)

        // New records after the trim are appended after the old end and readable.
        let more = Array(try KcatTests.loghubLines().dropFirst(3000).prefix(100))
        try await Self.produce(more, topic: "aged", bootstrap: broker.bootstrap)
        KcatTests.expectSame(
            try await Self.consume(topic: "aged", bootstrap: broker.bootstrap),
            Array((lines + more)[Int(earliest)...]), "after producing more")
        try await broker.stop()
    }

    @Test func retentionBytesDeletesOldestSegmentsAndMovesEarliest() async throws {
        let retentionBytes = Int64(3 * Self.segmentBytes)
        let fixture = try Self.fixture(retentionMs: -1, retentionBytes: retentionBytes)
        let manager = try fixture.open()
        try manager.createTopic(name: "sized", partitions: 1, configs: [:])
        let broker = try await InProcessBroker(manager: manager, dataDirectory: fixture.dataPath)
        let lines = Array(try KcatTests.loghubLines().prefix(3000))

        try await Self.produce(lines, topic: "sized", bootstrap: broker.bootstrap)
        let before = try Self.segmentFiles(fixture.dataPath, topic: "sized")
        let total = before.reduce(0) { $0 + $1.size }
        #expect(Int64(total) > 2 * retentionBytes, "only \(total) bytes produced")

        // Far in the future: time is not a reason (retention.ms = -1); size is.
        #expect(manager.enforceRetention(now: Int64.max / 2) > 0)
        _ = try await Self.expectTrimmed(
            topic: "sized", broker: broker, dataDirectory: fixture.dataPath, before: before, lines: lines)
        // Kafka's rule: delete the oldest segment while the rest still hold >= retention.bytes.
        let after = try Self.segmentFiles(fixture.dataPath, topic: "sized")
        let kept = after.reduce(0) { $0 + $1.size }
        #expect(Int64(kept) >= retentionBytes, "kept \(kept) bytes")
        #expect(Int64(kept - after[0].size) < retentionBytes, "kept \(kept) bytes; the oldest kept segment could go")
        // A second sweep finds nothing more to delete.
        #expect(manager.enforceRetention(now: Int64.max / 2) == 0)
        try await broker.stop()
    }

    /// The server's own periodic sweep (`retentionCheckInterval`, 5 minutes by default and not a
    /// `tributary broker` flag) applies retention.bytes without the test calling it: waits, bounded,
    /// for ListOffsets earliest to move.
    @Test func periodicSweepAppliesRetention() async throws {
        let retentionBytes = Int64(3 * Self.segmentBytes)
        let fixture = try Self.fixture(retentionMs: -1, retentionBytes: retentionBytes)
        let manager = try fixture.open()
        try manager.createTopic(name: "swept", partitions: 1, configs: [:])
        let broker = try await InProcessBroker(
            manager: manager, dataDirectory: fixture.dataPath, retentionCheckInterval: .milliseconds(100))
        let lines = Array(try KcatTests.loghubLines().prefix(3000))
        try await Self.produce(lines, topic: "swept", bootstrap: broker.bootstrap)

        // Condition wait (the sweep runs every 100 ms; give up after 30 s) until retention is fully
        // applied on disk: a sweep during the produce may have trimmed only part of it, and
        // after full application later sweeps change nothing, so the reads below are stable.
        let log = try #require(manager.partition(topic: "swept", index: 0))
        func fullyApplied() throws -> Bool {
            let files = try Self.segmentFiles(fixture.dataPath, topic: "swept")
            let total = files.reduce(0) { $0 + $1.size }
            return files.count > 1 && files[0].base > 0 && Int64(total - files[0].size) < retentionBytes
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while try !fullyApplied() && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try fullyApplied(), "the periodic sweep did not apply retention.bytes within 30 s")
        let earliest = try await Self.earliestOffset(topic: "swept", bootstrap: broker.bootstrap)
        #expect(earliest > 0, "the periodic sweep did not move earliest within 30 s")
        #expect(earliest == log.logStartOffset)
        let after = try Self.segmentFiles(fixture.dataPath, topic: "swept")
        #expect(after.first?.base == earliest)
        KcatTests.expectSame(
            try await Self.consume(topic: "swept", bootstrap: broker.bootstrap), Array(lines[Int(earliest)...]),
            "records from the new earliest offset")
        try await broker.stop()
    }

    @Test("tributary broker --retention-check-interval-ms runs the sweep at that interval")
    func retentionCheckIntervalFlag() async throws {
        let directory = try TemporaryDirectory(prefix: "tributary-retention-flag")
        defer { directory.remove() }
        let broker = try await BrokerProcess(
            dataDirectory: directory.path + "/data",
            extraArguments: [
                "--segment-bytes", String(Self.segmentBytes), "--retention-bytes", String(3 * Self.segmentBytes),
                "--retention-check-interval-ms", "100",
            ])
        let lines = Array(try KcatTests.loghubLines().prefix(3000))
        try await Self.produce(lines, topic: "flagged", bootstrap: broker.bootstrap)
        // With the default 5-minute interval nothing would be deleted within this deadline.
        let deadline = ContinuousClock.now + .seconds(30)
        var earliest = try await Self.earliestOffset(topic: "flagged", bootstrap: broker.bootstrap)
        while earliest == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            earliest = try await Self.earliestOffset(topic: "flagged", bootstrap: broker.bootstrap)
        }
        #expect(earliest > 0, "no retention sweep within 30 s: \(broker.stderr)")
        #expect(try await broker.stop() == 0)
    }
}
