public import Logging

/// A Kafka consumer: a member of a consumer group (subscribe to topics, partitions shared with the
/// group's other members) or a reader of partitions chosen by the caller (no group).
///
/// Consume with `events`, an `AsyncSequence` of `KafkaConsumerEvent`s: assignment changes and
/// record batches as the broker sent them. Membership and fetching start with the first event
/// requested and run in the background (heartbeats, long-polling Fetch with bounded prefetch)
/// until `close()`.
///
/// ```swift
/// let consumer = KafkaConsumer(subscribing: ["logs"], cluster: cluster, configuration: .init(groupID: "collectors"))
/// for try await event in consumer.events {
///     switch event {
///     case .assigned(let partitions): restore(partitions)          // may seek here
///     case .revoked(let partitions): try await consumer.commit(processed(partitions))
///     case .batches(let fetched): store(fetched); try await consumer.commit([fetched.topicPartition: fetched.nextOffset])
///     case .reachedEnd: break
///     }
/// }
/// ```
public actor KafkaConsumer {
    /// What the caller must acknowledge (by asking for the next event) before the consumer goes on.
    enum PendingAcknowledgement: Sendable {
        case assigned([TopicPartition])
        case revoked
    }

    /// Fetch state of one partition the consumer reads.
    struct PartitionState: Sendable {
        /// The next offset to fetch; `nil` until initialised from a seek, the committed offset or the reset policy.
        var position: Int64?
        /// Skip the committed offset: the position was out of range, use the reset policy.
        var needsReset = false
        /// Changes on every seek so results of a fetch sent before it are dropped.
        var epoch = 0
        var highWatermark: Int64 = -1
        /// A batch larger than the usual partition limit sits at `position`.
        var minimumFetchBytes: Int?
        var isFetching = false
        var reportedEnd = false
    }

    let cluster: KafkaCluster
    let ownsCluster: Bool
    let configuration: KafkaConsumerConfiguration
    let logger: Logger

    /// Group membership when subscribed; `nil` for a manual assignment.
    var membership: ConsumerGroupMembership?
    /// The partitions chosen by the caller; `nil` when subscribed.
    let manualAssignment: [TopicPartition]?
    /// The partitions being fetched (assigned and acknowledged).
    var partitions: [TopicPartition: PartitionState] = [:]
    /// Seeks made while an `.assigned` event waits for acknowledgement.
    var pendingSeeks: [TopicPartition: Int64] = [:]
    var queue = ConsumerEventQueue()
    var pendingAcknowledgement: PendingAcknowledgement?
    var eventWaiter: CheckedContinuation<KafkaConsumerEvent?, any Error>?
    var revocationWaiter: CheckedContinuation<Void, Never>?
    var fetcherWaiter: CheckedContinuation<Void, Never>?
    var fetcherHasWork = false
    var failure: KafkaConsumerError?
    /// The most record bytes the queue ever held (tests check the prefetch bound with it).
    var peakBufferedBytes = 0
    var isClosed = false
    var backgroundTasks: [Task<Void, Never>] = []

    /// A group member subscribed to `topics`; partitions come from the group's assignor.
    ///
    /// - Important: Do not share `cluster` with another member of the same group. A broker handles
    ///   one request per connection at a time, and the coordinator holds a JoinGroup until the
    ///   rebalance completes: a second member's JoinGroup queued behind it on the same connection
    ///   never reaches the coordinator in time. `init(subscribing:clientConfiguration:...)` gives the
    ///   consumer its own connections.
    ///
    /// - Precondition: `configuration.groupID` is set and `assignors` is not empty.
    public init(
        subscribing topics: [String], cluster: KafkaCluster, configuration: KafkaConsumerConfiguration,
        logger: Logger = Logger(label: "tributary.kafka.consumer")
    ) {
        self.init(cluster: cluster, ownsCluster: false, topics: topics, partitions: nil, configuration, logger)
    }

    /// A group member with its own connections (closed by `close()`).
    ///
    /// - Precondition: `configuration.groupID` is set and `assignors` is not empty.
    public init(
        subscribing topics: [String], clientConfiguration: KafkaClientConfiguration,
        configuration: KafkaConsumerConfiguration, logger: Logger = Logger(label: "tributary.kafka.consumer")
    ) {
        let cluster = KafkaCluster(configuration: clientConfiguration, logger: logger)
        self.init(cluster: cluster, ownsCluster: true, topics: topics, partitions: nil, configuration, logger)
    }

    /// A consumer of exactly `partitions`, without group membership. With a `groupID` it can still
    /// read and commit the group's offsets.
    public init(
        assigning partitions: [TopicPartition], cluster: KafkaCluster, configuration: KafkaConsumerConfiguration,
        logger: Logger = Logger(label: "tributary.kafka.consumer")
    ) {
        self.init(cluster: cluster, ownsCluster: false, topics: [], partitions: partitions, configuration, logger)
    }

    /// A consumer of exactly `partitions` with its own connections (closed by `close()`).
    public init(
        assigning partitions: [TopicPartition], clientConfiguration: KafkaClientConfiguration,
        configuration: KafkaConsumerConfiguration, logger: Logger = Logger(label: "tributary.kafka.consumer")
    ) {
        let cluster = KafkaCluster(configuration: clientConfiguration, logger: logger)
        self.init(cluster: cluster, ownsCluster: true, topics: [], partitions: partitions, configuration, logger)
    }

    private init(
        cluster: KafkaCluster, ownsCluster: Bool, topics: [String], partitions: [TopicPartition]?,
        _ configuration: KafkaConsumerConfiguration, _ logger: Logger
    ) {
        self.cluster = cluster
        self.ownsCluster = ownsCluster
        self.configuration = configuration
        self.logger = logger
        if let partitions {
            self.manualAssignment = Array(Set(partitions)).sorted()
            self.membership = nil
        } else {
            precondition(configuration.groupID != nil, "subscribing needs KafkaConsumerConfiguration.groupID")
            self.manualAssignment = nil
            self.membership = ConsumerGroupMembership(
                groupID: configuration.groupID ?? "",
                topics: topics,
                assignors: configuration.assignors,
                sessionTimeoutMs: Self.milliseconds(configuration.sessionTimeout),
                rebalanceTimeoutMs: Self.milliseconds(configuration.rebalanceTimeout))
        }
    }

    /// The events: assignment changes and fetched record batches, in order. One task iterates.
    public nonisolated var events: KafkaConsumerEvents { KafkaConsumerEvents(consumer: self) }

    /// The partitions currently being fetched.
    public var assignment: [TopicPartition] { partitions.keys.sorted() }

    /// Record batch bytes fetched and not yet taken by the caller (at most `maxBufferedBytes`).
    public var bufferedBytes: Int { queue.bufferedBytes }

    /// The group member id, empty before joining or without a group.
    public var memberID: String { membership?.memberID ?? "" }

    // MARK: Events

    /// The next event; acknowledges the previous `.assigned` / `.revoked`.
    func nextEvent() async throws -> KafkaConsumerEvent? {
        startIfNeeded()
        acknowledgePrevious()
        if let event = takeEvent() { return event }
        if let failure { throw failure }
        if isClosed { return nil }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if let event = takeEvent() {
                    continuation.resume(returning: event)
                } else if let failure {
                    continuation.resume(throwing: failure)
                } else if isClosed || Task.isCancelled {
                    continuation.resume(returning: nil)
                } else {
                    eventWaiter = continuation
                }
            }
        } onCancel: {
            Task { await self.resumeEventWaiter(with: nil) }
        }
    }

    private func takeEvent() -> KafkaConsumerEvent? {
        guard let event = queue.popFirst() else { return nil }
        switch event {
        case .assigned(let assigned): pendingAcknowledgement = .assigned(assigned)
        case .revoked: pendingAcknowledgement = .revoked
        case .batches, .reachedEnd: signalFetcher()  // room in the buffer
        }
        return event
    }

    private func acknowledgePrevious() {
        guard let acknowledgement = pendingAcknowledgement else { return }
        pendingAcknowledgement = nil
        switch acknowledgement {
        case .assigned(let assigned):
            activate(assigned)
        case .revoked:
            revocationWaiter?.resume()
            revocationWaiter = nil
        }
    }

    /// Queues an event for the caller, or hands it over if the caller is waiting.
    func deliver(_ event: KafkaConsumerEvent) {
        queue.append(event)
        peakBufferedBytes = max(peakBufferedBytes, queue.bufferedBytes)
        if eventWaiter != nil, let next = takeEvent() { resumeEventWaiter(with: next) }
    }

    func resumeEventWaiter(with event: KafkaConsumerEvent?) {
        guard let waiter = eventWaiter else { return }
        eventWaiter = nil
        waiter.resume(returning: event)
    }

    /// Stops the consumer with `error`, delivered to the caller after the queued events.
    func fail(_ error: KafkaConsumerError) {
        guard failure == nil else { return }
        logger.error("consumer failed: \(error)")
        failure = error
        if let waiter = eventWaiter, queue.isEmpty {
            eventWaiter = nil
            waiter.resume(throwing: error)
        }
        signalFetcher()
    }

    // MARK: Assignment

    /// Starts fetching `assigned` (after the caller took the `.assigned` event).
    private func activate(_ assigned: [TopicPartition]) {
        for partition in assigned {
            var state = PartitionState()
            state.position = pendingSeeks[partition]
            partitions[partition] = state
        }
        pendingSeeks = [:]
        signalFetcher()
    }

    /// Stops fetching everything and tells the caller; returns once the caller asked for the event after it.
    func revokeAll() async {
        let revoked: [TopicPartition]
        if case .assigned(let assigned) = pendingAcknowledgement {
            revoked = assigned
            pendingAcknowledgement = nil
        } else {
            revoked = partitions.keys.sorted()
        }
        queue.removeRecords(of: Set(partitions.keys))
        partitions = [:]
        pendingSeeks = [:]
        guard !revoked.isEmpty, !isClosed else { return }
        deliver(.revoked(revoked))
        await withCheckedContinuation { continuation in
            if isClosed { continuation.resume() } else { revocationWaiter = continuation }
        }
    }

    // MARK: Seek

    /// Makes the next fetch of `partition` start at `offset`; records of it already fetched but not
    /// yet delivered are dropped. Works for assigned partitions and for those of an `.assigned`
    /// event not yet acknowledged.
    ///
    /// - Throws: `invalidUsage` if the partition is not assigned or `offset` is negative.
    public func seek(topic: String, partition: Int32, offset: Int64) throws(KafkaConsumerError) {
        let topicPartition = TopicPartition(topic: topic, partition: partition)
        guard offset >= 0 else {
            throw KafkaConsumerError(.invalidUsage, "seek of \(topicPartition) to negative offset \(offset)")
        }
        if case .assigned(let assigned) = pendingAcknowledgement, assigned.contains(topicPartition) {
            pendingSeeks[topicPartition] = offset
            return
        }
        guard var state = partitions[topicPartition] else {
            throw KafkaConsumerError(.invalidUsage, "seek of \(topicPartition): the partition is not assigned to this consumer")
        }
        state.position = offset
        state.needsReset = false
        state.epoch += 1
        state.minimumFetchBytes = nil
        state.reportedEnd = false
        partitions[topicPartition] = state
        queue.removeRecords(of: [topicPartition])
        signalFetcher()
    }

    // MARK: Lifecycle

    private func startIfNeeded() {
        guard backgroundTasks.isEmpty, !isClosed else { return }
        if let manualAssignment {
            deliver(.assigned(manualAssignment))
        } else {
            backgroundTasks.append(Task { await self.runGroupMembership() })
        }
        backgroundTasks.append(Task { await self.runFetcher() })
    }

    /// Stops fetching and heartbeating and, for a group member, leaves the group (unless
    /// `leavingGroup` is false: the coordinator then notices only after the session timeout, as if
    /// the process had died). The event sequence ends.
    public func close(leavingGroup: Bool = true) async {
        guard !isClosed else { return }
        isClosed = true
        for task in backgroundTasks { task.cancel() }
        revocationWaiter?.resume()
        revocationWaiter = nil
        signalFetcher()
        for task in backgroundTasks { await task.value }
        backgroundTasks = []
        if leavingGroup { await leaveGroup() }
        partitions = [:]
        resumeEventWaiter(with: nil)
        if ownsCluster { await cluster.shutdown() }
    }

    // MARK: Fetcher wake-ups

    func signalFetcher() {
        fetcherHasWork = true
        fetcherWaiter?.resume()
        fetcherWaiter = nil
    }

    /// Suspends the fetcher until something changes (an acknowledgement, room in the buffer, a seek, close).
    func waitForFetcherWork() async {
        if fetcherHasWork || isClosed {
            fetcherHasWork = false
            return
        }
        await withCheckedContinuation { continuation in fetcherWaiter = continuation }
        fetcherHasWork = false
    }
}

/// The consumer's events as an `AsyncSequence`. Iterate from one task.
public struct KafkaConsumerEvents: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerEvent

    let consumer: KafkaConsumer

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }

    /// Asks the consumer for each next event.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer

        /// The next event, `nil` once the consumer is closed (or the task cancelled).
        ///
        /// - Throws: `KafkaConsumerError` when the consumer failed (a fatal group error, a corrupt batch, ...).
        public mutating func next() async throws -> KafkaConsumerEvent? {
            try await consumer.nextEvent()
        }
    }
}

extension KafkaConsumer {
    /// `duration` in whole milliseconds, clamped to Int32 as the protocol's timeouts are.
    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
