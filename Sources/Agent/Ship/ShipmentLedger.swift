import KafkaClient
import Logging
import NIOConcurrencyHelpers

/// The shipper's shared state: the acknowledgement token of every event handed to the producer and not yet
/// acknowledged (by producer token), and the fatal error that stops reading. Events come from the inputs' read
/// loop, delivery reports from the producer's tasks: every access goes through the locked boxes `state` and
/// `inboxes`.
final class ShipmentLedger: Sendable {
    private struct State {
        var pending = PendingEvents(firstToken: 1)
        var fatalError: String?
        var counters = ShipperCounters()
        /// Bytes of the events not yet acknowledged, as the inputs' budgets count them.
        var inFlightBytes = 0
    }

    private let state = NIOLockedValueBox(State())
    private let inboxes: NIOLockedValueBox<[Int: AcknowledgementInbox]> = NIOLockedValueBox([:])
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func register(input: Int, inbox: AcknowledgementInbox) {
        inboxes.withLockedValue { $0[input] = inbox }
    }

    /// Registers `token` as handed over and returns the producer token to send its record with.
    func admit(_ token: AckToken) -> UInt64 {
        state.withLockedValue { state in
            state.inFlightBytes += token.bytes
            return state.pending.append(token)
        }
    }

    /// Whether every event given to the shipper has been acknowledged.
    var isDrained: Bool {
        state.withLockedValue { $0.pending.isEmpty }
    }

    /// The error that stopped shipping, if any.
    var fatalError: String? { state.withLockedValue { $0.fatalError } }

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

    /// Applies one delivery report: acknowledged records go to their inputs' inboxes. The producer retries
    /// passing failures itself until delivered (the agent runs it without a delivery timeout), so a failure
    /// reported here is fatal: reading stops and the lines are read again from the saved positions at the next
    /// start (same `origin`).
    func apply(_ report: KafkaProducerDeliveryReport) {
        switch report.result {
        case .success:
            var acknowledged: [AckToken] = []
            acknowledged.reserveCapacity(report.tokens.count)
            var mixedInputs = false
            let now = LocalSystem.wallClockMilliseconds()
            state.withLockedValue { state in
                state.counters.batchesAcknowledged += 1
                state.counters.lastAcknowledgementMilliseconds = now
                for token in report.tokens {
                    guard let ack = state.pending.remove(token: token) else { continue }
                    state.inFlightBytes -= ack.bytes
                    mixedInputs = mixedInputs || ack.input != acknowledged.first?.input ?? ack.input
                    acknowledged.append(ack)
                }
            }
            guard let first = acknowledged.first else { return }
            let inboxes = self.inboxes.withLockedValue { $0 }
            if !mixedInputs {
                inboxes[first.input]?.acknowledge(acknowledged)
            } else {
                for (input, tokens) in Dictionary(grouping: acknowledged, by: \.input) { inboxes[input]?.acknowledge(tokens) }
            }
        case .failure(let error):
            if error.kind == .closed { return }
            state.withLockedValue { $0.counters.deliveryErrors["fatal", default: 0] += 1 }
            fail("\(report.tokens.count) record(s) to topic \(report.topic) partition \(report.partition) not delivered: \(error.message)")
        }
    }
}

