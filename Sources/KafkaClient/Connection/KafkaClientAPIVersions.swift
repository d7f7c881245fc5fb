public import KafkaProtocol

/// The versions of each API this client's logic handles correctly; negotiation intersects them with
/// the broker's ApiVersions ranges and picks the highest common version.
///
/// The caps are below KafkaProtocol's `validVersions` where a newer version changes semantics this
/// client does not implement:
/// * Fetch ≤ 12 and Metadata ≤ 12: Fetch 13+ names topics by id only, Metadata 13 is the first
///   version whose topic-id handling we have not checked (KIP-516);
/// * Produce ≥ 3 and Fetch ≥ 4: record batch v2 only (idempotence, headers);
/// * Metadata ≥ 1: v0 has no null "all topics" request;
/// * ApiVersions ≤ 3: the version negotiation is written against (v4 changes nothing we use);
/// * OffsetFetch/OffsetCommit ≤ 9: topic ids start at 10.
public enum KafkaClientAPIVersions {
    /// The range of `apiKey` this client may send.
    public static func supported(_ apiKey: KafkaAPIKey) -> ClosedRange<Int16> {
        let valid = apiKey.validVersions
        let range: ClosedRange<Int16> =
            switch apiKey {
            case .produce: 3...12
            case .fetch: 4...12
            case .listOffsets: 1...10
            case .metadata: 1...12
            case .offsetCommit: 2...9
            case .offsetFetch: 1...9
            case .apiVersions: 0...3
            case .saslHandshake: 1...1
            case .saslAuthenticate: 0...2
            case .describeConfigs: 1...4
            default: valid
            }
        return range.clamped(to: valid)
    }
}

/// The version ranges a broker advertised in its ApiVersions response.
public struct KafkaBrokerAPIVersions: Sendable, Hashable {
    /// Advertised `minVersion...maxVersion` by raw API key.
    public var ranges: [Int16: ClosedRange<Int16>]

    /// Creates the table from ApiVersions entries (entries with `min > max` are dropped).
    public init(_ entries: [ApiVersionsResponse.ApiVersion]) {
        var ranges: [Int16: ClosedRange<Int16>] = [:]
        for entry in entries where entry.minVersion <= entry.maxVersion {
            ranges[entry.apiKey] = entry.minVersion...entry.maxVersion
        }
        self.ranges = ranges
    }

    /// The highest version of `apiKey` both sides support.
    ///
    /// - Throws: ``KafkaClientError`` (`unsupportedVersion`) naming the API, the broker and both
    ///   ranges when they do not overlap or the broker does not list the API.
    public func negotiatedVersion(_ apiKey: KafkaAPIKey, broker: String) throws(KafkaClientError) -> Int16 {
        let ours = KafkaClientAPIVersions.supported(apiKey)
        guard let theirs = self.ranges[apiKey.rawValue] else {
            throw KafkaClientError(.unsupportedVersion, "broker \(broker) does not support \(apiKey.name)")
        }
        guard ours.overlaps(theirs) else {
            throw KafkaClientError(
                .unsupportedVersion,
                "broker \(broker) supports \(apiKey.name) versions \(theirs.lowerBound)...\(theirs.upperBound), "
                    + "this client \(ours.lowerBound)...\(ours.upperBound)")
        }
        return min(ours.upperBound, theirs.upperBound)
    }
}
