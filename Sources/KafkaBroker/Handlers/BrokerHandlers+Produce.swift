import KafkaProtocol
import Logging
import NIOCore

extension BrokerHandlers {
    /// Produce: append each partition's batches, then (acks 1 or -1) wait until they are durable.
    ///
    /// With a single node, acks=1 and acks=-1 mean the same: answered after the fsync. With acks=0
    /// the caller sends no response (but the fsync is still awaited). Transactional produces are refused: this broker has no
    /// transaction coordinator.
    func produce(_ request: ProduceRequest, version: Int16) async -> ProduceResponse {
        var refusal: (KafkaErrorCode, String)?
        if let transactionalId = request.transactionalId {
            refusal = (.transactionalIdAuthorizationFailed,
                       "transactions are not supported by this broker (transactional id '\(transactionalId)')")
        } else if ![0, 1, -1].contains(request.acks) {
            refusal = (.invalidRequiredAcks, "acks must be 0, 1 or -1, got \(request.acks)")
        }

        struct Pending {
            var topic: Int
            var partition: Int
            var topicName: String
            var partitionIndex: Int32
            var lastOffset: Int64
        }
        var pending: [Pending] = []
        var response = ProduceResponse()
        let now = Self.nowMs()
        for (topicSlot, topic) in request.topicData.enumerated() {
            var topicResponse = ProduceResponse.TopicProduceResponse(name: topic.name)
            for (partitionSlot, partition) in topic.partitionData.enumerated() {
                var result = ProduceResponse.PartitionProduceResponse(index: partition.index, baseOffset: -1)
                do throws(BrokerStoreError) {
                    if let (code, message) = refusal { throw BrokerStoreError(code, message) }
                    guard let records = partition.records, records.readableBytes > 0 else {
                        throw BrokerStoreError(.corruptMessage, "no record batches")
                    }
                    guard let count = await store.partitionCount(of: topic.name), partition.index >= 0,
                        partition.index < count
                    else {
                        throw BrokerStoreError(.unknownTopicOrPartition, "\(topic.name)-\(partition.index) does not exist")
                    }
                    let appended = try await store.append(
                        topic: topic.name, partition: partition.index, records: records, nowMs: now)
                    result.baseOffset = appended.baseOffset
                    result.logAppendTimeMs = appended.logAppendTimeMs
                    result.logStartOffset = appended.logStartOffset
                    pending.append(Pending(
                        topic: topicSlot, partition: partitionSlot, topicName: topic.name,
                        partitionIndex: partition.index, lastOffset: appended.lastOffset))
                } catch {
                    result.errorCode = error.code.rawValue
                    result.errorMessage = error.message.isEmpty ? nil : error.message
                    logger.debug("produce refused", metadata: [
                        "topic": "\(topic.name)", "partition": "\(partition.index)", "error": "\(error)",
                    ])
                }
                topicResponse.partitionResponses.append(result)
            }
            response.responses.append(topicResponse)
        }
        // Group commit: every partition's fsync is shared with whatever else is in flight. With
        // acks=0 nobody hears the answer, but the fsync is still awaited: the high watermark (what
        // consumers see) only covers durable data, and this keeps one such producer from running
        // unboundedly ahead of the disk.
        for item in pending {
            do throws(BrokerStoreError) {
                try await store.waitDurable(topic: item.topicName, partition: item.partitionIndex, through: item.lastOffset)
            } catch {
                var result = response.responses[item.topic].partitionResponses[item.partition]
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message
                result.baseOffset = -1
                response.responses[item.topic].partitionResponses[item.partition] = result
                logger.error("produce not durable", metadata: ["topic": "\(item.topicName)", "error": "\(error)"])
            }
        }
        return response
    }
}
