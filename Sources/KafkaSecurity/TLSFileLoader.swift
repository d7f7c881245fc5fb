import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Loads PEM certificates and keys, turning failures into errors that name the file.
enum TLSFileLoader {
    /// Every certificate in the PEM file at `path` (a chain or a CA bundle); `role` says what it is for.
    static func certificates(_ path: String, role: String) throws(KafkaTLSError) -> [NIOSSLCertificate] {
        try self.checkReadable(path, role: role)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw KafkaTLSError("\(role) \(path) is not a PEM certificate file: \(error)")
        }
        guard !certificates.isEmpty else { throw KafkaTLSError("\(role) \(path) contains no PEM certificate") }
        return certificates
    }

    /// The PEM private key at `path`.
    static func privateKey(_ path: String, role: String) throws(KafkaTLSError) -> NIOSSLPrivateKey {
        try self.checkReadable(path, role: role)
        do {
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw KafkaTLSError("\(role) \(path) is not a PEM private key (encrypted keys are not supported): \(error)")
        }
    }

    /// Makes a context, wrapping BoringSSL's complaints (such as a key not matching its certificate).
    static func context(_ configuration: TLSConfiguration, files: String) throws(KafkaTLSError) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw KafkaTLSError("cannot build a TLS context from \(files): \(error)")
        }
    }

    private static func checkReadable(_ path: String, role: String) throws(KafkaTLSError) {
        guard access(path, R_OK) == 0 else {
            let reason = String(cString: strerror(errno))
            throw KafkaTLSError("cannot read \(role) \(path): \(reason)")
        }
    }
}
