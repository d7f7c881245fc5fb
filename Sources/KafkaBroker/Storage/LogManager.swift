#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import KafkaProtocol
public import Logging
import NIOConcurrencyHelpers

/// The broker's storage root: every topic's metadata and partition logs under one data
/// directory.
///
/// Layout:
/// ```
/// <data>/<topic>.topic.json              topic metadata (versioned JSON, replaced atomically)
/// <data>/<topic>-<partition>/            one directory per partition (Kafka's naming)
///     00000000000000000000.log           record batches, offsets assigned
///     00000000000000000000.index         sparse offset index
///     00000000000000000000.timeindex     sparse time index
///     log-start-offset                   checkpoint (`v1 <offset>`)
///     producer-state.json                idempotent-producer snapshot (at each roll and close)
///     .clean-shutdown                    present only between close() and the next open
/// <data>/producer-id                     next producer id (`v1 <id>`)
/// <data>/.lock                           flock'ed while a LogManager has the directory open
/// ```
/// Topic names are validated (`TopicName.validate`) before they are used in a path.
///
/// Thread-safe. Topic creation and deletion are serialized; partition logs are used directly.
public final class LogManager: @unchecked Sendable {
    /// How the storage is set up.
    public struct Configuration: Sendable {
        /// The data directory. Created if missing.
        public var dataDirectory: String
        /// Broker-level topic defaults; topic overrides apply on top. Default: Kafka's.
        public var topicDefaults: TopicConfig = .kafkaDefaults
        /// Partitions of an auto-created topic (and of CreateTopics with -1). Default: 1.
        public var defaultPartitions: Int32 = 1
        /// Whether `partitionOrCreate` creates unknown topics (Metadata/Produce auto-create).
        /// Default: true.
        public var autoCreateTopics = true
        /// Log bytes between offset index entries. Default: 4096.
        public var indexIntervalBytes = 4096
        /// Read size of recovery scans. Default: 1 MiB.
        public var scanChunkBytes = 1 << 20

        /// Creates a configuration with defaults for everything but the directory.
        public init(dataDirectory: String) {
            self.dataDirectory = dataDirectory
        }
    }

    /// A snapshot of one topic's metadata.
    public struct TopicInfo: Hashable, Sendable {
        /// The topic name.
        public var name: String
        /// The topic id (Metadata v10+, Fetch v13+), random at creation, kept across restarts.
        public var topicID: KafkaUUID
        /// Number of partitions, indices `0..<partitionCount`.
        public var partitionCount: Int32
        /// Configuration set on the topic (CreateTopics/AlterConfigs), by Kafka key.
        public var configOverrides: [String: String]
        /// The configuration in force (broker defaults plus overrides).
        public var config: TopicConfig
    }

    private struct Topic {
        var info: TopicInfo
        var partitions: [PartitionLog]
    }

    /// The on-disk topic metadata, version 1.
    private struct TopicFile: Codable {
        var version: Int
        var name: String
        var topicID: String
        var partitions: Int32
        var configs: [String: String]
    }

    /// The configuration it was opened with.
    public let configuration: Configuration
    let logger: Logger
    private let lock = NIOLock()
    /// Guarded by `lock`.
    private var topicsByName: [String: Topic] = [:]
    /// Guarded by `producerIDLock`.
    private var nextProducerID: Int64 = 0
    /// Topics whose files are being created (outside the lock). Guarded by `lock`.
    private var topicsBeingCreated: Set<String> = []
    /// Guarded by `lock`.
    private var isClosed = false
    /// `<data>/.lock`, flock'ed from `init` until `close()` (or until the manager is freed): one
    /// broker per data directory.
    private let directoryLock: FileDescriptor
    /// Serializes producer id allocation (its fsyncs stay off `lock`).
    private let producerIDLock = NIOLock()

    private static let topicFileSuffix = ".topic.json"
    private static let producerIDFileName = "producer-id"
    private static let lockFileName = ".lock"

