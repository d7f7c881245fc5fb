#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import KafkaProtocol
public import NIOCore
import NIOConcurrencyHelpers

/// An asynchronous Kafka producer: batches records per partition, compresses them, sends them to
/// the partitions' leaders and reports every record's fate.
///
/// ```swift
/// let producer = try KafkaProducer(transport: cluster, configuration: config) { report in
///     // report.topic, report.partition, report.result (base offset or error), report.tokens
/// }
/// try await producer.send(topic: "logs", key: host, value: line, token: lineNumber)
/// try await producer.flush()
/// await producer.close()
/// ```
///
/// `send` copies the record into the partition's open batch and returns; it suspends only while
/// the buffer (`bufferBytes`) is full, which is the caller's backpressure. A sender task closes
/// batches after `linger` (or when full), assigns idempotence sequences, and sends at most
/// `maxInFlightRequestsPerBroker` requests per leader. Retriable errors re-send the batch and
/// every later batch of its partition in sequence order, after a metadata refresh when the
/// leader moved. Reports of one partition arrive in send order; the handler runs on the sender's
/// tasks and must return quickly.
public final class KafkaProducer: Sendable {
    let configuration: KafkaProducerConfiguration
    let transport: any ProducerTransport
    let clock = ContinuousClock()
    let allocator = ByteBufferAllocator()
    let ownsTransport: Bool
    let deliveryHandler: (@Sendable (KafkaProducerDeliveryReport) -> Void)?
    let core: ProducerCore
    /// Held while reports are handed to `deliveryHandler`, so they arrive in order.
    let reportLock = NIOLock()
    private let senderTask: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)

    /// Creates a producer over `transport` and starts its sender task.
    ///
    /// - Parameters:
    ///   - ownsTransport: whether `close()` shuts the transport down.
    ///   - onDelivery: called once per batch with its records' fate; reports of one partition come
    ///     in send order.
    /// - Throws: `invalidConfiguration` for settings that do not fit together; a codec level the
    ///   codec does not accept.
    public init(
        transport: any ProducerTransport, configuration: KafkaProducerConfiguration = .init(),
        ownsTransport: Bool = false,
        onDelivery: (@Sendable (KafkaProducerDeliveryReport) -> Void)? = nil
    ) throws(KafkaProducerError) {
        try configuration.validate()
        do {
            _ = try RecordBatchBuilder(
                compression: configuration.compression, compressionLevel: configuration.compressionLevel,
                initialCapacity: 64)
        } catch {
            throw KafkaProducerError(.invalidConfiguration, "compression \(configuration.compression): \(error)")
        }
        self.configuration = configuration
        self.transport = transport
        self.ownsTransport = ownsTransport
        self.deliveryHandler = onDelivery
        self.core = ProducerCore(needsIdentity: configuration.idempotent)
        let task = Task { [self] in await self.runSender() }
        senderTask.withLockedValue { $0 = task }
    }

    // MARK: Sending

    /// Accepts one record; suspends only while the buffer is full.
    ///
    /// - Parameters:
    ///   - partition: the partition, or `nil` to choose: murmur2 of the key (as the Java client),
    ///     or the sticky partition for a record without a key.
    ///   - key: the key bytes, `nil` for a null key.
    ///   - value: the value bytes, `nil` for a null value.
    ///   - headers: pre-encoded headers.
    ///   - timestamp: CreateTime in ms since the epoch; `nil` for now.
    ///   - token: the caller's number for this record, returned in its delivery report.
    /// - Throws: `unknownTopic` / `transport` if the topic's partitions cannot be learnt within the
    ///   delivery timeout, `invalidRecord` for a partition out of range, `closed` after `close()`.
    public func send(
        topic: String, partition: Int32? = nil, key: ByteBuffer?, value: ByteBuffer?,
        headers: EncodedRecordHeaders? = nil, timestamp: Int64? = nil, token: UInt64 = 0
    ) async throws(KafkaProducerError) {
        _ = try await enqueue(
            topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp,
            token: token, waiter: nil)
    }

    /// Sends one record and waits for its acknowledgement (for tools and tests; `send` with
    /// delivery reports is the fast path).
    ///
    /// - Returns: where the record was stored.
    /// - Throws: the record's delivery error.
    public func sendAndWait(
        topic: String, partition: Int32? = nil, key: ByteBuffer?, value: ByteBuffer?,
        headers: EncodedRecordHeaders? = nil, timestamp: Int64? = nil
    ) async throws -> KafkaProducedRecord {
        try await withCheckedThrowingContinuation { continuation in
            Task {
                do {
                    _ = try await enqueue(
                        topic: topic, partition: partition, key: key, value: value, headers: headers,
                        timestamp: timestamp, token: 0, waiter: continuation)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Accepts one record if that needs no waiting: returns nil once accepted, or, accepting nothing, what it
    /// would have to wait for (the topic's partitions, or room in the buffer: then call `send`, or
    /// `waitUntilAccepting` and try again). Lets a tight loop skip an async call per record.
    ///
    /// - Throws: as `send`, for errors known without waiting.
    public func trySend(
        topic: String, partition: Int32? = nil, key: ByteBuffer?, value: ByteBuffer?,
        headers: EncodedRecordHeaders? = nil, timestamp: Int64? = nil, token: UInt64 = 0
    ) throws(KafkaProducerError) -> KafkaProducerWait? {
        try append(
            topic: topic, partition: partition, key: key, value: value, headers: headers,
            timestamp: timestamp ?? Self.nowMilliseconds(), token: token, waiter: nil)
    }

    /// Waits for what `trySend` to `topic` reported: the topic's partitions to be known, or room for the record
    /// in the buffer (or the producer to close). For callers that keep records `trySend` refused and retry them in
    /// order, without an async call per record.
    ///
    /// - Throws: as `send`, when the topic's partitions cannot be learnt.
    public func waitUntilAccepting(topic: String, _ wait: KafkaProducerWait) async throws(KafkaProducerError) {
        switch wait {
        case .topicRoute:
            if core.lock.withLock({ core.topics[topic] == nil && !core.closed }) {
                try await learnRoute(topic: topic)
            }
        case .bufferSpace(let bytes):
            await waitForBufferSpace(bytes)
        }
    }

    /// Appends under the lock and wakes the sender when needed; returns nil once appended, or what to wait for.
    private func append(
        topic: String, partition: Int32?, key: ByteBuffer?, value: ByteBuffer?, headers: EncodedRecordHeaders?,
        timestamp: Int64, token: UInt64, waiter: CheckedContinuation<KafkaProducedRecord, any Error>?
    ) throws(KafkaProducerError) -> KafkaProducerWait? {
        let outcome = core.lock.withLock { () -> ProducerCore.AppendOutcome in
            core.append(
                topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp,
                token: token, waiter: waiter, configuration: configuration, clock: clock)
        }
        switch outcome {
        case .appended(let wakeSender):
            if wakeSender { wakeSenderTask() }
            return nil
        case .failed(let error):
            throw error
        case .needsRoute:
            return .topicRoute
        case .bufferFull(let size):
            return .bufferSpace(bytes: size)
        }
    }

    private func enqueue(
        topic: String, partition: Int32?, key: ByteBuffer?, value: ByteBuffer?, headers: EncodedRecordHeaders?,
        timestamp: Int64?, token: UInt64, waiter: CheckedContinuation<KafkaProducedRecord, any Error>?
    ) async throws(KafkaProducerError) -> Bool {
        let time = timestamp ?? Self.nowMilliseconds()
        while true {
            switch try append(
                topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: time,
                token: token, waiter: waiter)
            {
            case nil:
                return true
            case .topicRoute:
                try await learnRoute(topic: topic)
            case .bufferSpace(let bytes):
                await waitForBufferSpace(bytes)
            }
        }
    }

    /// Fetches `topic`'s route, retrying with backoff until the delivery timeout.
    private func learnRoute(topic: String) async throws(KafkaProducerError) {
        let deadline = configuration.deliveryTimeout.map { clock.now + $0 }
        var backoff = configuration.retryBackoff
        while true {
            do throws(KafkaProducerError) {
                let route = try await transport.route(topic: topic, refresh: false)
                guard route.partitionCount > 0 else {
                    throw KafkaProducerError(.unknownTopic, "topic \(topic) has no partitions")
                }
                core.lock.withLock { core.install(route: route, topic: topic, now: clock.now) }
                return
            } catch {
                if core.lock.withLock({ core.closed }) {
                    throw KafkaProducerError(.closed, "the producer was closed while looking up topic \(topic)")
                }
                if let deadline, clock.now + backoff > deadline { throw error }
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, configuration.retryBackoffMax)
            }
        }
    }

    /// Waits until a record of `size` buffer bytes fits (or the producer closes).
    private func waitForBufferSpace(_ size: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = core.lock.withLock { () -> Bool in
                if core.hasSpace(for: size, bufferBytes: configuration.bufferBytes) || core.closed { return true }
                core.spaceWaiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    // MARK: Draining

    /// Waits until every record accepted so far has been reported (linger is skipped meanwhile).
    public func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = core.lock.withLock { () -> Bool in
                if core.pendingRecords == 0 { return true }
                core.flushWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() } else { wakeSenderTask() }
        }
    }

    /// Drains (like `flush`), then stops the sender; later `send`s fail with `closed`.
    public func close() async {
        core.lock.withLock { core.closed = true }
        // Sends waiting for space fail with `closed` when they resume.
        let waiters = core.lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            defer { core.spaceWaiters.removeAll() }
            return core.spaceWaiters
        }
        waiters.forEach { $0.resume() }
        wakeSenderTask()
        await senderTask.withLockedValue { $0 }?.value
        if ownsTransport { await transport.shutdown() }
    }

    /// The producer id and epoch in use (nil before InitProducerId, or without idempotence).
    public var identity: ProducerIdentity? {
        core.lock.withLock { core.identity }
    }

    /// Bytes of records accepted and not yet reported.
    public var bufferedBytes: Int {
        core.lock.withLock { core.bufferedBytes }
    }

    /// Batches and records sent again after a retriable failure (connection, leader change, sequence gap), since
    /// the start.
    public var retries: (batches: Int, records: Int) {
        core.lock.withLock { (core.retriedBatches, core.retriedRecords) }
    }

    static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

/// What `KafkaProducer.trySend` did not accept a record for: what to wait for before trying again.
public enum KafkaProducerWait: Sendable, Hashable {
    /// The topic's partitions are not known yet (a metadata lookup).
    case topicRoute
    /// No room in the buffer for the record, of `bytes` as the producer counts them (key, value, headers and
    /// framing).
    case bufferSpace(bytes: Int)
}
