public import KafkaClient
public import Logging
import KafkaProtocol
import NIOConcurrencyHelpers

/// Ships the line events of every input through one `KafkaProducer`: records as DESIGN.md's record contract
/// says (encoded by `RecordEncoder`), to each input's topic; delivery reports go back to the inputs'
/// `AcknowledgementInbox`es, so positions advance only over acknowledged records. Records failing for a
/// passing reason (connection, leader change, producer state) are sent again; any other failure is fatal
/// (`fatalError`): the caller stops reading and positions stay at the last acknowledged line.
///
/// The inputs' in-flight budget bounds what is handed over; the producer's buffer is larger, so the sender
/// task never holds more than the budget.
public final class KafkaShipper: Sendable {
    private struct InputRoute: Sendable {
        var topic: String
        var key: RecordKeyChoice
    }

    private let cluster: KafkaCluster
    private let producer: KafkaProducer
    private let ledger: ShipmentLedger
    private let routes: [Int: InputRoute]
    private let host: String
    private let wake: AsyncStream<Void>.Continuation
    private let senderTask: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)
    private let logger: Logger

    /// Connects (lazily) to the configured brokers and starts the sender task.
    ///
    /// - Throws: `ShipperError` for TLS/SASL or producer settings that cannot be used.
    public init(configuration: AgentConfiguration, logger: Logger) throws(ShipperError) {
        let clientConfiguration = try configuration.kafkaClientConfiguration()
        let ledger = ShipmentLedger(logger: logger)
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let cluster = KafkaCluster(configuration: clientConfiguration, logger: logger)
        do {
            producer = try KafkaProducer(cluster: cluster, configuration: configuration.kafkaProducerConfiguration) { report in
                if ledger.apply(report) { wake.yield() }
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
        self.wake = wake
        self.logger = logger
        let task = Task { [self] in await self.runSender(wakeups) }
        senderTask.withLockedValue { $0 = task }
    }

    /// A sink for input `index` acknowledging through `inbox`.
    public func makeSink(input index: Int, acknowledgements inbox: AcknowledgementInbox) -> KafkaProducerSink {
        ledger.register(input: index, inbox: inbox)
        return KafkaProducerSink(shipper: self)
    }

    /// Why shipping stopped for good, if it did (reading must stop).
    public var fatalError: String? { ledger.fatalError }

    /// Records sent again after a failed delivery.
    public var retriedRecords: Int { ledger.retriedRecords }

    /// Counters, bytes in flight and the fatal error, for the metrics.
    public var metricsSnapshot: ShipperMetricsSnapshot { ledger.metricsSnapshot }

    /// Whether every event handed over has been acknowledged.
    public var isDrained: Bool { ledger.isDrained }

    func hand(_ events: [LineEvent]) {
        ledger.enqueue(events)
        wake.yield()
    }

    /// Waits until every event handed over is acknowledged, shipping fails, or `timeout` passes.
    ///
    /// - Returns: whether everything was acknowledged.
    public func drain(timeout: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        wake.yield()
        let producer = self.producer
        let flushing = Task { await producer.flush() }
        defer { flushing.cancel() }
        while !ledger.isDrained {
            if ledger.fatalError != nil || clock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Stops the sender and closes the producer and its connections (after `drain`; records not yet
    /// delivered are given up: their lines are read again after a restart).
    public func close() async {
        wake.finish()
        await producer.close()
        await senderTask.withLockedValue { $0 }?.value
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

    private func runSender(_ wakeups: AsyncStream<Void>) async {
        var encoders: [Int: RecordEncoder] = [:]
        for await _ in wakeups {
            while true {
                let taken = ledger.takeQueued()
                if taken.isEmpty { break }
                for (token, event) in taken {
                    guard let route = routes[event.inputIndex] else {
                        ledger.fail("an event of unknown input \(event.inputIndex)")
                        return
                    }
                    let headers = encoders[event.inputIndex, default: RecordEncoder(host: host, key: route.key)]
                        .headers(for: event)
                    let key = encoders[event.inputIndex, default: RecordEncoder(host: host, key: route.key)]
                        .keyBuffer(for: event)
                    do {
                        // Appending without waiting is the common case; `send` waits for buffer room or
                        // the topic's partitions.
                        let appended = try producer.trySend(
                            topic: route.topic, key: key, value: event.value, headers: headers,
                            timestamp: event.readTimeMilliseconds, token: token)
                        if !appended {
                            try await producer.send(
                                topic: route.topic, key: key, value: event.value, headers: headers,
                                timestamp: event.readTimeMilliseconds, token: token)
                        }
                    } catch {
                        if error.kind == .closed { return }
                        ledger.fail("sending to topic \(route.topic): \(error.message)")
                        return
                    }
                }
            }
        }
    }
}

/// The `RecordSink` of one input: collects the events of a poll and hands them to the `KafkaShipper` at
/// `flush()`. Used only from the input's read loop.
public final class KafkaProducerSink: RecordSink {
    private let shipper: KafkaShipper
    private var buffered: [LineEvent] = []

    init(shipper: KafkaShipper) { self.shipper = shipper }

    public func accept(_ event: LineEvent) {
        buffered.append(event)
        if buffered.count >= 4096 { flush() }
    }

    public func flush() {
        guard !buffered.isEmpty else { return }
        shipper.hand(buffered)
        buffered.removeAll(keepingCapacity: true)
    }
}
