// TEMPORARY: the CLIENT-API.md surface the consumer builds against until branch `client` lands.
// Deleted when `client` is merged.
public import KafkaProtocol
public import NIOCore
public import Logging

public struct KafkaBrokerAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) { self.host = host; self.port = port }
    public var description: String { "\(host):\(port)" }
}

public struct KafkaClientConfiguration: Sendable {
    public var bootstrapServers: [KafkaBrokerAddress]
    public var clientID: String = "tributary"
    public var requestTimeout: Duration = .seconds(30)
    public init(bootstrapServers: [KafkaBrokerAddress]) { self.bootstrapServers = bootstrapServers }
}

public struct KafkaClientError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case connectionFailed, timedOut, disconnected, protocolError, broker(KafkaErrorCode), shutdown }
    public var kind: Kind
    public var message: String
    public var description: String { message }
}

public final class KafkaBrokerConnection: Sendable {
    public var nodeID: Int32? { nil }
    public func version<R: KafkaRequestMessage>(for: R.Type) throws(KafkaClientError) -> Int16 { R.validVersions.upperBound }
    public func send<R: KafkaRequestMessage>(_ request: R, version: Int16? = nil) async throws(KafkaClientError) -> R.Response {
        throw KafkaClientError(kind: .shutdown, message: "stub")
    }
}

public actor KafkaCluster {
    public init(configuration: KafkaClientConfiguration, logger: Logger = Logger(label: "stub")) {}
    public func metadata(topics: [String]?, allowAutoTopicCreation: Bool = false, forceRefresh: Bool = false) async throws(KafkaClientError) -> KafkaClusterMetadata {
        throw KafkaClientError(kind: .shutdown, message: "stub")
    }
    public func invalidateMetadata() {}
    public func connection(toNode nodeID: Int32) async throws(KafkaClientError) -> KafkaBrokerConnection {
        throw KafkaClientError(kind: .shutdown, message: "stub")
    }
    public func anyConnection() async throws(KafkaClientError) -> KafkaBrokerConnection {
        throw KafkaClientError(kind: .shutdown, message: "stub")
    }
    public func coordinatorConnection(forGroup groupID: String) async throws(KafkaClientError) -> KafkaBrokerConnection {
        throw KafkaClientError(kind: .shutdown, message: "stub")
    }
    public func invalidateCoordinator(forGroup groupID: String) {}
    public func shutdown() async {}
}

public struct KafkaClusterMetadata: Sendable {
    public var brokers: [Int32: KafkaBrokerAddress]
    public var controllerID: Int32?
    public var topics: [String: KafkaTopicMetadata]
    public func leader(topic: String, partition: Int32) -> Int32? { nil }
}
public struct KafkaTopicMetadata: Sendable { public var name: String; public var error: KafkaErrorCode?; public var partitions: [KafkaPartitionMetadata] }
public struct KafkaPartitionMetadata: Sendable { public var id: Int32; public var leader: Int32; public var leaderEpoch: Int32; public var error: KafkaErrorCode? }
