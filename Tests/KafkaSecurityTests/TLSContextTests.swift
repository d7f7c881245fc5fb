import KafkaSecurity
import NIOCore
import NIOPosix
import NIOSSL
import Testing
import TributaryTestSupport

/// TLS contexts from PEM files, file errors, and real handshakes over loopback.
@Suite("TLS contexts")
struct TLSContextTests {
    /// Generated certificates in a temporary directory, removed after `body`.
    static func withCertificates(_ body: (TestCertificates) async throws -> Void) async throws {
        let directory = try TemporaryDirectory(prefix: "tls-test")
        defer { directory.remove() }
        try await body(try TestCertificates.generate(in: directory.path))
    }

    @Test("missing, garbage and half-given files produce errors naming the file")
    func fileErrors() async throws {
        try await Self.withCertificates { certs in
            let missing = "\(certs.directory)/nope.pem"
            let garbage = "\(certs.directory)/server.ext"
            func message(_ body: () throws -> Void) -> String {
                do { try body(); return "no error" } catch { return "\(error)" }
            }
            #expect(message { _ = try KafkaTLSConfiguration(caFile: missing).makeClientContext() }.contains(missing))
            #expect(message { _ = try KafkaTLSConfiguration(caFile: garbage).makeClientContext() }.contains(garbage))
            #expect(message {
                _ = try KafkaTLSConfiguration(caFile: certs.caCertificate, certificateFile: certs.clientCertificate)
                    .makeClientContext()
            }.contains("without a key file"))
            #expect(message {
                _ = try KafkaTLSServerConfiguration(certificateFile: certs.serverCertificate, keyFile: garbage)
                    .makeServerContext()
            }.contains(garbage))
            #expect(message {
                _ = try KafkaTLSServerConfiguration(
                    certificateFile: certs.serverCertificate, keyFile: certs.serverKey, clientCAFile: missing
                ).makeServerContext()
            }.contains(missing))
            // A key that does not belong to the certificate: BoringSSL complains, the files are named.
            #expect(message {
                _ = try KafkaTLSServerConfiguration(certificateFile: certs.serverCertificate, keyFile: certs.clientKey)
                    .makeServerContext()
            }.contains(certs.clientKey))
        }
    }

    @Test("server hostname: explicit name, DNS host, none for IP literals")
    func serverHostname() {
        #expect(KafkaTLSConfiguration().serverHostname(forBrokerHost: "127.0.0.1") == nil)
        #expect(KafkaTLSConfiguration().serverHostname(forBrokerHost: "::1") == nil)
        #expect(KafkaTLSConfiguration().serverHostname(forBrokerHost: "localhost") == "localhost")
        #expect(KafkaTLSConfiguration(serverName: "kafka.example").serverHostname(forBrokerHost: "127.0.0.1") == "kafka.example")
    }

    @Test("a client trusting the CA completes a handshake with the server, by IP and by name")
    func handshake() async throws {
        try await Self.withCertificates { certs in
            let server = try KafkaTLSServerConfiguration(certificateFile: certs.serverCertificate, keyFile: certs.serverKey)
            let client = KafkaTLSConfiguration(caFile: certs.caCertificate)
            #expect(try await TLSEcho.roundTrip(server: server, client: client, host: "127.0.0.1") == "ping")
            #expect(try await TLSEcho.roundTrip(server: server, client: client, host: "localhost") == "ping")
        }
    }

    @Test("a client that does not trust the server's CA fails; verification off connects anyway")
    func untrustedServer() async throws {
        try await Self.withCertificates { certs in
            let server = try KafkaTLSServerConfiguration(certificateFile: certs.serverCertificate, keyFile: certs.serverKey)
            // Trusting only the other CA: the server's chain does not verify.
            let wrongCA = KafkaTLSConfiguration(caFile: "\(certs.directory)/other-ca.pem")
            #expect(try await TLSEcho.roundTrip(server: server, client: wrongCA, host: "127.0.0.1") == nil)
            let unverified = KafkaTLSConfiguration(caFile: "\(certs.directory)/other-ca.pem", verifyCertificates: false)
            #expect(try await TLSEcho.roundTrip(server: server, client: unverified, host: "127.0.0.1") == "ping")
        }
    }

    @Test("with a client CA the server requires a client certificate signed by it")
    func clientCertificates() async throws {
        try await Self.withCertificates { certs in
            let server = try KafkaTLSServerConfiguration(
                certificateFile: certs.serverCertificate, keyFile: certs.serverKey, clientCAFile: certs.caCertificate)
            #expect(server.requiresClientCertificates)
            let withCertificate = KafkaTLSConfiguration(
                caFile: certs.caCertificate, certificateFile: certs.clientCertificate, keyFile: certs.clientKey)
            #expect(try await TLSEcho.roundTrip(server: server, client: withCertificate, host: "127.0.0.1") == "ping")
            let without = KafkaTLSConfiguration(caFile: certs.caCertificate)
            #expect(try await TLSEcho.roundTrip(server: server, client: without, host: "127.0.0.1") == nil)
            let untrusted = KafkaTLSConfiguration(
                caFile: certs.caCertificate, certificateFile: certs.untrustedClientCertificate,
                keyFile: certs.untrustedClientKey)
            #expect(try await TLSEcho.roundTrip(server: server, client: untrusted, host: "127.0.0.1") == nil)
        }
    }
}

/// A one-connection TLS echo over loopback.
enum TLSEcho {
    /// Connects through TLS, sends "ping" and returns what came back, or `nil` if TLS failed.
    static func roundTrip(
        server: KafkaTLSServerConfiguration, client: KafkaTLSConfiguration, host: String
    ) async throws -> String? {
        let serverContext = try server.makeServerContext()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: serverContext))
                    try channel.pipeline.syncOperations.addHandler(EchoHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { listener.close(promise: nil) }
        let port = try #require(listener.localAddress?.port)
        let clientContext = try client.makeClientContext()
        let hostname = client.serverHostname(forBrokerHost: host)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: clientContext, serverHostname: hostname))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        do {
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "ping"))
                var received = ""
                for try await chunk in inbound {
                    received += String(buffer: chunk)
                    if received.count >= 4 { break }
                }
                return received.isEmpty ? nil : received
            }
        } catch {
            // The handshake failed (an NIOSSLError), or the peer closed the connection after its alert.
            return nil
        }
    }
}

/// Writes back whatever it reads.
final class EchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
