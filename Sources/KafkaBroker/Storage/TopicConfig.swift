import KafkaProtocol

/// The settings of one topic's partition logs, typed, with Kafka's names, defaults and units.
///
/// Kafka clients see these as a `[String: String]` map (CreateTopics, DescribeConfigs,
/// AlterConfigs); `init(overrides:defaults:)` and `value(forKey:)` convert, rejecting unknown
/// keys and bad values with `INVALID_CONFIG` and a message naming the key and the rule.
public struct TopicConfig: Hashable, Sendable, Codable {
    /// `retention.ms`: delete a closed segment once its newest record is older than this; -1 keeps
    /// data forever. Default: 7 days (604800000).
    public var retentionMs: Int64
    /// `retention.bytes`: delete the oldest closed segments while the partition is larger than
    /// this; -1 for no limit. Default: -1.
    public var retentionBytes: Int64
    /// `segment.bytes`: roll to a new segment file before it grows past this. Default: 1 GiB.
    /// Kafka's minimum is 14 bytes (`LegacyRecord.RECORD_OVERHEAD_V0`); tests use small values.
    public var segmentBytes: Int
    /// `segment.ms`: roll to a new segment once the active one's first batch is older than this.
    /// Default: 7 days.
    public var segmentMs: Int64
    /// `max.message.bytes`: the largest record batch accepted. Default: 1048588 (1 MiB plus the
    /// batch overhead, Kafka's default).
    public var maxMessageBytes: Int

    /// Kafka's built-in defaults.
    public static let kafkaDefaults = TopicConfig(
        retentionMs: 7 * 24 * 3600 * 1000, retentionBytes: -1, segmentBytes: 1 << 30,
        segmentMs: 7 * 24 * 3600 * 1000, maxMessageBytes: 1_048_588)

    /// Creates a configuration from typed values.
    public init(retentionMs: Int64, retentionBytes: Int64, segmentBytes: Int, segmentMs: Int64, maxMessageBytes: Int) {
        self.retentionMs = retentionMs
        self.retentionBytes = retentionBytes
        self.segmentBytes = segmentBytes
        self.segmentMs = segmentMs
        self.maxMessageBytes = maxMessageBytes
    }

    /// One configuration key: its Kafka name and how it maps onto the typed fields.
    public enum Key: String, CaseIterable, Sendable {
        /// `retention.ms` → `retentionMs`.
        case retentionMs = "retention.ms"
        /// `retention.bytes` → `retentionBytes`.
        case retentionBytes = "retention.bytes"
        /// `segment.bytes` → `segmentBytes`.
        case segmentBytes = "segment.bytes"
        /// `segment.ms` → `segmentMs`.
        case segmentMs = "segment.ms"
        /// `max.message.bytes` → `maxMessageBytes`.
        case maxMessageBytes = "max.message.bytes"
        /// Always `delete`; accepted so clients that send the default are not refused.
        case cleanupPolicy = "cleanup.policy"
    }

    /// Every key this broker knows, in Kafka's names.
    public static var knownKeys: [String] { Key.allCases.map(\.rawValue) }

    /// `defaults` with the string `overrides` applied (CreateTopics configs, AlterConfigs).
    ///
    /// - Throws: `StorageError` with `INVALID_CONFIG` for an unknown key, a value that is not an
    ///   integer, or one out of range; the message names the key, the value and the rule.
    public init(overrides: [String: String], defaults: TopicConfig = .kafkaDefaults) throws(StorageError) {
        self = defaults
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) {
            try set(key, to: value)
        }
    }

    /// Sets the field named `key` from its string form.
    ///
    /// - Throws: `StorageError` with `INVALID_CONFIG` (see `init(overrides:defaults:)`).
    public mutating func set(_ key: String, to value: String) throws(StorageError) {
        guard let known = Key(rawValue: key) else {
            throw StorageError(
                .invalidConfig,
                "unknown topic config '\(key)'; supported: \(Self.knownKeys.joined(separator: ", "))")
        }
        func integer(min: Int64, allowMinusOne: Bool = false) throws(StorageError) -> Int64 {
            guard let number = Int64(value.trimmingASCIISpaces()) else {
                throw StorageError(.invalidConfig, "invalid value '\(value)' for '\(key)': not an integer")
            }
            guard number >= min || (allowMinusOne && number == -1) else {
                throw StorageError(
                    .invalidConfig,
                    "invalid value \(number) for '\(key)': must be at least \(min)\(allowMinusOne ? " or -1" : "")")
            }
            return number
        }
        func int32(min: Int64) throws(StorageError) -> Int {
            let number = try integer(min: min)
            guard number <= Int64(Int32.max) else {
                throw StorageError(
                    .invalidConfig, "invalid value \(number) for '\(key)': must be at most \(Int32.max)")
            }
            return Int(number)
        }
        switch known {
        case .retentionMs: retentionMs = try integer(min: 0, allowMinusOne: true)
        case .retentionBytes: retentionBytes = try integer(min: 0, allowMinusOne: true)
        case .segmentBytes: segmentBytes = try int32(min: 14)
        case .segmentMs: segmentMs = try integer(min: 1)
        case .maxMessageBytes: maxMessageBytes = try int32(min: 0)
        case .cleanupPolicy:
            guard value.trimmingASCIISpaces() == "delete" else {
                throw StorageError(
                    .invalidConfig, "invalid value '\(value)' for 'cleanup.policy': only 'delete' is supported")
            }
        }
    }

    /// The value of `key` as Kafka writes it, `nil` for an unknown key.
    public func value(forKey key: String) -> String? {
        guard let known = Key(rawValue: key) else { return nil }
        switch known {
        case .retentionMs: return String(retentionMs)
        case .retentionBytes: return String(retentionBytes)
        case .segmentBytes: return String(segmentBytes)
        case .segmentMs: return String(segmentMs)
        case .maxMessageBytes: return String(maxMessageBytes)
        case .cleanupPolicy: return "delete"
        }
    }

    /// Every key with its value as a string.
    public var stringMap: [String: String] {
        var map: [String: String] = [:]
        for key in Self.knownKeys { map[key] = value(forKey: key) }
        return map
    }
}

/// Where the value a DescribeConfigs response reports came from (Kafka's `ConfigSource` ids).
public enum TopicConfigSource: Int8, Hashable, Sendable {
    /// Set on the topic (CreateTopics or AlterConfigs).
    case topicConfig = 1
    /// Set in the broker's own configuration (differs from Kafka's default).
    case staticBrokerConfig = 4
    /// Kafka's built-in default.
    case defaultConfig = 5
}

/// One row of a DescribeConfigs answer.
public struct TopicConfigEntry: Hashable, Sendable {
    /// The key, such as `retention.ms`.
    public var name: String
    /// The value in effect.
    public var value: String
    /// Where the value came from.
    public var source: TopicConfigSource
    /// Whether AlterConfigs may change it (false only for `cleanup.policy`).
    public var isReadOnly: Bool
    /// Whether this is the default (not set on the topic).
    public var isDefault: Bool { source != .topicConfig }
}

extension String {
    func trimmingASCIISpaces() -> Substring {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
