/// The events fetched or produced for the caller and not yet taken, with the record bytes they
/// hold: what the prefetch bound is checked against.
struct ConsumerEventQueue: Sendable {
    private var events: [KafkaConsumerEvent] = []
    private var head = 0
    /// Record batch bytes held by queued `.batches` events.
    private(set) var bufferedBytes = 0

    var isEmpty: Bool { head == events.count }

    mutating func append(_ event: KafkaConsumerEvent) {
        if case .batches(let fetched) = event { bufferedBytes += fetched.byteCount }
        events.append(event)
    }

    mutating func popFirst() -> KafkaConsumerEvent? {
        guard head < events.count else { return nil }
        let event = events[head]
        head += 1
        if head == events.count {
            events.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64, head * 2 >= events.count {
            events.removeFirst(head)
            head = 0
        }
        if case .batches(let fetched) = event { bufferedBytes -= fetched.byteCount }
        return event
    }

    /// Drops queued records (and end-of-partition marks) of `partitions`: after a seek or a revocation
    /// they must not reach the caller.
    mutating func removeRecords(of partitions: Set<TopicPartition>) {
        guard !partitions.isEmpty else { return }
        var kept: [KafkaConsumerEvent] = []
        kept.reserveCapacity(events.count - head)
        bufferedBytes = 0
        for event in events[head...] {
            switch event {
            case .batches(let fetched) where partitions.contains(fetched.topicPartition):
                continue
            case .reachedEnd(let partition, _) where partitions.contains(partition):
                continue
            case .batches(let fetched):
                bufferedBytes += fetched.byteCount
            default:
                break
            }
            kept.append(event)
        }
        events = kept
        head = 0
    }
}
