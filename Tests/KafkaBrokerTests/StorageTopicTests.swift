import Foundation
@testable import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

@Suite("Storage: topics, names and configs")
struct StorageTopicTests {

    @Test("topic names follow Kafka's rules", arguments: [
        ("../x", false), ("a/b", false), ("", false), (".", false), ("..", false), ("a b", false), ("é", false),
        ("a\u{0}b", false), (String(repeating: "a", count: 250), false), (String(repeating: "a", count: 249), true),
        ("syslog", true), ("app.payments_2-x", true), ("...", true), ("-", true),
    ])
    func names(name: String, valid: Bool) {
        #expect(TopicName.isValid(name) == valid)
    }

    @Test("invalid names never reach the file system")
    func invalidNamesCreateNothing() throws {
        let fixture = try StorageFixture()
        let manager = try fixture.open()
        for name in ["../x", "a/b", "", String(repeating: "a", count: 250), "..", "/etc"] {
            #expect(storageErrorCode { try manager.createTopic(name: name, partitions: 1, configs: [:]) } == .invalidTopicException)
            #expect(storageErrorCode { _ = try manager.partitionOrCreate(topic: name, index: 0) } == .invalidTopicException)
            #expect(storageErrorCode { try manager.deleteTopic(name: name) } == .invalidTopicException)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.dataPath).filter { !$0.hasPrefix(".") }.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.path + "/x-0"))
        try manager.close()
    }

    @Test("config parsing: defaults, overrides, unknown keys and bad values")
    func configParsing() throws {
        let defaults = TopicConfig.kafkaDefaults
        #expect(defaults.retentionMs == 604_800_000)
        #expect(defaults.retentionBytes == -1)
        #expect(defaults.segmentBytes == 1_073_741_824)
        #expect(defaults.maxMessageBytes == 1_048_588)
        let config = try TopicConfig(overrides: ["retention.ms": "-1", "segment.bytes": "1024", "cleanup.policy": "delete"])
        #expect(config.retentionMs == -1)
        #expect(config.segmentBytes == 1024)
        #expect(config.segmentMs == defaults.segmentMs)
        #expect(try TopicConfig(overrides: config.stringMap) == config)

        func message(_ overrides: [String: String]) -> String? {
            do {
                _ = try TopicConfig(overrides: overrides)
                return nil
            } catch {
                #expect(error.code == .invalidConfig)
                return error.message
            }
        }
        #expect(message(["retention.mss": "1"])?.contains("unknown topic config 'retention.mss'") == true)
        #expect(message(["retention.ms": "soon"])?.contains("'retention.ms': not an integer") == true)
        #expect(message(["retention.ms": "-2"])?.contains("must be at least 0 or -1") == true)
        #expect(message(["segment.bytes": "-1"])?.contains("'segment.bytes'") == true)
        #expect(message(["segment.bytes": "99999999999"])?.contains("at most 2147483647") == true)
        #expect(message(["segment.ms": "0"]) != nil)
        #expect(message(["cleanup.policy": "compact"])?.contains("only 'delete'") == true)
    }

    @Test("create, describe, alter, persist and delete topics")
    func lifecycle() async throws {
        let fixture = try StorageFixture()
        fixture.configuration.topicDefaults.retentionMs = 3_600_000
        fixture.configuration.defaultPartitions = 3
        let manager = try fixture.open()
        let info = try manager.createTopic(name: "nginx", partitions: -1, configs: ["retention.bytes": "1000000"])
        #expect(info.partitionCount == 3)
        #expect(storageErrorCode { try manager.createTopic(name: "nginx", partitions: 1, configs: [:]) } == .topicAlreadyExists)
        #expect(storageErrorCode { try manager.createTopic(name: "x", partitions: 0, configs: [:]) } == .invalidPartitions)
        #expect(storageErrorCode { try manager.createTopic(name: "x", partitions: 1, configs: ["nope": "1"]) } == .invalidConfig)
        #expect(manager.topic(named: "x") == nil)
        #expect(try manager.createTopic(name: "v", partitions: 1, configs: [:], validateOnly: true).name == "v")
        #expect(manager.topic(named: "v") == nil)

        let described = try manager.describeConfigs(topic: "nginx")
        let byName = Dictionary(uniqueKeysWithValues: described.map { ($0.name, $0) })
        #expect(byName["retention.bytes"]?.value == "1000000")
        #expect(byName["retention.bytes"]?.source == .topicConfig)
        #expect(byName["retention.ms"]?.value == "3600000")
        #expect(byName["retention.ms"]?.source == .staticBrokerConfig)
        #expect(byName["segment.bytes"]?.source == .defaultConfig)

        try manager.alterConfigs(topic: "nginx", configs: ["segment.bytes": "4096"])
        #expect(manager.partition(topic: "nginx", index: 2)?.config.segmentBytes == 4096)
        #expect(manager.topic(named: "nginx")?.config.retentionBytes == -1)  // AlterConfigs replaces
        try manager.incrementalAlterConfigs(topic: "nginx", set: ["retention.ms": "5000"])
        #expect(storageErrorCode { try manager.alterConfigs(topic: "nginx", configs: ["segment.bytes": "x"]) } == .invalidConfig)
        #expect(storageErrorCode { try manager.alterConfigs(topic: "missing", configs: [:]) } == .unknownTopicOrPartition)
        let id = try #require(manager.topic(named: "nginx")?.topicID)
        let log = try #require(manager.partition(topic: "nginx", index: 1))
        try await log.appendDurably(try TestBatches.make(count: 2))
        try manager.close()

        let reopened = try fixture.open()
        let topic = try #require(reopened.topic(named: "nginx"))
        #expect(topic.topicID == id)
        #expect(topic.configOverrides == ["segment.bytes": "4096", "retention.ms": "5000"])
        #expect(topic.config.retentionMs == 5000)
        #expect(reopened.partition(topic: "nginx", index: 1)?.highWatermark == 2)
        #expect(reopened.partition(topic: "nginx", index: 3) == nil)
        try reopened.deleteTopic(name: "nginx")
        #expect(reopened.topic(named: "nginx") == nil)
        #expect(storageErrorCode { try reopened.deleteTopic(name: "nginx") } == .unknownTopicOrPartition)
        #expect(!FileManager.default.fileExists(atPath: fixture.dataPath + "/nginx-1"))
        // Recreated empty.
        try reopened.createTopic(name: "nginx", partitions: 2, configs: [:])
        #expect(reopened.partition(topic: "nginx", index: 1)?.logEndOffset == 0)
        try reopened.close()
    }

    @Test("auto-creation on and off")
    func autoCreate() throws {
        let fixture = try StorageFixture()
        fixture.configuration.defaultPartitions = 2
        let manager = try fixture.open()
        #expect(try manager.partitionOrCreate(topic: "auto", index: 1) != nil)
        #expect(manager.topic(named: "auto")?.partitionCount == 2)
        #expect(try manager.partitionOrCreate(topic: "auto", index: 2) == nil)
        try manager.close()
        fixture.configuration.autoCreateTopics = false
        let strict = try fixture.open()
        #expect(try strict.partitionOrCreate(topic: "other", index: 0) == nil)
        #expect(try strict.ensureTopic("auto") != nil)
        try strict.close()
    }

    @Test("concurrent auto-creation of one topic creates it once")
    func concurrentAutoCreate() async throws {
        let fixture = try StorageFixture()
        let manager = try fixture.open()
        let outcomes = await withTaskGroup(of: KafkaErrorCode.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    do throws(StorageError) {
                        let log = try manager.partitionOrCreate(topic: "race", index: 0)
                        return log == nil ? KafkaErrorCode.unknownTopicOrPartition : KafkaErrorCode.none
                    } catch {
                        return error.code
                    }
                }
            }
            var outcomes: [KafkaErrorCode] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.allSatisfy { $0 == KafkaErrorCode.none || $0 == .leaderNotAvailable }, "\(outcomes)")
        #expect(outcomes.contains(KafkaErrorCode.none))
        #expect(manager.topics.map(\.name) == ["race"])
        try manager.close()
    }

    @Test("invalid broker defaults are rejected at open")
    func invalidDefaults() throws {
        let fixture = try StorageFixture()
        fixture.configuration.topicDefaults.segmentBytes = 3
        #expect(storageErrorCode { _ = try fixture.open() } == .invalidConfig)
    }

    @Test("a data directory is used by one LogManager at a time")
    func directoryLock() throws {
        let fixture = try StorageFixture()
        let manager = try fixture.open()
        #expect(storageErrorCode { _ = try fixture.open() } == .kafkaStorageError)
        try manager.close()
        let again = try fixture.open()
        try again.close()
    }

    @Test("producer ids are never reused across restarts")
    func producerIDs() throws {
        let fixture = try StorageFixture()
        var seen: Set<Int64> = []
        for _ in 0..<3 {
            let manager = try fixture.open()
            for _ in 0..<3 { #expect(seen.insert(try manager.allocateProducerID()).inserted) }
            // no close: the counter is written before an id is handed out
        }
        #expect(seen.count == 9)
    }

    @Test("orphan partition directories (a crash during create/delete) are removed, foreign ones kept")
    func orphans() throws {
        let fixture = try StorageFixture()
        let manager = try fixture.open()
        try manager.createTopic(name: "keep", partitions: 1, configs: [:])
        try manager.close()
        try FileManager.default.createDirectory(atPath: fixture.dataPath + "/gone-0", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: fixture.dataPath + "/gone-0/00000000000000000000.log", contents: Data())
        try FileManager.default.createDirectory(atPath: fixture.dataPath + "/groups-0", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: fixture.dataPath + "/groups-0/offsets.json", contents: Data())
        let reopened = try fixture.open()
        #expect(!FileManager.default.fileExists(atPath: fixture.dataPath + "/gone-0"))
        #expect(FileManager.default.fileExists(atPath: fixture.dataPath + "/groups-0/offsets.json"))
        #expect(reopened.topics.map(\.name) == ["keep"])
        try reopened.close()
    }
}
