import KafkaProtocol
import Logging
import NIOCore

extension BrokerHandlers {
    /// Fetch: stored batches as they are, from each partition's fetch offset up to the high
    /// watermark, within `maxBytes` (whole response) and `partitionMaxBytes`.
    ///
    /// Long poll: while fewer than `minBytes` are available the request waits, up to `maxWaitMs`,
    /// for any of its partitions to receive data. As in Kafka, the first partition with data returns
    /// at least one whole batch even when the batch is larger than the limits, so a consumer always
    /// makes progress. Fetch sessions are not kept: v7+ are answered with session id 0, which makes
    /// clients send full fetches.
    func fetch(_ request: FetchRequest, version: Int16) async -> FetchResponse {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(max(0, Int64(request.maxWaitMs))))
        let minBytes = max(0, Int(request.minBytes))
        while true {
            let (response, bytes, hasError) = await self.readFetch(request)
            let remaining = deadline - clock.now
            if bytes >= minBytes || hasError || remaining <= .zero || request.topics.isEmpty || Task.isCancelled {
                return response
            }
            await self.waitForAnyData(request, timeout: remaining)
            if clock.now >= deadline {
                return await self.readFetch(request).response
            }
        }
    }

    /// One pass over the requested partitions.
    private func readFetch(_ request: FetchRequest) async -> (response: FetchResponse, bytes: Int, hasError: Bool) {
        var response = FetchResponse(errorCode: 0, sessionId: 0)
        var budget = request.maxBytes <= 0 ? Int(Int32.max) : Int(request.maxBytes)
        var total = 0
        var hasError = false
        for topic in request.topics {
            var topicResponse = FetchResponse.FetchableTopicResponse(topic: topic.topic, topicId: topic.topicId)
            for partition in topic.partitions {
                var data = FetchResponse.PartitionData(
                    partitionIndex: partition.partition, highWatermark: -1, lastStableOffset: -1,
                    logStartOffset: -1, abortedTransactions: nil, records: ByteBuffer())
                let limit = min(budget, max(0, Int(partition.partitionMaxBytes)))
                do throws(BrokerStoreError) {
                    let read = try await store.read(
                        topic: topic.topic, partition: partition.partition, from: partition.fetchOffset,
                        maxBytes: limit, minOneBatch: total == 0)
                    data.highWatermark = read.highWatermark
                    data.lastStableOffset = read.highWatermark
                    data.logStartOffset = read.logStartOffset
                    data.records = read.records
                    total += read.records.readableBytes
                    budget = max(0, budget - read.records.readableBytes)
                } catch {
                    data.errorCode = error.code.rawValue
                    hasError = true
                }
                topicResponse.partitions.append(data)
            }
            response.responses.append(topicResponse)
        }
        return (response, total, hasError)
    }

    /// Returns when any requested partition has data past its fetch offset, or after `timeout`.
    private func waitForAnyData(_ request: FetchRequest, timeout: Duration) async {
        let store = self.store
        await withTaskGroup(of: Void.self) { group in
            for topic in request.topics {
                for partition in topic.partitions {
                    group.addTask {
                        await store.waitForData(
                            topic: topic.topic, partition: partition.partition, after: partition.fetchOffset,
                            timeout: timeout)
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
