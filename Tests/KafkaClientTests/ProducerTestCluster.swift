import KafkaClient
import KafkaProtocol
import NIOCore

/// A scripted in-process cluster for producer tests: partitions led by chosen nodes, a broker-side
/// idempotence check (the last five batches per producer and partition, as Kafka's
/// `ProducerStateEntry`; a producer new to a partition must start at sequence 0), and faults to inject: lost responses
/// (at once or held back until released), error codes, a stalled broker. Every Produce request is logged.
actor ProducerTestCluster: ProducerTransport {
    struct StoredRecord: Equatable, Sendable {
        var key: [UInt8]?
        var value: [UInt8]?
    }

    private struct SequenceWindow {
        var producerId: Int64
        var epoch: Int16
        /// (first sequence, last sequence, base offset), oldest first, at most 5.
        var batches: [(first: Int32, last: Int32, offset: Int64)]
    }

    private struct PartitionKey: Hashable {
        var topic: String
        var partition: Int32
    }

    /// Stored records per topic and partition.
    private(set) var logs: [String: [[StoredRecord]]] = [:]
    /// Leader node per partition.
    private(set) var leaders: [String: [Int32]] = [:]
    private var windows: [PartitionKey: SequenceWindow] = [:]
    private var nextProducerId: Int64 = 1000

    /// Produce requests received, per node.
    private(set) var produceRequests: [Int32: Int] = [:]
    /// InitProducerId requests received.
    private(set) var initProducerIdRequests = 0
    /// Route lookups with `refresh: true`.
    private(set) var refreshes = 0
    /// Batches the idempotence check took as duplicates.
    private(set) var duplicatesDropped = 0

    /// The next N Produce requests are applied, but their responses are lost (a transport error).
    var responsesToDrop = 0
    /// Produce requests (numbered from 1 in arrival order) applied whose responses are lost.
    private var requestsToLose: Set<Int> = []
    /// The request whose lost response is reported only at `releaseHeldResponse()` (a slow timeout).
    private var requestToHold: Int?
    private var heldResponse: CheckedContinuation<Void, Never>?
    private var heldResponseReleased = false
    /// One line per Produce request and partition: number, node, producer, sequences, answer.
    private(set) var requestLog: [String] = []
    /// Codes to answer instead of appending, consumed one per partition answer.
    var injectedCodes: [KafkaErrorCode] = []
    /// While true, Produce requests wait.
    private(set) var stalled = false
    private var stallWaiters: [CheckedContinuation<Void, Never>] = []

    init(topics: [String: [Int32]]) {
        for (topic, topicLeaders) in topics {
            leaders[topic] = topicLeaders
            logs[topic] = Array(repeating: [], count: topicLeaders.count)
        }
    }

    func dropResponses(_ count: Int) { responsesToDrop = count }
    /// The responses of these Produce requests (numbered from 1 in arrival order) are lost.
    func loseResponses(ofRequests numbers: Set<Int>) { requestsToLose.formUnion(numbers) }
    /// Request `number` is applied and its response lost, but the loss is reported only when
    /// `releaseHeldResponse()` is called: meanwhile other requests are answered.
    func holdResponse(ofRequest number: Int) {
        requestToHold = number
        requestsToLose.insert(number)
    }
    func releaseHeldResponse() {
        heldResponseReleased = true
        heldResponse?.resume()
        heldResponse = nil
    }
    /// Whether the held request arrived and is waiting for `releaseHeldResponse()`.
    var isHoldingResponse: Bool { heldResponse != nil }
    func inject(_ codes: [KafkaErrorCode]) { injectedCodes += codes }
    func moveLeader(topic: String, partition: Int32, to node: Int32) { leaders[topic]?[Int(partition)] = node }
    func stall() { stalled = true }
    func resume() {
        stalled = false
        let waiters = stallWaiters
        stallWaiters.removeAll()
        waiters.forEach { $0.resume() }
    }
    func log(_ topic: String, _ partition: Int32) -> [StoredRecord] { logs[topic]?[Int(partition)] ?? [] }
    var totalProduceRequests: Int { produceRequests.values.reduce(0, +) }

    // MARK: ProducerTransport

    func route(topic: String, refresh: Bool) async throws(KafkaProducerError) -> ProducerTopicRoute {
        if refresh { refreshes += 1 }
        guard let topicLeaders = leaders[topic] else { throw KafkaProducerError(.unknownTopic, "no topic \(topic)") }
        return ProducerTopicRoute(leaders: topicLeaders)
    }

    func initProducerId() async throws(KafkaProducerError) -> ProducerIdentity {
        initProducerIdRequests += 1
        nextProducerId += 1
        return ProducerIdentity(producerId: nextProducerId, epoch: 0)
    }

    func produce(_ request: ProduceRequest, toNode node: Int32) async throws(KafkaProducerError) -> ProduceResponse? {
        produceRequests[node, default: 0] += 1
        let number = totalProduceRequests
        while stalled {
            await withCheckedContinuation { stallWaiters.append($0) }
        }
        var response = ProduceResponse()
        for topicData in request.topicData {
            var topicResponse = ProduceResponse.TopicProduceResponse(name: topicData.name)
            for partitionData in topicData.partitionData {
                let records = partitionData.records ?? ByteBuffer()
                let duplicatesBefore = duplicatesDropped
                let (code, offset) = apply(topic: topicData.name, partition: partitionData.index, node: node,
                                           records: records)
                logRequest(number, node: node, topic: topicData.name, partition: partitionData.index, records: records,
                           code: code, offset: offset, duplicate: duplicatesDropped > duplicatesBefore)
                topicResponse.partitionResponses.append(
                    .init(index: partitionData.index, errorCode: code.rawValue, baseOffset: offset))
            }
            response.responses.append(topicResponse)
        }
        var lost = requestsToLose.remove(number) != nil
        if !lost && responsesToDrop > 0 {
            responsesToDrop -= 1
            lost = true
        }
        if lost {
            requestLog.append("#\(number) response lost")
            if number == requestToHold && !heldResponseReleased {
                await withCheckedContinuation { heldResponse = $0 }
                requestLog.append("#\(number) lost response reported")
            }
            throw KafkaProducerError(.transport, "test cluster: response from node \(node) lost")
        }
        return request.acks == 0 ? nil : response
    }

    nonisolated func shutdown() async {}

    private func logRequest(
        _ number: Int, node: Int32, topic: String, partition: Int32, records: ByteBuffer, code: KafkaErrorCode,
        offset: Int64, duplicate: Bool
    ) {
        var line = "#\(number) node \(node) \(topic)-\(partition)"
        if let header = try? RecordBatchHeader(from: records) {
            line += " producer \(header.producerId) epoch \(header.producerEpoch) sequences \(header.baseSequence)"
            line += "+\(header.lastOffsetDelta)"
        }
        requestLog.append(line + " → \(code.name) offset \(offset)" + (duplicate ? " (duplicate, not stored)" : ""))
    }

    private func apply(topic: String, partition: Int32, node: Int32, records: ByteBuffer) -> (KafkaErrorCode, Int64) {
        guard let topicLeaders = leaders[topic], Int(partition) < topicLeaders.count else {
            return (.unknownTopicOrPartition, -1)
        }
        guard topicLeaders[Int(partition)] == node else { return (.notLeaderOrFollower, -1) }
        if !injectedCodes.isEmpty { return (injectedCodes.removeFirst(), -1) }
        guard let batch = try? RecordBatch(bytes: records), batch.isChecksumValid else { return (.corruptMessage, -1) }
        let header = batch.header
        let key = PartitionKey(topic: topic, partition: partition)
        let first = header.baseSequence
        let last = first + header.lastOffsetDelta
        if header.producerId >= 0 {
            if var window = windows[key], window.producerId == header.producerId {
                if header.producerEpoch < window.epoch { return (.invalidProducerEpoch, -1) }
                if header.producerEpoch == window.epoch {
                    if let original = window.batches.first(where: { $0.first == first && $0.last == last }) {
                        duplicatesDropped += 1
                        return (.none, original.offset)
                    }
                    if let previous = window.batches.last, first != previous.last + 1 {
                        return (.outOfOrderSequenceNumber, -1)
                    }
                } else if first != 0 {
                    return (.outOfOrderSequenceNumber, -1)
                } else {
                    window.batches = []
                    window.epoch = header.producerEpoch
                }
                windows[key] = window
            } else {
                // As Kafka: a producer (or epoch) new to the partition starts at sequence 0.
                guard first == 0 else { return (.outOfOrderSequenceNumber, -1) }
                windows[key] = SequenceWindow(producerId: header.producerId, epoch: header.producerEpoch, batches: [])
            }
        }
        let base = Int64(logs[topic]![Int(partition)].count)
        do {
            _ = try batch.forEachRecord { record in
                logs[topic]![Int(partition)].append(
                    StoredRecord(key: record.key.map { Array($0) }, value: record.value.map { Array($0) }))
                return true
            }
        } catch {
            return (.corruptMessage, -1)
        }
        if header.producerId >= 0 {
            windows[key]!.batches.append((first, last, base))
            if windows[key]!.batches.count > 5 { windows[key]!.batches.removeFirst() }
        }
        return (.none, base)
    }
}
