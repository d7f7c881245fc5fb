import KafkaSecurity
import Synchronization

/// Per-connection state that outlives one request: where the connection is in SASL authentication.
///
/// The listener creates one per connection; requests of a connection are handled one at a time,
/// the lock only makes the class safely shareable.
public final class KafkaConnectionSession: Sendable {
    /// Where a connection is in SASL authentication.
    enum SASLState: Sendable {
        /// No SaslHandshake yet.
        case unauthenticated
        /// SaslHandshake chose a mechanism; tokens come in SaslAuthenticate requests (`legacy`
        /// false, SaslHandshake v1) or as raw size-prefixed frames (`legacy` true, v0).
        case authenticating(KafkaSASLServerExchange, legacy: Bool)
        /// Authentication succeeded.
        case authenticated(user: String, mechanism: KafkaSASLMechanism)
    }

    private let state = Mutex(SASLState.unauthenticated)

    /// Creates a fresh, unauthenticated session.
    public init() {}

    var saslState: SASLState {
        get { self.state.withLock { $0 } }
        set { self.state.withLock { $0 = newValue } }
    }

    /// The authenticated SASL user, if any.
    public var authenticatedUser: String? {
        if case .authenticated(let user, _) = self.saslState { return user }
        return nil
    }

    /// Whether the next frame is a raw SASL token (after SaslHandshake v0) rather than a request.
    var expectsRawSASLToken: Bool {
        if case .authenticating(_, legacy: true) = self.saslState { return true }
        return false
    }
}
