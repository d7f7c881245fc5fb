import KafkaClient
public import Logging
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore

/// Ships the line events of every input through one `KafkaProducer`: records as DESIGN.md's record contract
/// says (encoded by `RecordEncoder`), to each input's topic; delivery reports go back to the inputs'
/// `AcknowledgementInbox`es, so positions advance only over acknowledged records. The producer retries passing
/// failures (connection, leader change, sequence gap) until delivered; any failure it reports is fatal
/// (`fatalError`): the caller stops reading and positions stay at the last acknowledged line.
///
/// Each input's sink appends its records to the producer on the read loop (`trySend`: no waiting, no async call,
/// no copy of the event kept). The inputs' in-flight budget bounds what is handed over; the producer's buffer is
/// larger.
public final class KafkaShipper: Sendable {
    struct InputRoute: Sendable {
        var topic: String
        var key: RecordKeyChoice
    }

    private let cluster: KafkaCluster
    let producer: KafkaProducer
    let ledger: ShipmentLedger
    private let routes: [Int: InputRoute]
    let host: String

    /// Connects (lazily) to the configured brokers.
    ///
    /// - Throws: `ShipperError` for TLS/SASL or producer settings that cannot be used.
    public init(configuration: AgentConfiguration, logger: Logger) throws(ShipperError) {
        let clientConfiguration = try configuration.kafkaClientConfiguration()
        let ledger = ShipmentLedger(logger: logger)
        let cluster = KafkaCluster(configuration: clientConfiguration, logger: logger)
        do {
            producer = try KafkaProducer(cluster: cluster, configuration: configuration.kafkaProducerConfiguration) { report in
                ledger.apply(report)
            }
        } catch {
            throw ShipperError("producer settings: \(error.message)")
        }
        var routes: [Int: InputRoute] = [:]
        for (index, input) in configuration.inputs.enumerated() {
            switch input {
            case .file(let file): routes[index] = InputRoute(topic: file.topic, key: file.key)
            case .journald(let journal): routes[index] = InputRoute(topic: journal.topic, key: journal.key)
            }
        }
        self.cluster = cluster
        self.ledger = ledger
        self.routes = routes
        self.host = configuration.host
    }

    /// A sink for input `index` acknowledging through `inbox`.
    public func makeSink(input index: Int, acknowledgements inbox: AcknowledgementInbox) -> KafkaProducerSink {
        ledger.register(input: index, inbox: inbox)
        return KafkaProducerSink(shipper: self, route: routes[index], acknowledgements: inbox)
    }

    /// Why shipping stopped for good, if it did (reading must stop).
    public var fatalError: String? { ledger.fatalError }

    /// Counters (with the producer's retries), bytes in flight and the fatal error, for the metrics.
    public var metricsSnapshot: ShipperMetricsSnapshot {
        var snapshot = ledger.metricsSnapshot
        let retries = producer.retries
        snapshot.counters.recordsRetried = retries.records
        snapshot.counters.deliveryErrors["retried"] = retries.batches
        return snapshot
    }

