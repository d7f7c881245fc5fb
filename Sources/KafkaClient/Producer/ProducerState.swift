import KafkaProtocol
import NIOCore

/// Where a batch is in its life.
enum ProducerBatchPhase {
    /// Accepting records (the partition's open batch).
    case open
    /// Closed, waiting to be sent for the first time (no sequence yet).
    case ready
    /// Taken by the sender: being encoded or awaiting the broker's answer.
    case inFlight
    /// Failed with a retriable error; to be re-sent with the same sequence.
    case retry
    /// Has its outcome; reported once every earlier batch of the partition is reported.
    case done
}

/// The records of one partition on their way: the open batch, closed batches not yet sent, and
/// the batches sent (with sequences) whose reports are still due, in send order.
struct PartitionQueue {
    var open: ProducerBatch?
    /// Closed batches, oldest first, from `readyHead` on.
    var ready: [ProducerBatch] = []
    var readyHead = 0
    /// Sent batches not yet reported, in sequence order.
    var outstanding: [ProducerBatch] = []
    /// Sequence of the next new batch.
    var nextSequence: Int32 = 0

    var hasReady: Bool { readyHead < ready.count }

    mutating func popReady() -> ProducerBatch {
        let batch = ready[readyHead]
        readyHead += 1
        if readyHead == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyHead = 0
        }
        return batch
    }

    var inFlightCount: Int { outstanding.reduce(0) { $0 + ($1.phase == .inFlight ? 1 : 0) } }

    /// Whether a batch waiting for a re-send may already be stored by the broker.
    var hasRetryThatMayBeStored: Bool { outstanding.contains { $0.phase == .retry && $0.mayBeStored } }
}

/// Per-topic state: its route, partition queues and sticky partition.
struct ProducerTopicState {
    var route: ProducerTopicRoute
    var partitions: [PartitionQueue]
    var sticky = StickyPartitioner()
    /// A send hit a leader error: refresh the route before routing again.
    var needsRefresh = false
    var refreshing = false
    var lastRefresh: ContinuousClock.Instant

    init(route: ProducerTopicRoute, now: ContinuousClock.Instant) {
        self.route = route
        self.partitions = Array(repeating: PartitionQueue(), count: route.leaders.count)
        self.lastRefresh = now
    }

    mutating func update(route newRoute: ProducerTopicRoute) {
        route.leaders = newRoute.leaders
        if partitions.count < newRoute.leaders.count {
            partitions += Array(repeating: PartitionQueue(), count: newRoute.leaders.count - partitions.count)
        }
    }
}

/// One Produce request the sender should send.
struct ProducerRequestPlan {
    var node: Int32
    var batches: [ProducerBatch]
}

/// What the sender should do next.
struct ProducerSenderWork {
    var initProducerId = false
    var requests: [ProducerRequestPlan] = []
    var refreshTopics: [String] = []
    /// When to look again even if nothing happens.
    var nextWake: ContinuousClock.Instant?
    /// Everything is reported and the producer is closed: the sender ends.
    var finished = false
}
