import Crypto
import Foundation

/// The hash function behind a SCRAM mechanism (RFC 5802 with SHA-256 per RFC 7677, or SHA-512).
public enum SCRAMAlgorithm: String, Sendable, Hashable, CaseIterable {
    case sha256 = "SHA-256"
    case sha512 = "SHA-512"

    /// The SASL mechanism running this algorithm.
    public var mechanism: KafkaSASLMechanism {
        switch self {
        case .sha256: .scramSHA256
        case .sha512: .scramSHA512
        }
    }

    /// Kafka's minimum iteration count for both SCRAM mechanisms.
    public static let minimumIterations = 4096

    /// The digest size in bytes.
    var digestByteCount: Int {
        switch self {
        case .sha256: SHA256.byteCount
        case .sha512: SHA512.byteCount
        }
    }

    /// H(data).
    func hash(_ data: [UInt8]) -> [UInt8] {
        switch self {
        case .sha256: Array(SHA256.hash(data: data))
        case .sha512: Array(SHA512.hash(data: data))
        }
    }

    /// HMAC(key, data).
    func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: key)
        switch self {
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        }
    }

    /// Hi(password, salt, iterations): PBKDF2 with HMAC of this hash and one output block.
    func saltedPassword(_ password: String, salt: [UInt8], iterations: Int) -> [UInt8] {
        let key = SymmetricKey(data: Array(password.utf8))
        switch self {
        case .sha256: return Self.hi(HMAC<SHA256>(key: key), salt: salt, iterations: iterations)
        case .sha512: return Self.hi(HMAC<SHA512>(key: key), salt: salt, iterations: iterations)
        }
    }

    /// PBKDF2's first block: U1 = HMAC(salt ‖ INT(1)), Ui = HMAC(Ui-1), result = U1 ⊕ … ⊕ Un.
    /// `keyed` holds the HMAC state after the key; each round copies it instead of re-keying.
    private static func hi<H: HashFunction>(_ keyed: HMAC<H>, salt: [UInt8], iterations: Int) -> [UInt8] {
        var mac = keyed
        mac.update(data: salt + [0, 0, 0, 1])
        var previous = Array(mac.finalize())
        var result = previous
        for _ in 1..<max(iterations, 1) {
            var round = keyed
            round.update(data: previous)
            previous = Array(round.finalize())
            for index in result.indices { result[index] ^= previous[index] }
        }
        return result
    }
}

/// Constant-time equality of two byte strings (no early exit on the first difference).
func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
    return difference == 0
}
