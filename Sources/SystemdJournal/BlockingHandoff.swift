import NIOConcurrencyHelpers
import NIOCore

/// A bounded queue from one blocking producer thread to one async consumer.
///
/// The producer (a dedicated thread) blocks in `push` while `capacity` elements wait, so a slow consumer stops the
/// reading instead of growing memory; the consumer suspends in `next()` without blocking a cooperative-pool thread.
final class BlockingHandoff<Element: Sendable>: @unchecked Sendable {
    // @unchecked: every stored `var` is read and written only while `lock` is held; the lock's value is
    // `producerMayProceed` (space in the buffer, or the consumer went away), which `push` waits for.
    private let lock = ConditionLock(value: true)
    private let capacity: Int
    private var buffer: CircularBuffer<Element>
    private var waitingConsumer: CheckedContinuation<Element?, any Error>?
    private var terminal: (any Error)??
    private var cancelled = false
    private let onCancel: @Sendable () -> Void

    /// `onCancel` runs once when the consumer cancels, e.g. to wake a producer blocked outside `push`.
    init(capacity: Int, onCancel: @escaping @Sendable () -> Void) {
        self.capacity = max(1, capacity)
        self.buffer = CircularBuffer(initialCapacity: self.capacity)
        self.onCancel = onCancel
    }

    private var producerMayProceed: Bool { cancelled || buffer.count < capacity }

    /// Hands `element` to the consumer, blocking while the buffer is full; `false` once the consumer went away.
    func push(_ element: Element) -> Bool {
        lock.lock(whenValue: true)
        if cancelled {
            lock.unlock(withValue: true)
            return false
        }
        if let consumer = waitingConsumer {
            waitingConsumer = nil
            lock.unlock(withValue: producerMayProceed)
            consumer.resume(returning: element)
            return true
        }
        buffer.append(element)
        lock.unlock(withValue: producerMayProceed)
        return true
    }

    /// Ends the sequence after the buffered elements, with `error` if given.
    func finish(throwing error: (any Error)? = nil) {
        lock.lock()
        if terminal == nil { terminal = .some(error) }
        let consumer = waitingConsumer
        waitingConsumer = nil
        if consumer != nil { terminal = .some(nil) }  // the waiting consumer gets the error; later calls end
        lock.unlock(withValue: producerMayProceed)
        if let consumer {
            if let error { consumer.resume(throwing: error) } else { consumer.resume(returning: nil) }
        }
    }

    /// Stops the producer: later `push` calls return `false`, a waiting `next()` returns `nil`.
    func cancel() {
        lock.lock()
        let first = !cancelled
        cancelled = true
        let consumer = waitingConsumer
        waitingConsumer = nil
        lock.unlock(withValue: true)
        consumer?.resume(returning: nil)
        if first { onCancel() }
    }

    /// Whether `capacity` elements wait for the consumer (the producer's next `push` blocks).
    var isBufferFull: Bool {
        lock.lock()
        defer { lock.unlock(withValue: producerMayProceed) }
        return buffer.count >= capacity
    }

    /// Whether the consumer cancelled.
    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock(withValue: producerMayProceed) }
        return cancelled
    }

    /// What `poll()` found.
    enum PollResult {
        /// An element was waiting.
        case element(Element)
        /// Nothing is waiting yet; the producer is still running.
        case pending
        /// The sequence ended (or was cancelled) and everything buffered was taken.
        case finished
    }

    /// Takes the next element if one is waiting, without suspending or blocking; rethrows the producer's error
    /// once. For a consumer that polls (one consumer: never mix with a pending `next()`).
    func poll() throws -> PollResult {
        lock.lock()
        if let element = buffer.popFirst() {
            lock.unlock(withValue: producerMayProceed)
            return .element(element)
        }
        if cancelled {
            lock.unlock(withValue: true)
            return .finished
        }
        if let terminal {
            self.terminal = .some(nil)  // report the error once, then end
            lock.unlock(withValue: producerMayProceed)
            if let error = terminal { throw error }
            return .finished
        }
        lock.unlock(withValue: producerMayProceed)
        return .pending
    }

    /// The next element, `nil` at the end or after cancellation; rethrows the producer's error.
    func next() async throws -> Element? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Element?, any Error>) in
                lock.lock()
                if let element = buffer.popFirst() {
                    lock.unlock(withValue: producerMayProceed)
                    continuation.resume(returning: element)
                } else if cancelled {
                    lock.unlock(withValue: true)
                    continuation.resume(returning: nil)
                } else if let terminal {
                    self.terminal = .some(nil)  // report the error once, then end
                    lock.unlock(withValue: producerMayProceed)
                    if let error = terminal { continuation.resume(throwing: error) } else {
                        continuation.resume(returning: nil)
                    }
                } else {
                    waitingConsumer = continuation
                    lock.unlock(withValue: producerMayProceed)
                }
            }
        } onCancel: {
            cancel()
        }
    }
}
