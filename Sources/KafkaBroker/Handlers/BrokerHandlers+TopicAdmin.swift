import KafkaProtocol
import Logging
import NIOCore

/// Kafka's config resource types (`ConfigResource.Type`).
private enum ConfigResourceType: Int8 {
    case topic = 2
    case broker = 4
}

extension BrokerHandlers {
    /// CreateTopics: one partition log per partition on this node; replication factor must be
    /// 1 or -1 (the default), explicit assignments are refused.
    func createTopics(_ request: CreateTopicsRequest, version: Int16) async -> CreateTopicsResponse {
        var response = CreateTopicsResponse()
        for topic in request.topics {
            let partitions = topic.numPartitions == -1 ? policy.defaultPartitions : topic.numPartitions
            var result = CreateTopicsResponse.CreatableTopicResult(
                name: topic.name, numPartitions: partitions, replicationFactor: 1, configs: nil)
            do throws(BrokerStoreError) {
                guard topic.assignments.isEmpty else {
                    throw BrokerStoreError(.invalidReplicaAssignment, "replica assignments are not supported")
                }
                guard topic.replicationFactor == -1 || topic.replicationFactor == 1 else {
                    throw BrokerStoreError(
                        .invalidReplicationFactor, "replication factor \(topic.replicationFactor) > 1 on a single node")
                }
                guard partitions >= 1 else {
                    throw BrokerStoreError(.invalidPartitions, "number of partitions must be at least 1")
                }
                var configs: [String: String] = [:]
                for config in topic.configs { if let value = config.value { configs[config.name] = value } }
                if request.validateOnly {
                    if await store.partitionCount(of: topic.name) != nil {
                        throw BrokerStoreError(.topicAlreadyExists, "topic '\(topic.name)' already exists")
                    }
                } else {
                    try await store.createTopic(topic.name, partitions: partitions, configs: configs)
                    logger.info("created topic", metadata: ["topic": "\(topic.name)", "partitions": "\(partitions)"])
                }
            } catch {
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message.isEmpty ? nil : error.message
                result.numPartitions = -1
                result.replicationFactor = -1
            }
            response.topics.append(result)
        }
        return response
    }

    /// DeleteTopics by name (topic ids are not supported: UNKNOWN_TOPIC_ID).
    func deleteTopics(_ request: DeleteTopicsRequest, version: Int16) async -> DeleteTopicsResponse {
        var response = DeleteTopicsResponse()
        let names: [String?] = version >= 6 ? request.topics.map(\.name) : request.topicNames
        for name in names {
            var result = DeleteTopicsResponse.DeletableTopicResult(name: name)
            do throws(BrokerStoreError) {
                guard let name else { throw BrokerStoreError(.unknownTopicId, "topic ids are not supported") }
                try await store.deleteTopic(name)
                logger.info("deleted topic", metadata: ["topic": "\(name)"])
                // Kafka drops the topic's committed offsets with it: a topic created again under
                // the same name must not resume from offsets of the old one.
                do {
                    try await groups?.removeOffsets(topic: name)
                } catch {
                    logger.error(
                        "deleted topic, but could not remove its committed offsets: \(error)", metadata: ["topic": "\(name)"])
                }
            } catch {
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message.isEmpty ? nil : error.message
            }
            response.responses.append(result)
        }
        return response
    }

    /// DescribeConfigs for topics; a broker resource gets an empty list.
    func describeConfigs(_ request: DescribeConfigsRequest, version: Int16) async -> DescribeConfigsResponse {
        var response = DescribeConfigsResponse()
        for resource in request.resources {
            var result = DescribeConfigsResponse.DescribeConfigsResult(
                resourceType: resource.resourceType, resourceName: resource.resourceName)
            switch ConfigResourceType(rawValue: resource.resourceType) {
            case .topic:
                do throws(BrokerStoreError) {
                    let configs = try await store.describeConfigs(of: resource.resourceName, keys: resource.configurationKeys)
                    result.configs = configs.map { config in
                        .init(
                            name: config.name, value: config.value, readOnly: config.readOnly,
                            isDefault: version == 0 && config.isDefault,  // v0 only; v1+ say it with configSource
                            configSource: config.isDefault ? 5 : 1,  // DEFAULT_CONFIG : DYNAMIC_TOPIC_CONFIG
                            isSensitive: false)
                    }
                } catch {
                    result.errorCode = error.code.rawValue
                    result.errorMessage = error.message.isEmpty ? nil : error.message
                }
            case .broker:
                break
            case nil:
                result.errorCode = KafkaErrorCode.invalidRequest.rawValue
                result.errorMessage = "resource type \(resource.resourceType) is not supported"
            }
            response.results.append(result)
        }
        return response
    }

    /// AlterConfigs for topics.
    func alterConfigs(_ request: AlterConfigsRequest, version: Int16) async -> AlterConfigsResponse {
        var response = AlterConfigsResponse()
        for resource in request.resources {
            var result = AlterConfigsResponse.AlterConfigsResourceResponse(
                resourceType: resource.resourceType, resourceName: resource.resourceName)
            do throws(BrokerStoreError) {
                guard ConfigResourceType(rawValue: resource.resourceType) == .topic else {
                    throw BrokerStoreError(.invalidRequest, "only topic configs can be altered")
                }
                var configs: [String: String] = [:]
                for config in resource.configs { if let value = config.value { configs[config.name] = value } }
                try await store.alterConfigs(of: resource.resourceName, configs: configs, validateOnly: request.validateOnly)
            } catch {
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message.isEmpty ? nil : error.message
            }
            response.responses.append(result)
        }
        return response
    }
}
