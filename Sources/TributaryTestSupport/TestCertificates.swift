import Foundation

/// A throwaway PKI made with the `openssl` CLI: a CA, a server certificate for
/// `127.0.0.1`/`localhost` and a client certificate signed by it, plus a client certificate
/// from an unrelated CA. All PEM, keys unencrypted (EC P-256, valid for two days).
public struct TestCertificates: Sendable {
    /// The directory holding the files.
    public let directory: String
    /// The CA's certificate (trust anchor for both sides).
    public var caCertificate: String { "\(self.directory)/ca.pem" }
    /// The server certificate (SAN IP:127.0.0.1, DNS:localhost), signed by the CA.
    public var serverCertificate: String { "\(self.directory)/server.pem" }
    /// The server certificate's key.
    public var serverKey: String { "\(self.directory)/server.key" }
    /// A client certificate (CN=tributary-client), signed by the CA.
    public var clientCertificate: String { "\(self.directory)/client.pem" }
    /// The client certificate's key.
    public var clientKey: String { "\(self.directory)/client.key" }
    /// A client certificate signed by another CA the server does not trust.
    public var untrustedClientCertificate: String { "\(self.directory)/untrusted-client.pem" }
    /// The untrusted client certificate's key.
    public var untrustedClientKey: String { "\(self.directory)/untrusted-client.key" }

    /// A failed `openssl` step.
    public struct GenerationError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Generates the files into `directory` (which must exist).
    ///
    /// - Throws: ``GenerationError`` with openssl's stderr if a step fails, or `ProcessRunner.LaunchError`
    ///   if `openssl` is not installed (scripts/install-deps.sh installs it).
    public static func generate(in directory: String) throws -> TestCertificates {
        let certificates = TestCertificates(directory: directory)
        try certificates.makeCA(name: "ca", commonName: "Tributary Test CA")
        try certificates.makeCA(name: "other-ca", commonName: "Untrusted Test CA")
        try certificates.makeLeaf(
            name: "server", commonName: "localhost", signer: "ca",
            extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        try certificates.makeLeaf(
            name: "client", commonName: "tributary-client", signer: "ca", extensions: "extendedKeyUsage=clientAuth\n")
        try certificates.makeLeaf(
            name: "untrusted-client", commonName: "untrusted-client", signer: "other-ca",
            extensions: "extendedKeyUsage=clientAuth\n")
        return certificates
    }

    private static let keyOptions = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    private func makeCA(name: String, commonName: String) throws {
        try self.openssl(
            ["req", "-x509"] + Self.keyOptions + [
                "-keyout", "\(self.directory)/\(name).key", "-out", "\(self.directory)/\(name).pem", "-days", "2",
                "-subj", "/CN=\(commonName)", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
    }

    private func makeLeaf(name: String, commonName: String, signer: String, extensions: String) throws {
        let base = "\(self.directory)/\(name)"
        try self.openssl(
            ["req"] + Self.keyOptions + ["-keyout", "\(base).key", "-out", "\(base).csr", "-subj", "/CN=\(commonName)"])
        let extensionFile = "\(base).ext"
        try Data(("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" + extensions).utf8)
            .write(to: URL(fileURLWithPath: extensionFile))
        try self.openssl([
            "x509", "-req", "-in", "\(base).csr", "-CA", "\(self.directory)/\(signer).pem",
            "-CAkey", "\(self.directory)/\(signer).key", "-CAcreateserial", "-out", "\(base).pem", "-days", "2",
            "-extfile", extensionFile,
        ])
    }

    private func openssl(_ arguments: [String]) throws {
        let output = try ProcessRunner.run("openssl", arguments)
        guard output.succeeded else {
            throw GenerationError(
                description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed (\(output.exitCode)): \(output.stderr)")
        }
    }
}
