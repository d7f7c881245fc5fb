public import NIOSSL
import NIOCore

/// Client-side TLS settings for connections to brokers (`security.protocol=SSL` / `SASL_SSL`).
public struct KafkaTLSConfiguration: Sendable, Hashable {
    /// PEM file of the CA certificates that sign the brokers' certificates (`ssl.ca.location`);
    /// `nil` uses the system's trust store.
    public var caFile: String?
    /// PEM file of the client's certificate chain, for brokers that require client certificates.
    public var certificateFile: String?
    /// PEM file of the client certificate's private key (unencrypted).
    public var keyFile: String?
    /// The name to verify in the broker's certificate and to send as SNI; `nil` uses the broker's host
    /// (an IP address is then checked against the certificate's IP SANs, without SNI). NIOSSL also
    /// accepts a certificate whose IP SAN matches the connected address.
    public var serverName: String?
    /// Whether to verify the broker's certificate chain and name (`enable.ssl.certificate.verification`).
    public var verifyCertificates: Bool

    /// Creates client TLS settings.
    public init(
        caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil,
        verifyCertificates: Bool = true
    ) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.verifyCertificates = verifyCertificates
    }

    /// Loads the files into a client `NIOSSLContext` (build it once, share it across connections).
    ///
    /// - Throws: ``KafkaTLSError`` naming the file that is missing or invalid, or a certificate
    ///   given without its key (and vice versa).
    public func makeClientContext() throws(KafkaTLSError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = self.verifyCertificates ? .fullVerification : .none
        if let caFile {
            configuration.trustRoots = .certificates(try TLSFileLoader.certificates(caFile, role: "CA file"))
        }
        switch (self.certificateFile, self.keyFile) {
        case (nil, nil):
            break
        case (let certificateFile?, let keyFile?):
            configuration.certificateChain = try TLSFileLoader.certificates(certificateFile, role: "certificate file")
                .map { .certificate($0) }
            configuration.privateKey = .privateKey(try TLSFileLoader.privateKey(keyFile, role: "key file"))
        case (let certificateFile?, nil):
            throw KafkaTLSError("certificate file \(certificateFile) is given without a key file")
        case (nil, let keyFile?):
            throw KafkaTLSError("key file \(keyFile) is given without a certificate file")
        }
        let files = [self.caFile, self.certificateFile, self.keyFile].compactMap { $0 }
        return try TLSFileLoader.context(configuration, files: files.isEmpty ? "the system trust store" : files.joined(separator: ", "))
    }

    /// The host name to pass to `NIOSSLClientHandler(context:serverHostname:)` for a broker at
    /// `host`: ``serverName`` if set, else `host` unless it is an IP address (SNI cannot carry one;
    /// NIOSSL then verifies the IP against the certificate's IP SANs).
    public func serverHostname(forBrokerHost host: String) -> String? {
        if let serverName { return serverName }
        return Self.isIPAddress(host) ? nil : host
    }

    /// Whether `host` is an IPv4 or IPv6 literal.
    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

/// Server-side TLS settings for the broker's listener.
public struct KafkaTLSServerConfiguration: Sendable, Hashable {
    /// PEM file of the broker's certificate chain (leaf first).
    public var certificateFile: String
    /// PEM file of the certificate's private key (unencrypted).
    public var keyFile: String
    /// PEM file of the CA certificates that sign client certificates; when set, clients must
    /// present a certificate signed by one of them (`ssl.client.auth=required`).
    public var clientCAFile: String?

    /// Creates server TLS settings.
    public init(certificateFile: String, keyFile: String, clientCAFile: String? = nil) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
    }

    /// Whether clients must present a certificate.
    public var requiresClientCertificates: Bool { self.clientCAFile != nil }

    /// Loads the files into a server `NIOSSLContext`, shared by every connection of the listener.
    ///
    /// - Throws: ``KafkaTLSError`` naming the file that is missing or invalid.
    public func makeServerContext() throws(KafkaTLSError) -> NIOSSLContext {
        let chain = try TLSFileLoader.certificates(self.certificateFile, role: "certificate file").map {
            NIOSSLCertificateSource.certificate($0)
        }
        let key = NIOSSLPrivateKeySource.privateKey(try TLSFileLoader.privateKey(self.keyFile, role: "key file"))
        var configuration: TLSConfiguration
        if let clientCAFile {
            let roots = try TLSFileLoader.certificates(clientCAFile, role: "client CA file")
            configuration = .makeServerConfigurationWithMTLS(
                certificateChain: chain, privateKey: key, trustRoots: .certificates(roots))
            configuration.sendCANameList = true
        } else {
            configuration = .makeServerConfiguration(certificateChain: chain, privateKey: key)
        }
        configuration.minimumTLSVersion = .tlsv12
        let files = [self.certificateFile, self.keyFile] + [self.clientCAFile].compactMap { $0 }
        return try TLSFileLoader.context(configuration, files: files.joined(separator: ", "))
    }
}
