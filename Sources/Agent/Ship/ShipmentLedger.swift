import KafkaClient
import Logging
import NIOConcurrencyHelpers

/// The shipper's shared state: events waiting to be handed to the producer, events handed over and not yet
/// acknowledged (by token), and the fatal error that stops reading. Delivery reports arrive on the producer's
/// tasks, events from the inputs' read loop and the sender task takes them: every access holds `lock`.
final class ShipmentLedger: Sendable {
    private struct State {
        var queue: [LineEvent] = []
        var pending = PendingEvents(firstToken: 1)
        var fatalError: String?
        var counters = ShipperCounters()
        /// Value bytes of the queued and pending events.
        var inFlightBytes = 0
    }

    private let state = NIOLockedValueBox(State())
    private let inboxes: NIOLockedValueBox<[Int: AcknowledgementInbox]> = NIOLockedValueBox([:])
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func register(input: Int, inbox: AcknowledgementInbox) {
        inboxes.withLockedValue { $0[input] = inbox }
    }

    /// Queues events for the sender task.
    func enqueue(_ events: [LineEvent]) {
        let bytes = events.reduce(0) { $0 + $1.ackToken.bytes }
        state.withLockedValue { state in
            state.queue.append(contentsOf: events)
            state.inFlightBytes += bytes
        }
    }

    /// Takes the queued events, each with the token it is sent with; they count as pending from now on.
    func takeQueued() -> [(token: UInt64, event: LineEvent)] {
        state.withLockedValue { state in
            guard !state.queue.isEmpty else { return [] }
            var taken: [(token: UInt64, event: LineEvent)] = []
            taken.reserveCapacity(state.queue.count)
            for event in state.queue {
                taken.append((state.pending.append(event), event))
            }
            state.queue.removeAll(keepingCapacity: true)
            return taken
        }
    }

    /// Whether every event given to the shipper has been acknowledged.
    var isDrained: Bool {
        state.withLockedValue { $0.queue.isEmpty && $0.pending.isEmpty }
    }

    /// The error that stopped shipping, if any.
    var fatalError: String? { state.withLockedValue { $0.fatalError } }

    /// Records sent again after a failed delivery.
    var retriedRecords: Int { state.withLockedValue { $0.counters.recordsRetried } }

    /// Counters, bytes in flight and the fatal error, for the metrics.
    var metricsSnapshot: ShipperMetricsSnapshot {
        state.withLockedValue { ShipperMetricsSnapshot(counters: $0.counters, inFlightBytes: $0.inFlightBytes, fatalError: $0.fatalError) }
    }

    /// Marks shipping as failed for good (the first reason wins) and logs it.
    func fail(_ reason: String) {
        let first = state.withLockedValue { state -> Bool in
            guard state.fatalError == nil else { return false }
            state.fatalError = reason
            return true
        }
        if first {
            logger.critical("tributary-agent: shipping stopped: \(reason); reading stopped, positions stay at the last acknowledged line")
        }
    }

    /// Applies one delivery report: acknowledged records go to their inputs' inboxes; records that failed
    /// for a passing reason are queued again (returns true: wake the sender); other failures are fatal.
    func apply(_ report: KafkaProducerDeliveryReport) -> Bool {
        switch report.result {
        case .success:
            var acknowledged: [Int: [AckToken]] = [:]
            state.withLockedValue { state in
                state.counters.batchesAcknowledged += 1
                for token in report.tokens {
                    guard let event = state.pending.remove(token: token) else { continue }
                    state.inFlightBytes -= event.ackToken.bytes
                    acknowledged[event.ackToken.input, default: []].append(event.ackToken)
                }
            }
            let inboxes = self.inboxes.withLockedValue { $0 }
            for (input, tokens) in acknowledged { inboxes[input]?.acknowledge(tokens) }
            return false
        case .failure(let error):
            switch error.kind {
            case .transport, .timedOut, .producerFenced:
                let count = state.withLockedValue { state -> Int in
                    var again: [LineEvent] = []
                    for token in report.tokens {
                        if let event = state.pending.remove(token: token) { again.append(event) }
                    }
                    state.queue.append(contentsOf: again)
                    state.counters.recordsRetried += again.count
                    state.counters.deliveryErrors["retried", default: 0] += 1
                    return again.count
                }
                logger.warning(
                    "tributary-agent: \(count) record(s) to \(report.topic)/\(report.partition) not delivered (\(error.message)); sending them again")
                return count > 0
            case .closed:
                return false
            case .broker, .client, .unknownTopic, .invalidRecord, .invalidConfiguration:
                state.withLockedValue { $0.counters.deliveryErrors["fatal", default: 0] += 1 }
                fail("\(report.tokens.count) record(s) to topic \(report.topic) partition \(report.partition) refused: \(error.message)")
                return false
            }
        }
    }
}