    /// Opens the data directory, creating it if needed, and recovers every partition of every
    /// topic (see `PartitionLog` recovery). Partition directories of topics that have no
    /// metadata (a create or delete cut short by a crash) are removed.
    ///
    /// - Throws: `KAFKA_STORAGE_ERROR` if the directory or a partition cannot be opened,
    ///   `INVALID_CONFIG` if a topic file holds an unusable configuration.
    public init(configuration: Configuration, logger: Logger = Logger(label: "tributary.broker.storage")) throws(StorageError) {
        self.configuration = configuration
        self.logger = logger
        // The broker's defaults obey the same rules as topic overrides.
        _ = try TopicConfig(overrides: configuration.topicDefaults.stringMap)
        guard configuration.defaultPartitions >= 1 else {
            throw StorageError(.invalidPartitions, "default partitions must be at least 1, got \(configuration.defaultPartitions)")
        }
        let data = configuration.dataDirectory
        try FileIO.createDirectory(data)
        directoryLock = try FileDescriptor(path: data + "/" + Self.lockFileName, flags: O_RDWR | O_CREAT)
        guard try directoryLock.tryLockExclusively() else {
            throw StorageError(.kafkaStorageError, "data directory \(data) is in use by another broker (\(Self.lockFileName) is locked)")
        }

        if let bytes = try FileIO.readFile(data + "/" + Self.producerIDFileName) {
            guard let next = PartitionLog.parseLogStartCheckpoint(bytes), next >= 0 else {
                throw StorageError(.kafkaStorageError, "unreadable producer id counter \(data)/\(Self.producerIDFileName)")
            }
            nextProducerID = next
        }

        let names = try FileIO.contentsOfDirectory(data)
        // Temporary files of our own atomic replaces cut short (others' files are left alone).
        for name in names
        where name.hasSuffix(Self.topicFileSuffix + ".tmp") || name == Self.producerIDFileName + ".tmp" {
            try FileIO.removeFile(data + "/" + name)
        }
        for name in names where name.hasSuffix(Self.topicFileSuffix) {
            let topicName = String(name.dropLast(Self.topicFileSuffix.count))
            guard TopicName.isValid(topicName) else {
                logger.warning("ignoring topic file with an invalid name", metadata: ["file": "\(name)"])
                continue
            }
            guard let bytes = try FileIO.readFile(data + "/" + name) else { continue }
            let file: TopicFile
            do {
                file = try JSONDecoder().decode(TopicFile.self, from: Data(bytes))
            } catch {
                throw StorageError(.kafkaStorageError, "unreadable topic metadata \(data)/\(name): \(error)")
            }
            guard file.version == 1, file.name == topicName, file.partitions > 0, let id = Self.parseUUID(file.topicID)
            else {
                throw StorageError(.kafkaStorageError, "unsupported or inconsistent topic metadata \(data)/\(name)")
            }
            let config = try TopicConfig(overrides: file.configs, defaults: configuration.topicDefaults)
            var partitions: [PartitionLog] = []
            for index in 0..<file.partitions {
                partitions.append(try openPartition(topic: topicName, index: index, config: config))
            }
            topicsByName[topicName] = Topic(
                info: TopicInfo(
                    name: topicName, topicID: id, partitionCount: file.partitions, configOverrides: file.configs,
                    config: config),
                partitions: partitions)
        }
        // Partition directories nobody owns.
        for name in names where FileIO.isDirectory(data + "/" + name) {
            guard let (topic, index) = Self.parsePartitionDirectory(name) else { continue }
            if let owner = topicsByName[topic], index < owner.info.partitionCount { continue }
            try removeOrphanPartitionDirectory(data + "/" + name)
        }
        logger.info("opened log storage", metadata: ["data": "\(data)", "topics": "\(topicsByName.count)"])
    }

    private func openPartition(topic: String, index: Int32, config: TopicConfig) throws(StorageError) -> PartitionLog {
        try PartitionLog.open(
            directory: partitionDirectory(topic: topic, index: index), topic: topic, partition: index, config: config,
            indexIntervalBytes: configuration.indexIntervalBytes, scanChunkBytes: configuration.scanChunkBytes,
            logger: logger)
    }

    private func partitionDirectory(topic: String, index: Int32) -> String {
        "\(configuration.dataDirectory)/\(topic)-\(index)"
    }

    /// Removes a partition directory that no topic owns, if it holds only partition-log files
    /// (anything else in the data directory belongs to someone else and is left alone).
    private func removeOrphanPartitionDirectory(_ path: String) throws(StorageError) {
        let files = try FileIO.contentsOfDirectory(path)
        let ours = files.allSatisfy { name in
            name.hasSuffix(".log") || name.hasSuffix(".index") || name.hasSuffix(".timeindex") || name.hasSuffix(".tmp")
                || name == PartitionLog.logStartFileName || name == PartitionLog.cleanShutdownFileName
                || name == PartitionLog.producerSnapshotFileName
        }
        guard ours else { return }
        logger.warning("removing partition directory of an unknown topic", metadata: ["directory": "\(path)"])
        try FileIO.removeTree(path)
        try FileIO.syncDirectory(configuration.dataDirectory)
    }

    // MARK: Lookup

