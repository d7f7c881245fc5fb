/// The Kafka APIs Tributary speaks, by their wire API key (an `int16` in every request header).
///
/// Only the APIs the agent, the embedded broker and the collector use are listed; the numbers and
/// names are Apache Kafka's (`ApiKeys.java`, and `apiKey` in each `*Request.json`).
public enum KafkaAPIKey: Int16, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// `Produce` (0): append record batches to partitions.
    case produce = 0
    /// `Fetch` (1): read record batches from partitions.
    case fetch = 1
    /// `ListOffsets` (2): look up offsets by timestamp (earliest, latest, ...).
    case listOffsets = 2
    /// `Metadata` (3): brokers, topics, partitions and leaders.
    case metadata = 3
    /// `OffsetCommit` (8): store a consumer group's offsets.
    case offsetCommit = 8
    /// `OffsetFetch` (9): read a consumer group's committed offsets.
    case offsetFetch = 9
    /// `FindCoordinator` (10): find the group or transaction coordinator.
    case findCoordinator = 10
    /// `JoinGroup` (11): join a consumer group.
    case joinGroup = 11
    /// `Heartbeat` (12): keep a group membership alive.
    case heartbeat = 12
    /// `LeaveGroup` (13): leave a consumer group.
    case leaveGroup = 13
    /// `SyncGroup` (14): distribute and receive partition assignments.
    case syncGroup = 14
    /// `SaslHandshake` (17): choose a SASL mechanism.
    case saslHandshake = 17
    /// `ApiVersions` (18): the version ranges a broker supports.
    case apiVersions = 18
    /// `CreateTopics` (19).
    case createTopics = 19
    /// `DeleteTopics` (20).
    case deleteTopics = 20
    /// `InitProducerId` (22): get a producer id and epoch for idempotence or transactions.
    case initProducerId = 22
    /// `DescribeConfigs` (32).
    case describeConfigs = 32
    /// `AlterConfigs` (33).
    case alterConfigs = 33
    /// `SaslAuthenticate` (36): SASL exchange in Kafka framing.
    case saslAuthenticate = 36

    /// Kafka's name for the API, as in the JSON file names (`Produce`, `ApiVersions`, ...).
    public var name: String {
        switch self {
        case .produce: "Produce"
        case .fetch: "Fetch"
        case .listOffsets: "ListOffsets"
        case .metadata: "Metadata"
        case .offsetCommit: "OffsetCommit"
        case .offsetFetch: "OffsetFetch"
        case .findCoordinator: "FindCoordinator"
        case .joinGroup: "JoinGroup"
        case .heartbeat: "Heartbeat"
        case .leaveGroup: "LeaveGroup"
        case .syncGroup: "SyncGroup"
        case .saslHandshake: "SaslHandshake"
        case .apiVersions: "ApiVersions"
        case .createTopics: "CreateTopics"
        case .deleteTopics: "DeleteTopics"
        case .initProducerId: "InitProducerId"
        case .describeConfigs: "DescribeConfigs"
        case .alterConfigs: "AlterConfigs"
        case .saslAuthenticate: "SaslAuthenticate"
        }
    }

    /// `Name(key)`, such as `Produce(0)`.
    public var description: String { "\(self.name)(\(self.rawValue))" }

    /// The valid versions of this API (those of its request type).
    public var validVersions: ClosedRange<Int16> { self.requestType.validVersions }

    /// The first version of this API that uses the flexible encoding (KIP-482), or `nil` if none does.
    public var firstFlexibleVersion: Int16? { self.requestType.firstFlexibleVersion }
}
