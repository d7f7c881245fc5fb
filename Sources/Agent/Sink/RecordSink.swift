import NIOConcurrencyHelpers

/// Where inputs send their events: the seam to the shipper (the Kafka producer). The sink must eventually
/// give every event's `ackToken` to the input's `AcknowledgementInbox` once the event is delivered (the broker
/// acknowledged it); unacknowledged bytes count against the in-flight budget, so reading stops until acks arrive.
/// Called only from the input's read loop.
public protocol RecordSink: AnyObject {
    /// Takes one event. Must not block; buffer it (the in-flight budget bounds how much arrives).
    func accept(_ event: LineEvent)

    /// Called after every poll, before positions are saved at shutdown, and every 10 ms while the shipper drains:
    /// no more events for now, a good moment to send what is buffered (records the producer could not take yet).
    /// Must be cheap when the sink holds nothing. Default: nothing.
    func flush()
}

extension RecordSink {
    public func flush() {}
}

/// Acknowledgements travelling back from the sink (any thread) to the input's read loop.
public final class AcknowledgementInbox: Sendable {
    private let tokens = NIOLockedValueBox<[AckToken]>([])
    private let wakeup: ReadLoopWakeup?

    /// An inbox signalling `wakeup` (if any) on each acknowledgement.
    public init(wakeup: ReadLoopWakeup? = nil) { self.wakeup = wakeup }

    /// Reports `token`'s event as delivered. Order does not matter; positions advance over the contiguous prefix.
    public func acknowledge(_ token: AckToken) {
        tokens.withLockedValue { $0.append(token) }
        wakeup?.signal()
    }

    /// Reports several events as delivered.
    public func acknowledge(_ batch: some Collection<AckToken>) {
        guard !batch.isEmpty else { return }
        tokens.withLockedValue { $0.append(contentsOf: batch) }
        wakeup?.signal()
    }

    /// Ends the read loop's idle wait (the sink can take more now).
    public func wakeReadLoop() {
        wakeup?.signal()
    }

    /// Moves the acknowledgements received so far into `taken` (emptied first), swapping storage with the inbox:
    /// with one buffer kept by the caller, draining allocates nothing.
    func drain(into taken: inout [AckToken]) {
        taken.removeAll(keepingCapacity: true)
        tokens.withLockedValue { pending in
            guard !pending.isEmpty else { return }
            swap(&pending, &taken)
        }
    }
}

/// A sink keeping events in memory, for tests and dry runs. With `autoAcknowledge` every event is acknowledged
/// at once; otherwise `acknowledge(…)` decides when.
public final class InMemorySink: RecordSink {
    /// Every event accepted, in order.
    public private(set) var events: [LineEvent] = []
    /// Events accepted and not yet acknowledged through this sink.
    public private(set) var unacknowledged: [LineEvent] = []
    public var autoAcknowledge: Bool
    private let inbox: AcknowledgementInbox

    public init(acknowledgements: AcknowledgementInbox, autoAcknowledge: Bool = true) {
        self.inbox = acknowledgements
        self.autoAcknowledge = autoAcknowledge
    }

    public func accept(_ event: LineEvent) {
        events.append(event)
        if autoAcknowledge { inbox.acknowledge(event.ackToken) } else { unacknowledged.append(event) }
    }

    /// Acknowledges the pending events chosen by `predicate` (all by default), in the order given by `order`.
    public func acknowledge(where predicate: (LineEvent) -> Bool = { _ in true }, reversed: Bool = false) {
        let chosen = unacknowledged.filter(predicate)
        unacknowledged.removeAll(where: predicate)
        inbox.acknowledge((reversed ? chosen.reversed() : chosen).map(\.ackToken))
    }

    /// Forgets everything received (acknowledged or not), as a crashed shipper would.
    public func reset() {
        events.removeAll()
        unacknowledged.removeAll()
    }
}