    /// Every topic, sorted by name.
    public var topics: [TopicInfo] {
        lock.withLock { topicsByName.values.map(\.info).sorted { $0.name < $1.name } }
    }

    /// The topic named `name`, if it exists.
    public func topic(named name: String) -> TopicInfo? {
        lock.withLock { topicsByName[name]?.info }
    }

    /// The topic whose id is `id` (Fetch v13+, DeleteTopics v6+ name topics by id), if any.
    public func topic(withID id: KafkaUUID) -> TopicInfo? {
        lock.withLock { topicsByName.values.first { $0.info.topicID == id }?.info }
    }

    /// The log of partition `index` of `topic`, `nil` if either does not exist.
    public func partition(topic: String, index: Int32) -> PartitionLog? {
        lock.withLock {
            guard let entry = topicsByName[topic], index >= 0, index < entry.partitions.count else { return nil }
            return entry.partitions[Int(index)]
        }
    }

    /// Every partition log of `topic`, in index order (empty if there is no such topic).
    public func partitions(topic: String) -> [PartitionLog] {
        lock.withLock { topicsByName[topic]?.partitions ?? [] }
    }

    /// The log of partition `index` of `topic`, creating the topic with the default partition
    /// count and configuration first if it does not exist and auto-creation is on.
    ///
    /// - Returns: `nil` if the topic does not exist and auto-creation is off, or the topic has no
    ///   partition `index`.
    /// - Throws: `INVALID_TOPIC_EXCEPTION` for an invalid name, `KAFKA_STORAGE_ERROR`.
    public func partitionOrCreate(topic: String, index: Int32) throws(StorageError) -> PartitionLog? {
        if let log = partition(topic: topic, index: index) { return log }
        guard try ensureTopic(topic) != nil else { return nil }
        return partition(topic: topic, index: index)
    }

    /// The topic, created with defaults if missing and auto-creation is on (Metadata requests
    /// with `allowAutoTopicCreation`). `nil` if missing and auto-creation is off.
    ///
    /// - Throws: `INVALID_TOPIC_EXCEPTION` for an invalid name, `LEADER_NOT_AVAILABLE` while
    ///   another request is creating it, `KAFKA_STORAGE_ERROR`.
    public func ensureTopic(_ name: String) throws(StorageError) -> TopicInfo? {
        if let info = topic(named: name) { return info }
        guard configuration.autoCreateTopics else { return nil }
        do {
            return try createTopic(name: name, partitions: -1, configs: [:])
        } catch where error.code == .topicAlreadyExists {
            // Created concurrently; if that is still in progress, the client retries (Kafka also
            // answers LEADER_NOT_AVAILABLE for a topic that is being auto-created).
            guard let info = topic(named: name) else {
                throw StorageError(.leaderNotAvailable, "topic '\(name)' is being created")
            }
            return info
        }
    }

    // MARK: Create and delete

    /// Creates a topic: validates the name and configuration, creates the partition directories,
    /// then writes the metadata file atomically (the commit point).
    ///
    /// - Parameters:
    ///   - partitions: number of partitions; -1 for the broker default.
    ///   - configs: topic overrides by Kafka key (validated; unknown keys are rejected).
    ///   - validateOnly: check everything, create nothing (CreateTopics `validate_only`).
    /// - Throws: `INVALID_TOPIC_EXCEPTION`, `TOPIC_ALREADY_EXISTS`, `INVALID_PARTITIONS` (< 1 or
    ///   above 10000), `INVALID_CONFIG`, `KAFKA_STORAGE_ERROR`.
    @discardableResult
    public func createTopic(name: String, partitions: Int32, configs: [String: String], validateOnly: Bool = false)
        throws(StorageError) -> TopicInfo
    {
        try TopicName.validate(name)
        let count = partitions == -1 ? configuration.defaultPartitions : partitions
        guard count >= 1, count <= 10_000 else {
            throw StorageError(.invalidPartitions, "number of partitions must be between 1 and 10000, got \(partitions)")
        }
        let config = try TopicConfig(overrides: configs, defaults: configuration.topicDefaults)
        // Reserve the name under the lock; create the files outside it, so lookups by produce and
        // fetch requests never wait for a creation's fsyncs.
        let info = try lock.withLockTyped { () throws(StorageError) -> TopicInfo in
            guard !isClosed else { throw StorageError(.kafkaStorageError, "log storage is closed") }
            guard topicsByName[name] == nil, !topicsBeingCreated.contains(name) else {
                throw StorageError(.topicAlreadyExists, "topic '\(name)' already exists")
            }
            // Kafka refuses names that differ only in '.' versus '_' (they collide in metrics).
            let normalized = name.replacingDotsWithUnderscores()
            if let other = (Array(topicsByName.keys) + topicsBeingCreated).first(where: {
                $0.replacingDotsWithUnderscores() == normalized
            }) {
                throw StorageError(
                    .invalidTopicException, "topic '\(name)' collides with existing topic '\(other)' ('.' and '_' are equivalent)")
            }
            let info = TopicInfo(
                name: name, topicID: KafkaUUID(high: .random(in: 1...UInt64.max), low: .random(in: 0...UInt64.max)),
                partitionCount: count, configOverrides: configs, config: config)
            if !validateOnly { topicsBeingCreated.insert(name) }
            return info
        }
        if validateOnly { return info }
        defer { lock.withLock { _ = topicsBeingCreated.remove(name) } }
        var logs: [PartitionLog] = []
        for index in 0..<count {
            let directory = partitionDirectory(topic: name, index: index)
            // Leftovers of an earlier topic of this name whose deletion was cut short.
            try FileIO.removeTree(directory)
            logs.append(try openPartition(topic: name, index: index, config: config))
        }
        try writeTopicFile(info)  // the commit point
        lock.withLock { topicsByName[name] = Topic(info: info, partitions: logs) }
        logger.info("created topic", metadata: ["topic": "\(name)", "partitions": "\(count)"])
        return info
    }

