/// The client side of a SCRAM exchange as Kafka runs it (RFC 5802/7677, no channel binding).
///
/// Call ``clientFirstMessage()``, send it; pass the server's reply to
/// ``clientFinalMessage(serverFirst:)`` and send the result; pass the server's last reply to
/// ``verifyServerFinal(_:)``. Any error ends the exchange.
public struct SCRAMClient: Sendable {
    private enum State: Sendable {
        case initial
        case sentClientFirst(bare: String)
        case sentClientFinal(expectedServerSignature: [UInt8])
        case complete
        case failed
    }

    /// The hash in use.
    public let algorithm: SCRAMAlgorithm
    private let username: String
    private let password: String
    private let clientNonce: String
    private var state = State.initial

    /// Creates a client for `username`/`password`; `nonce` is for tests (default: 24 random bytes, base64).
    public init(algorithm: SCRAMAlgorithm, username: String, password: String, nonce: String? = nil) {
        self.algorithm = algorithm
        self.username = username
        self.password = password
        self.clientNonce = nonce ?? SCRAMKeys.randomNonce()
    }

    /// Whether the server's signature was verified: both sides know the password.
    public var isComplete: Bool {
        if case .complete = self.state { return true }
        return false
    }

    private var mechanism: String { self.algorithm.mechanism.kafkaName }

    /// The client-first message: `n,,n=<user>,r=<nonce>`.
    public mutating func clientFirstMessage() -> [UInt8] {
        let bare = "n=\(SCRAMMessage.escape(username: self.username)),r=\(self.clientNonce)"
        self.state = .sentClientFirst(bare: bare)
        return Array((SCRAMMessage.gs2Header + bare).utf8)
    }

    /// Checks the server-first message and answers with the client-final message (carrying the proof).
    ///
    /// - Throws: ``KafkaSASLError`` if the message is malformed, the nonce does not extend the
    ///   client's, or the iteration count is below 4096.
    public mutating func clientFinalMessage(serverFirst: some Collection<UInt8>) throws(KafkaSASLError) -> [UInt8] {
        guard case .sentClientFirst(let clientFirstBare) = self.state else {
            throw .unexpectedMessage("\(self.mechanism) server-first message before client-first or after it was handled")
        }
        self.state = .failed
        let serverFirst = try SCRAMMessage.text(serverFirst, mechanism: self.mechanism)
        let attributes = try SCRAMAttributes(serverFirst[...], mechanism: self.mechanism)
        if let first = attributes.pairs.first, first.name == "e" { throw .serverError(String(first.value)) }
        let nonce = try attributes.require("r", at: 0, "nonce")
        let salt = try SCRAMMessage.base64(try attributes.require("s", at: 1, "salt"), "salt", mechanism: self.mechanism)
        let iterationText = try attributes.require("i", at: 2, "iteration count")
        guard let iterations = Int(iterationText), iterations > 0 else {
            throw .malformedMessage(mechanism: self.mechanism, reason: "iteration count \"\(iterationText)\" is not a positive number")
        }
        try SCRAMMessage.validateNonce(nonce, mechanism: self.mechanism)
        guard nonce.hasPrefix(self.clientNonce), nonce.count > self.clientNonce.count else { throw .nonceMismatch }
        guard !salt.isEmpty else { throw .malformedMessage(mechanism: self.mechanism, reason: "salt is empty") }
        guard iterations >= SCRAMAlgorithm.minimumIterations else {
            throw .tooFewIterations(iterations, minimum: SCRAMAlgorithm.minimumIterations)
        }

        let keys = SCRAMKeys(algorithm: self.algorithm, password: self.password, salt: salt, iterations: iterations)
        let withoutProof = "c=\(Base64.encode(SCRAMMessage.gs2Header.utf8)),r=\(nonce)"
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let clientSignature = self.algorithm.hmac(key: keys.storedKey, authMessage)
        let proof = SCRAMMessage.xor(keys.clientKey, clientSignature)
        self.state = .sentClientFinal(expectedServerSignature: self.algorithm.hmac(key: keys.serverKey, authMessage))
        return Array("\(withoutProof),p=\(Base64.encode(proof))".utf8)
    }

    /// Verifies the server-final message `v=<signature>`; afterwards ``isComplete`` is true.
    ///
    /// - Throws: ``KafkaSASLError/serverError(_:)`` for `e=…`, ``KafkaSASLError/invalidServerSignature``
    ///   for a wrong signature, or a malformed-message error.
    public mutating func verifyServerFinal(_ serverFinal: some Collection<UInt8>) throws(KafkaSASLError) {
        guard case .sentClientFinal(let expected) = self.state else {
            throw .unexpectedMessage("\(self.mechanism) server-final message before client-final or after completion")
        }
        self.state = .failed
        let text = try SCRAMMessage.text(serverFinal, mechanism: self.mechanism)
        let attributes = try SCRAMAttributes(text[...], mechanism: self.mechanism)
        if let first = attributes.pairs.first, first.name == "e" { throw .serverError(String(first.value)) }
        let signature = try SCRAMMessage.base64(
            try attributes.require("v", at: 0, "server signature"), "server signature", mechanism: self.mechanism)
        guard constantTimeEquals(signature, expected) else { throw .invalidServerSignature }
        self.state = .complete
    }
}
