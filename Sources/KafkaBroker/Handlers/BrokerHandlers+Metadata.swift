import KafkaProtocol
import Logging
import NIOCore

extension BrokerHandlers {
    /// Metadata: this node as the only broker, controller and leader of every partition.
    ///
    /// Unknown requested topics are created when auto-creation is on and the request allows it
    /// (`allowAutoTopicCreation`, v4+; always allowed before v4).
    func metadata(_ request: MetadataRequest, version: Int16) async -> MetadataResponse {
        var response = MetadataResponse()
        response.brokers = [.init(nodeId: identity.nodeId, host: identity.host, port: identity.port, rack: nil)]
        response.clusterId = identity.clusterId
        response.controllerId = identity.nodeId
        if request.includeClusterAuthorizedOperations, (8...10).contains(version) {
            response.clusterAuthorizedOperations = Self.clusterOperations
        }
        let includeTopicOperations = request.includeTopicAuthorizedOperations && version >= 8

        // v0: an empty list means all topics; v1+: null means all, empty means none.
        let requested = request.topics?.compactMap(\.name)
        let wantsAll = request.topics == nil || (version == 0 && request.topics?.isEmpty == true)
        if wantsAll {
            for (name, partitions) in await store.topics().sorted(by: { $0.name < $1.name }) {
                response.topics.append(topicMetadata(name: name, partitions: partitions, operations: includeTopicOperations))
            }
            return response
        }
        let mayCreate = policy.autoCreateTopics && (version < 4 || request.allowAutoTopicCreation)
        for name in requested ?? [] {
            if let partitions = await store.partitionCount(of: name) {
                response.topics.append(topicMetadata(name: name, partitions: partitions, operations: includeTopicOperations))
                continue
            }
            guard mayCreate else {
                response.topics.append(.init(errorCode: KafkaErrorCode.unknownTopicOrPartition.rawValue, name: name))
                continue
            }
            do {
                try await store.createTopic(name, partitions: policy.defaultPartitions, configs: [:])
                logger.info("auto-created topic", metadata: ["topic": "\(name)", "partitions": "\(policy.defaultPartitions)"])
            } catch where error.code == .topicAlreadyExists {
                // Created concurrently by another request: fine.
            } catch {
                response.topics.append(.init(errorCode: error.code.rawValue, name: name))
                continue
            }
            let partitions = await store.partitionCount(of: name) ?? policy.defaultPartitions
            response.topics.append(topicMetadata(name: name, partitions: partitions, operations: includeTopicOperations))
        }
        return response
    }

    /// Without an authorizer every operation is allowed: Kafka then reports all operations the
    /// resource type supports (`AclOperation` codes as bits: READ 3, WRITE 4, CREATE 5, DELETE 6,
    /// ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11,
    /// IDEMPOTENT_WRITE 12).
    static let topicOperations: Int32 = [3, 4, 5, 6, 7, 8, 10, 11].reduce(0) { $0 | 1 << $1 }
    static let clusterOperations: Int32 = [5, 7, 8, 9, 10, 11, 12].reduce(0) { $0 | 1 << $1 }

    private func topicMetadata(name: String, partitions: Int32, operations: Bool = false) -> MetadataResponse.MetadataResponseTopic {
        let node = identity.nodeId
        var topic = MetadataResponse.MetadataResponseTopic(
            errorCode: 0, name: name, isInternal: false,
            partitions: (0..<max(partitions, 0)).map { index in
                .init(
                    errorCode: 0, partitionIndex: index, leaderId: node, leaderEpoch: 0,
                    replicaNodes: [node], isrNodes: [node], offlineReplicas: [])
            })
        if operations { topic.topicAuthorizedOperations = Self.topicOperations }
        return topic
    }
}