    /// Deletes a topic: removes its metadata file (the commit point), wakes and fails everyone
    /// waiting on its partitions, then removes the partition directories.
    ///
    /// - Throws: `INVALID_TOPIC_EXCEPTION`, `UNKNOWN_TOPIC_OR_PARTITION`, `KAFKA_STORAGE_ERROR`.
    public func deleteTopic(name: String) throws(StorageError) {
        try TopicName.validate(name)
        let removed = try lock.withLockTyped { () throws(StorageError) -> Topic in
            guard let topic = topicsByName[name] else {
                throw StorageError(.unknownTopicOrPartition, "topic '\(name)' does not exist")
            }
            try FileIO.removeFile(topicFilePath(name))
            try FileIO.syncDirectory(configuration.dataDirectory)
            topicsByName[name] = nil
            return topic
        }
        for log in removed.partitions {
            log.markDeleted()
            try FileIO.removeTree(log.directory)
        }
        try FileIO.syncDirectory(configuration.dataDirectory)
        logger.info("deleted topic", metadata: ["topic": "\(name)"])
    }

    // MARK: Configs

    /// The configuration of `topic` as DescribeConfigs reports it: every supported key, its
    /// value and where the value comes from, sorted by key.
    ///
    /// - Throws: `UNKNOWN_TOPIC_OR_PARTITION`.
    public func describeConfigs(topic: String) throws(StorageError) -> [TopicConfigEntry] {
        guard let info = self.topic(named: topic) else {
            throw StorageError(.unknownTopicOrPartition, "topic '\(topic)' does not exist")
        }
        return TopicConfig.knownKeys.sorted().map { key in
            let source: TopicConfigSource
            if info.configOverrides[key] != nil {
                source = .topicConfig
            } else if configuration.topicDefaults.value(forKey: key) != TopicConfig.kafkaDefaults.value(forKey: key) {
                source = .staticBrokerConfig
            } else {
                source = .defaultConfig
            }
            return TopicConfigEntry(
                name: key, value: info.config.value(forKey: key) ?? "", source: source,
                isReadOnly: key == TopicConfig.Key.cleanupPolicy.rawValue)
        }
    }

    /// Replaces all overrides of `topic` with `configs` (AlterConfigs: keys not given return to
    /// their defaults), persisted atomically and applied to every partition.
    ///
    /// - Throws: `UNKNOWN_TOPIC_OR_PARTITION`, `INVALID_CONFIG`, `KAFKA_STORAGE_ERROR`.
    public func alterConfigs(topic: String, configs: [String: String], validateOnly: Bool = false) throws(StorageError) {
        try updateOverrides(topic: topic, validateOnly: validateOnly) { _ in configs }
    }

    /// Sets and removes individual overrides of `topic` (IncrementalAlterConfigs SET / DELETE).
    ///
    /// - Throws: `UNKNOWN_TOPIC_OR_PARTITION`, `INVALID_CONFIG`, `KAFKA_STORAGE_ERROR`.
    public func incrementalAlterConfigs(
        topic: String, set: [String: String], remove: [String] = [], validateOnly: Bool = false
    ) throws(StorageError) {
        for key in remove where TopicConfig.Key(rawValue: key) == nil {
            throw StorageError(.invalidConfig, "unknown topic config '\(key)'")
        }
        try updateOverrides(topic: topic, validateOnly: validateOnly) { current in
            var result = current
            for key in remove { result[key] = nil }
            for (key, value) in set { result[key] = value }
            return result
        }
    }

