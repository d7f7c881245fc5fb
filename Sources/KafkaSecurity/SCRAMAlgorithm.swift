// SCRAM's hash, HMAC and PBKDF2 come from the BoringSSL that swift-nio-ssl already links (symbol-prefixed
// symbols), not from swift-crypto: swift-crypto's Crypto imports Foundation on Linux, and Foundation with
// its ICU data costs the agent about 10 MB of resident memory (docs/PERFORMANCE.md, issue 5). The system
// libcrypto was measured too: about 3.5 MB of touched pages once loaded. CNIOBoringSSL is the C target behind
// the NIOSSL product (not a product of its own); it is the same BoringSSL that swift-crypto wraps.
import CNIOBoringSSL

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

    /// BoringSSL's digest for this algorithm.
    private var digest: OpaquePointer? {
        switch self {
        case .sha256: EVP_sha256()
        case .sha512: EVP_sha512()
        }
    }

    /// The digest size in bytes.
    var digestByteCount: Int {
        switch self {
        case .sha256: 32
        case .sha512: 64
        }
    }

    /// H(data).
    func hash(_ data: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: digestByteCount)
        var length: UInt32 = 0
        let succeeded = data.withUnsafeBufferPointer { input in
            EVP_Digest(input.baseAddress, input.count, &output, &length, digest, nil)
        }
        // Digesting memory with a built-in digest fails only when BoringSSL cannot allocate.
        precondition(succeeded == 1 && Int(length) == digestByteCount, "BoringSSL EVP_Digest failed")
        return output
    }

    /// HMAC(key, data).
    func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: digestByteCount)
        var length: UInt32 = 0
        let result = key.withUnsafeBufferPointer { key in
            data.withUnsafeBufferPointer { input in
                HMAC(digest, key.baseAddress, key.count, input.baseAddress, input.count, &output, &length)
            }
        }
        precondition(result != nil && Int(length) == digestByteCount, "BoringSSL HMAC failed")
        return output
    }

    /// Hi(password, salt, iterations): PBKDF2 with HMAC of this hash and one output block.
    func saltedPassword(_ password: String, salt: [UInt8], iterations: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: digestByteCount)
        let password = Array(password.utf8)
        let succeeded = password.withUnsafeBufferPointer { password in
            salt.withUnsafeBufferPointer { salt in
                password.withMemoryRebound(to: CChar.self) { password in
                    PKCS5_PBKDF2_HMAC(
                        password.baseAddress, password.count, salt.baseAddress, salt.count,
                        UInt32(clamping: max(iterations, 1)), digest, output.count, &output)
                }
            }
        }
        precondition(succeeded == 1, "BoringSSL PKCS5_PBKDF2_HMAC failed")
        return output
    }
}

/// Constant-time equality of two byte strings (no early exit on the first difference).
func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
    return difference == 0
}