    /// Waits until every event handed over is acknowledged, shipping fails, or `timeout` passes; calls
    /// `flushSinks` every 10 ms meanwhile (sinks holding records the producer could not take yet retry them).
    ///
    /// - Returns: whether everything was acknowledged.
    public func drain(timeout: Duration, flushSinks: () -> Void = {}) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        let producer = self.producer
        let flushing = Task { await producer.flush() }
        defer { flushing.cancel() }
        while !ledger.isDrained {
            if ledger.fatalError != nil || clock.now >= deadline { return false }
            flushSinks()
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Closes the producer and its connections (after `drain`; records not yet delivered are given up: their
    /// lines are read again after a restart).
    public func close() async {
        await producer.close()
        await cluster.shutdown()
    }

    /// `close()`, waiting for it at most `timeout`: returns false when the producer did not close in time (its
    /// connections are then left to the process exit). The agent's stop must not wait on the brokers.
    public func close(timeout: Duration) async -> Bool {
        let waiter = NIOLockedValueBox<CheckedContinuation<Bool, Never>?>(nil)
        return await withCheckedContinuation { continuation in
            waiter.withLockedValue { $0 = continuation }
            Task {
                await self.close()
                waiter.withLockedValue { $0.take() }?.resume(returning: true)
            }
            Task {
                try? await Task.sleep(for: timeout)
                waiter.withLockedValue { $0.take() }?.resume(returning: false)
            }
        }
    }

}

/// The `RecordSink` of one input: appends each event to the producer at once. An event the producer cannot take
/// without waiting (its topic's partitions not known yet, the buffer full) starts a backlog: later events queue
/// behind it, `flush()` (after each poll) appends the backlog in order as far as the producer takes it, and a
/// task waits for the producer to accept again and then wakes the read loop. Used only from the input's read
/// loop.
public final class KafkaProducerSink: RecordSink {
    private let shipper: KafkaShipper
    private let route: KafkaShipper.InputRoute?
    private let inbox: AcknowledgementInbox
    private var encoder: RecordEncoder
    /// Events admitted but not appended yet, in order, from `backlogHead` on.
    private var backlog: [(token: UInt64, event: LineEvent)] = []
    private var backlogHead = 0
    /// Whether a task waits for the producer to accept records again.
    private let waiting = NIOLockedValueBox(false)

    init(shipper: KafkaShipper, route: KafkaShipper.InputRoute?, acknowledgements: AcknowledgementInbox) {
        self.shipper = shipper
        self.route = route
        self.inbox = acknowledgements
        self.encoder = RecordEncoder(host: shipper.host, key: route?.key ?? .none)
    }

    public func accept(_ event: LineEvent) {
        let token = shipper.ledger.admit(event.ackToken)
        if backlogHead == backlog.count, case .appended = append(event, token: token) { return }
        backlog.append((token, event))
    }

    public func flush() {
        while backlogHead < backlog.count {
            let (token, event) = backlog[backlogHead]
            switch append(event, token: token) {
            case .appended:
                backlogHead += 1
            case .mustWait(let wait):
                return waitForProducer(wait)
            case .failed:
                return
            }
        }
        if backlogHead > 0 {
            backlog.removeAll(keepingCapacity: false)
            backlogHead = 0
        }
    }

    /// What became of an event offered to the producer.
    private enum AppendOutcome {
        case appended
        /// The producer cannot take it without waiting for this.
        case mustWait(KafkaProducerWait)
        /// Shipping failed (or the producer is closed).
        case failed
    }

    /// Appends `event`'s record if the producer takes it without waiting.
    private func append(_ event: LineEvent, token: UInt64) -> AppendOutcome {
        guard let route else {
            shipper.ledger.fail("an event of unknown input \(event.inputIndex)")
            return .failed
        }
        do {
            let headers = encoder.headers(for: event)
            let key = encoder.keyBuffer(for: event)
            guard
                let wait = try shipper.producer.trySend(
                    topic: route.topic, key: key, value: event.value, headers: headers,
                    timestamp: event.readTimeMilliseconds, token: token)
            else { return .appended }
            return .mustWait(wait)
        } catch {
            if error.kind != .closed { shipper.ledger.fail("sending to topic \(route.topic): \(error.message)") }
            return .failed
        }
    }

    /// Starts (once) a task that waits for what the producer reported for this input's topic, then wakes the read
    /// loop so the next poll's `flush()` appends the backlog.
    private func waitForProducer(_ wait: KafkaProducerWait) {
        guard let route, shipper.ledger.fatalError == nil else { return }
        let alreadyWaiting = waiting.withLockedValue { waiting in
            defer { waiting = true }
            return waiting
        }
        guard !alreadyWaiting else { return }
        let producer = shipper.producer
        let ledger = shipper.ledger
        let waiting = self.waiting
        let inbox = self.inbox
        Task {
            do throws(KafkaProducerError) {
                try await producer.waitUntilAccepting(topic: route.topic, wait)
            } catch {
                if error.kind != .closed { ledger.fail("sending to topic \(route.topic): \(error.message)") }
            }
            waiting.withLockedValue { $0 = false }
            inbox.wakeReadLoop()
        }
    }
}
