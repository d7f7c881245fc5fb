import NIOConcurrencyHelpers

/// Ends a read loop's idle wait early when acknowledgements arrive (in-flight budget freed), so a reader held
/// by the budget continues at once instead of at its next timed poll.
public final class ReadLoopWakeup: Sendable {
    private struct State {
        var signalled = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Wakes the waiting loop, or the next wait when none is waiting.
    public func signal() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.signalled = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns after `signal()` (also one that came since the last wait) or after `timeout`.
    public func wait(timeout: Duration) async {
        let timer = NIOLockedValueBox<Task<Void, Never>?>(nil)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let alreadySignalled = state.withLockedValue { state -> Bool in
                if state.signalled {
                    state.signalled = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if alreadySignalled { return continuation.resume() }
            timer.withLockedValue {
                $0 = Task { [weak self] in
                    try? await Task.sleep(for: timeout)
                    if !Task.isCancelled { self?.timeout() }
                }
            }
        }
        timer.withLockedValue { $0 }?.cancel()
    }

    /// The wait's time is up: resume it without leaving a signal behind.
    private func timeout() {
        state.withLockedValue { state in
            defer { state.waiter = nil }
            return state.waiter
        }?.resume()
    }
}