    private func updateOverrides(
        topic: String, validateOnly: Bool, _ change: ([String: String]) -> [String: String]
    ) throws(StorageError) {
        try lock.withLockTyped { () throws(StorageError) in
            guard var entry = topicsByName[topic] else {
                throw StorageError(.unknownTopicOrPartition, "topic '\(topic)' does not exist")
            }
            let overrides = change(entry.info.configOverrides)
            let config = try TopicConfig(overrides: overrides, defaults: configuration.topicDefaults)
            if validateOnly { return }
            entry.info.configOverrides = overrides
            entry.info.config = config
            try writeTopicFile(entry.info)
            topicsByName[topic] = entry
            for log in entry.partitions { log.updateConfig(config) }
        }
    }

    // MARK: Producer ids

    /// A producer id never handed out before, also across restarts (InitProducerId). The counter
    /// is persisted atomically before the id is returned.
    ///
    /// - Throws: `KAFKA_STORAGE_ERROR` if the counter cannot be written.
    public func allocateProducerID() throws(StorageError) -> Int64 {
        try producerIDLock.withLockTyped { () throws(StorageError) -> Int64 in
            let id = nextProducerID
            try FileIO.atomicReplace(
                configuration.dataDirectory + "/" + Self.producerIDFileName, contents: Array("v1 \(id + 1)\n".utf8))
            nextProducerID = id + 1
            return id
        }
    }

    // MARK: Retention and shutdown

    /// Runs retention on every partition (see `PartitionLog.enforceRetention(now:)`). A failing
    /// partition is logged and the others still run.
    ///
    /// - Returns: the number of segments deleted.
    @discardableResult
    public func enforceRetention(now: Int64) -> Int {
        let logs = lock.withLock { topicsByName.values.flatMap(\.partitions) }
        var deleted = 0
        for log in logs {
            do {
                deleted += try log.enforceRetention(now: now)
            } catch {
                logger.error(
                    "retention failed", metadata: ["partition": "\(log.topic)-\(log.partition)", "error": "\(error)"])
            }
        }
        return deleted
    }

    /// fsyncs every partition and writes their clean-shutdown markers, then releases the data
    /// directory's lock; later calls fail.
    ///
    /// - Throws: the first `KAFKA_STORAGE_ERROR` (every partition is still attempted).
    public func close() throws(StorageError) {
        let (wasOpen, logs) = lock.withLock { () -> (Bool, [PartitionLog]) in
            guard !isClosed else { return (false, []) }
            isClosed = true
            return (true, topicsByName.values.flatMap(\.partitions))
        }
        guard wasOpen else { return }
        defer { directoryLock.unlock() }
        var firstError: StorageError?
        for log in logs {
            do {
                try log.close()
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
    }

    // MARK: Files

    private func topicFilePath(_ name: String) -> String {
        "\(configuration.dataDirectory)/\(name)\(Self.topicFileSuffix)"
    }

    private func writeTopicFile(_ info: TopicInfo) throws(StorageError) {
        let file = TopicFile(
            version: 1, name: info.name, topicID: Self.formatUUID(info.topicID), partitions: info.partitionCount,
            configs: info.configOverrides)
        let bytes: [UInt8]
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            bytes = Array(try encoder.encode(file))
        } catch {
            throw StorageError(.kafkaStorageError, "cannot encode topic metadata for '\(info.name)': \(error)")
        }
        try FileIO.atomicReplace(topicFilePath(info.name), contents: bytes)
    }

    static func formatUUID(_ id: KafkaUUID) -> String {
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return hex(id.high) + hex(id.low)
    }

    static func parseUUID(_ text: String) -> KafkaUUID? {
        guard text.utf8.count == 32, let high = UInt64(text.prefix(16), radix: 16),
            let low = UInt64(text.suffix(16), radix: 16)
        else { return nil }
        return KafkaUUID(high: high, low: low)
    }

    /// `<topic>-<index>` → (topic, index) for a valid topic name and index.
    static func parsePartitionDirectory(_ name: String) -> (String, Int32)? {
        guard let dash = name.lastIndex(of: "-") else { return nil }
        let topic = String(name[..<dash])
        guard let index = Int32(name[name.index(after: dash)...]), index >= 0, TopicName.isValid(topic) else {
            return nil
        }
        return (topic, index)
    }
}

extension String {
    func replacingDotsWithUnderscores() -> String {
        String(unicodeScalars.map { $0 == "." ? "_" : Character($0) })
    }
}
