/// Why a SASL exchange failed, on either side. The descriptions are precise for logs; a broker
/// should not echo them verbatim to unauthenticated peers when they would reveal which users exist.
public enum KafkaSASLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A SASL message that does not follow its grammar; `mechanism` names the exchange, `reason` the defect.
    case malformedMessage(mechanism: String, reason: String)
    /// The mechanism is not one of those supported or enabled.
    case unsupportedMechanism(String)
    /// No credentials are known for this user.
    case unknownUser(String)
    /// The password (PLAIN) or client proof (SCRAM) does not match the stored credentials.
    case invalidCredentials(user: String)
    /// The server's nonce does not start with the client's nonce, or the final nonce differs.
    case nonceMismatch
    /// The iteration count is below the minimum the mechanism allows.
    case tooFewIterations(Int, minimum: Int)
    /// The server's final signature does not match: the server does not know the password.
    case invalidServerSignature
    /// The server ended the SCRAM exchange with `e=<error>`.
    case serverError(String)
    /// A message arrived in a state that does not expect one (e.g. after completion).
    case unexpectedMessage(String)

    public var description: String {
        switch self {
        case .malformedMessage(let mechanism, let reason): "malformed \(mechanism) message: \(reason)"
        case .unsupportedMechanism(let name): "unsupported SASL mechanism \"\(name)\""
        case .unknownUser(let user): "unknown SASL user \"\(user)\""
        case .invalidCredentials(let user): "invalid credentials for SASL user \"\(user)\""
        case .nonceMismatch: "SCRAM nonce mismatch"
        case .tooFewIterations(let count, let minimum): "SCRAM iteration count \(count) is below the minimum of \(minimum)"
        case .invalidServerSignature: "SCRAM server signature is invalid (the server does not know the password)"
        case .serverError(let error): "SCRAM server error: \(error)"
        case .unexpectedMessage(let state): "unexpected SASL message: \(state)"
        }
    }
}
