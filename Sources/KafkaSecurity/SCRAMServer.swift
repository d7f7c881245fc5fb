/// The server side of a SCRAM exchange as Kafka runs it (RFC 5802/7677, no channel binding).
///
/// Pass the client-first message to ``serverFirstMessage(clientFirst:)`` and send the result;
/// pass the client-final message to ``serverFinalMessage(clientFinal:)``: it verifies the proof
/// and returns the server-final message. Any error ends the exchange (authentication failed).
public struct SCRAMServer: Sendable {
    /// Finds the stored credential of a user; `nil` for an unknown user.
    public typealias CredentialLookup = @Sendable (_ username: String) -> SCRAMCredential?

    private enum State: Sendable {
        case initial
        case sentServerFirst(user: String, credential: SCRAMCredential, nonce: String, authPrefix: String, channelBinding: String)
        case complete(user: String)
        case failed
    }

    /// The hash in use.
    public let algorithm: SCRAMAlgorithm
    private let lookup: CredentialLookup
    private let serverNonce: String
    private var state = State.initial

    /// Creates a server checking against `credentials`; `nonce` is the server's part of the nonce,
    /// for tests (default: 24 random bytes, base64).
    public init(algorithm: SCRAMAlgorithm, credentials: @escaping CredentialLookup, nonce: String? = nil) {
        self.algorithm = algorithm
        self.lookup = credentials
        self.serverNonce = nonce ?? SCRAMKeys.randomNonce()
    }

    /// The authenticated user once the client's proof was verified, else `nil`.
    public var authenticatedUser: String? {
        if case .complete(let user) = self.state { return user }
        return nil
    }

    private var mechanism: String { self.algorithm.mechanism.kafkaName }

    /// Whether the exchange is past the client-first message (successfully or not).
    public var hasSentServerFirst: Bool {
        if case .initial = self.state { return false }
        return true
    }

    /// Parses the client-first message, looks the user up and answers with the server-first
    /// message `r=<nonce>,s=<salt>,i=<iterations>`.
    ///
    /// - Throws: ``KafkaSASLError/unknownUser(_:)``, or a malformed-message error (also for
    ///   channel binding, which Kafka does not use, and for an authorization identity other than the user).
    public mutating func serverFirstMessage(clientFirst: some Collection<UInt8>) throws(KafkaSASLError) -> [UInt8] {
        guard case .initial = self.state else {
            throw .unexpectedMessage("\(self.mechanism) client-first message after the exchange started")
        }
        self.state = .failed
        let text = try SCRAMMessage.text(clientFirst, mechanism: self.mechanism)
        // gs2-header: cbind-flag "," [authzid] ","
        let headerParts = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard headerParts.count == 3 else {
            throw .malformedMessage(mechanism: self.mechanism, reason: "missing GS2 header")
        }
        guard headerParts[0] == "n" || headerParts[0] == "y" else {
            throw .malformedMessage(
                mechanism: self.mechanism, reason: "channel binding flag \"\(headerParts[0].prefix(20))\" is not supported")
        }
        let bare = headerParts[2]
        let attributes = try SCRAMAttributes(bare, mechanism: self.mechanism)
        if let first = attributes.pairs.first, first.name == "m" {
            throw .malformedMessage(mechanism: self.mechanism, reason: "mandatory extensions are not supported")
        }
        let user = try SCRAMMessage.unescape(
            username: try attributes.require("n", at: 0, "user name"), mechanism: self.mechanism)
        let clientNonce = try attributes.require("r", at: 1, "nonce")
        try SCRAMMessage.validateNonce(clientNonce, mechanism: self.mechanism)
        if !headerParts[1].isEmpty {
            guard headerParts[1].hasPrefix("a="),
                try SCRAMMessage.unescape(username: headerParts[1].dropFirst(2), mechanism: self.mechanism) == user
            else {
                throw .malformedMessage(
                    mechanism: self.mechanism, reason: "authorization identity must be empty or the user name")
            }
        }
        guard !user.isEmpty else { throw .malformedMessage(mechanism: self.mechanism, reason: "user name is empty") }
        guard let credential = self.lookup(user), credential.algorithm == self.algorithm else {
            throw .unknownUser(user)
        }
        let nonce = "\(clientNonce)\(self.serverNonce)"
        let serverFirst = "r=\(nonce),s=\(Base64.encode(credential.salt)),i=\(credential.iterations)"
        let gs2Header = "\(headerParts[0]),\(headerParts[1]),"
        self.state = .sentServerFirst(
            user: user, credential: credential, nonce: nonce, authPrefix: "\(bare),\(serverFirst)",
            channelBinding: Base64.encode(gs2Header.utf8))
        return Array(serverFirst.utf8)
    }

    /// Verifies the client-final message's nonce, channel binding and proof, and answers with
    /// the server-final message `v=<signature>`; afterwards ``authenticatedUser`` is set.
    ///
    /// - Throws: ``KafkaSASLError/nonceMismatch``, ``KafkaSASLError/invalidCredentials(user:)``
    ///   for a wrong proof, or a malformed-message error.
    public mutating func serverFinalMessage(clientFinal: some Collection<UInt8>) throws(KafkaSASLError) -> [UInt8] {
        guard case .sentServerFirst(let user, let credential, let nonce, let authPrefix, let channelBinding) = self.state
        else {
            throw .unexpectedMessage("\(self.mechanism) client-final message before client-first or after completion")
        }
        self.state = .failed
        let text = try SCRAMMessage.text(clientFinal, mechanism: self.mechanism)
        // The proof is the last attribute; the AuthMessage covers everything before it.
        guard let lastComma = text.lastIndex(of: ","), text[lastComma...].hasPrefix(",p=") else {
            throw .malformedMessage(mechanism: self.mechanism, reason: "client-final message does not end with a proof (p=)")
        }
        let withoutProof = text[..<lastComma]
        let attributes = try SCRAMAttributes(withoutProof, mechanism: self.mechanism)
        guard try attributes.require("c", at: 0, "channel binding") == channelBinding else {
            throw .malformedMessage(mechanism: self.mechanism, reason: "channel binding does not match the GS2 header")
        }
        guard try attributes.require("r", at: 1, "nonce") == nonce else { throw .nonceMismatch }
        let proof = try SCRAMMessage.base64(text[text.index(lastComma, offsetBy: 3)...], "proof", mechanism: self.mechanism)
        guard proof.count == credential.storedKey.count else {
            throw .malformedMessage(mechanism: self.mechanism, reason: "proof has \(proof.count) bytes, expected \(credential.storedKey.count)")
        }
        let authMessage = Array("\(authPrefix),\(withoutProof)".utf8)
        let clientSignature = self.algorithm.hmac(key: credential.storedKey, authMessage)
        let clientKey = SCRAMMessage.xor(proof, clientSignature)
        guard constantTimeEquals(self.algorithm.hash(clientKey), credential.storedKey) else {
            throw .invalidCredentials(user: user)
        }
        self.state = .complete(user: user)
        let signature = self.algorithm.hmac(key: credential.serverKey, authMessage)
        return Array("v=\(Base64.encode(signature))".utf8)
    }
}
