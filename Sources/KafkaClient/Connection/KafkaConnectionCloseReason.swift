import Synchronization

/// Why a connection closed, shared by its pipeline handler (which sets it on the event loop) and
/// its transport (which reads it to explain why a send on the closed connection fails).
final class KafkaConnectionCloseReason: Sendable {
    private let reason = Mutex<KafkaClientError?>(nil)

    /// The first reason recorded, if the connection closed.
    var value: KafkaClientError? { self.reason.withLock { $0 } }

    /// Records `error` unless a reason is already known; returns the reason in effect.
    @discardableResult
    func record(_ error: KafkaClientError) -> KafkaClientError {
        self.reason.withLock { reason in
            if let existing = reason { return existing }
            reason = error
            return error
        }
    }
}
