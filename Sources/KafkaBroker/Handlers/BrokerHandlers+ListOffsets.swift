import KafkaProtocol
import Logging
import NIOCore

extension BrokerHandlers {
    /// ListOffsets: -1 latest (the high watermark), -2 earliest (the log start offset), -3 (max
    /// timestamp) answered as latest, otherwise the first offset with a timestamp at least the one
    /// asked for (-1 if there is none).
    func listOffsets(_ request: ListOffsetsRequest, version: Int16) async -> ListOffsetsResponse {
        var response = ListOffsetsResponse()
        for topic in request.topics {
            var topicResponse = ListOffsetsResponse.ListOffsetsTopicResponse(name: topic.name)
            for partition in topic.partitions {
                var result = ListOffsetsResponse.ListOffsetsPartitionResponse(
                    partitionIndex: partition.partitionIndex, timestamp: -1, offset: -1)
                do throws(BrokerStoreError) {
                    let timestamp = partition.timestamp == -3 ? -1 : partition.timestamp
                    let listed = try await store.listOffset(
                        topic: topic.name, partition: partition.partitionIndex, timestampMs: timestamp)
                    result.offset = listed.offset
                    result.timestamp = listed.timestampMs
                    if version >= 4 { result.leaderEpoch = 0 }
                } catch {
                    result.errorCode = error.code.rawValue
                }
                topicResponse.partitions.append(result)
            }
            response.topics.append(topicResponse)
        }
        return response
    }
}
