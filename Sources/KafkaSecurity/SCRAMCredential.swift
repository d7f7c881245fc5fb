/// What a server stores for one SCRAM user (RFC 5802 §3): never the password itself.
public struct SCRAMCredential: Sendable, Hashable {
    /// The hash the keys were derived with.
    public var algorithm: SCRAMAlgorithm
    /// The per-user salt.
    public var salt: [UInt8]
    /// The PBKDF2 iteration count, at least ``SCRAMAlgorithm/minimumIterations``.
    public var iterations: Int
    /// H(ClientKey): checks the client's proof.
    public var storedKey: [UInt8]
    /// HMAC(SaltedPassword, "Server Key"): signs the server's final message.
    public var serverKey: [UInt8]

    /// Creates a credential from stored parts.
    ///
    /// - Throws: ``KafkaSASLError/tooFewIterations(_:minimum:)`` below 4096 iterations, or
    ///   ``KafkaSASLError/malformedMessage(mechanism:reason:)`` for keys of the wrong length or an empty salt.
    public init(
        algorithm: SCRAMAlgorithm, salt: [UInt8], iterations: Int, storedKey: [UInt8], serverKey: [UInt8]
    ) throws(KafkaSASLError) {
        guard iterations >= SCRAMAlgorithm.minimumIterations else {
            throw .tooFewIterations(iterations, minimum: SCRAMAlgorithm.minimumIterations)
        }
        let mechanism = algorithm.mechanism.kafkaName
        guard !salt.isEmpty else { throw .malformedMessage(mechanism: mechanism, reason: "credential salt is empty") }
        guard storedKey.count == algorithm.digestByteCount, serverKey.count == algorithm.digestByteCount else {
            throw .malformedMessage(
                mechanism: mechanism, reason: "credential keys must be \(algorithm.digestByteCount) bytes")
        }
        self.algorithm = algorithm
        self.salt = salt
        self.iterations = iterations
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    /// Derives the credential for `password` with `salt` (default: 32 random bytes).
    ///
    /// - Throws: ``KafkaSASLError/tooFewIterations(_:minimum:)`` below 4096 iterations.
    public init(
        algorithm: SCRAMAlgorithm, password: String, salt: [UInt8]? = nil,
        iterations: Int = SCRAMAlgorithm.minimumIterations
    ) throws(KafkaSASLError) {
        guard iterations >= SCRAMAlgorithm.minimumIterations else {
            throw .tooFewIterations(iterations, minimum: SCRAMAlgorithm.minimumIterations)
        }
        let salt = salt ?? SCRAMKeys.randomBytes(32)
        let keys = SCRAMKeys(algorithm: algorithm, password: password, salt: salt, iterations: iterations)
        try self.init(
            algorithm: algorithm, salt: salt, iterations: iterations, storedKey: keys.storedKey,
            serverKey: keys.serverKey)
    }
}

/// The keys RFC 5802 derives from a password, and the proof/signature arithmetic on them.
struct SCRAMKeys {
    var clientKey: [UInt8]
    var storedKey: [UInt8]
    var serverKey: [UInt8]

    init(algorithm: SCRAMAlgorithm, password: String, salt: [UInt8], iterations: Int) {
        let salted = algorithm.saltedPassword(password, salt: salt, iterations: iterations)
        self.clientKey = algorithm.hmac(key: salted, Array("Client Key".utf8))
        self.storedKey = algorithm.hash(self.clientKey)
        self.serverKey = algorithm.hmac(key: salted, Array("Server Key".utf8))
    }

    /// `count` bytes from the system's secure random source.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// A printable nonce without commas: base64 of 24 random bytes.
    static func randomNonce() -> String { Base64.encode(randomBytes(24)) }
}
