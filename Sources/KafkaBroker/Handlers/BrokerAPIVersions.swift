public import KafkaProtocol

/// The API versions the broker advertises in ApiVersions and the ones it accepts.
///
/// The advertised ranges follow Kafka 4.0 (`kafka-spec/README.md`, "API table") widened where
/// librdkafka 2.0 turns features on only if an old version is listed ("What common clients send"):
/// Produce is advertised from 0 (gzip/snappy/lz4) but, as in Kafka 4.0 (KAFKA-18659), v0-2 are
/// refused when they arrive; FindCoordinator 0, InitProducerId 0, ListOffsets 1, SaslHandshake 0-1
/// and SaslAuthenticate 0 are listed for the same reason, JoinGroup from 0.
public enum BrokerAPIVersions {
    /// The range listed for `apiKey` in ApiVersions responses.
    public static func advertised(_ apiKey: KafkaAPIKey) -> ClosedRange<Int16> {
        switch apiKey {
        case .produce: 0...12
        case .fetch: 4...12  // v13+ name topics by id, which this broker does not assign
        case .listOffsets: 1...10
        case .metadata: 0...13
        case .offsetCommit: 2...9
        case .offsetFetch: 1...9
        case .findCoordinator: 0...6
        case .joinGroup: 0...9
        case .heartbeat: 0...4
        case .leaveGroup: 0...5
        case .syncGroup: 0...5
        case .saslHandshake: 0...1
        case .apiVersions: 0...4
        case .createTopics: 2...7
        case .deleteTopics: 1...6
        case .initProducerId: 0...5
        case .describeConfigs: 1...4
        case .alterConfigs: 0...2
        case .saslAuthenticate: 0...2
        }
    }

    /// The versions of `apiKey` a request may use; anything else closes the connection.
    public static func accepted(_ apiKey: KafkaAPIKey) -> ClosedRange<Int16> {
        switch apiKey {
        case .produce: 3...12  // record batch v2 only (KIP-724); advertised from 0, see above
        default: advertised(apiKey)
        }
    }

    /// Every advertised range, for the ApiVersions response, in API key order.
    public static var advertisedList: [ApiVersionsResponse.ApiVersion] {
        KafkaAPIKey.allCases.sorted { $0.rawValue < $1.rawValue }.map { apiKey in
            let range = advertised(apiKey)
            return ApiVersionsResponse.ApiVersion(
                apiKey: apiKey.rawValue, minVersion: range.lowerBound, maxVersion: range.upperBound)
        }
    }
}
