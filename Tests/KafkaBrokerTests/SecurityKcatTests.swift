import Foundation
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

/// kcat (librdkafka) and kafka-python against `tributary broker` with SASL and TLS on.
@Suite(
    "Security: kcat and kafka-python over SASL and TLS", .serialized,
    .enabled(if: BrokerTestHarness.commandExists("kcat") && BrokerTestHarness.commandExists("openssl"),
             "kcat or openssl is not installed"))
struct SecurityKcatTests {
    /// A temp directory with a users file and a test PKI.
    struct Fixture {
        let directory: TemporaryDirectory
        let certificates: TestCertificates
        var usersFile: String { directory.path + "/users.txt" }
        var data: String { directory.path + "/data" }

        init() throws {
            self.directory = try TemporaryDirectory(prefix: "tributary-security")
            try "# test users\nalice:wonderland\nbob:b:u:i:l:d:e:r\n".write(
                toFile: directory.path + "/users.txt", atomically: true, encoding: .utf8)
            self.certificates = try TestCertificates.generate(in: directory.path)
        }

        func sasl(_ mechanisms: [String]) -> [String] {
            mechanisms.flatMap { ["--sasl-mechanism", $0] } + ["--sasl-users", usersFile]
        }

        var tls: [String] {
            ["--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey]
        }
    }

    static func saslOptions(_ mechanism: String, user: String = "alice", password: String = "wonderland", ssl: Bool = false) -> [String] {
        [
            "-X", "security.protocol=\(ssl ? "SASL_SSL" : "SASL_PLAINTEXT")", "-X", "sasl.mechanisms=\(mechanism)",
            "-X", "sasl.username=\(user)", "-X", "sasl.password=\(password)",
        ]
    }

    /// Produces `count` lines to `topic` and consumes them back with the same client options.
    static func roundTrip(broker: BrokerProcess, topic: String, options: [String], count: Int = 200) async throws {
        let lines = (0..<count).map { "line \($0) of \(topic)" }
        let input = Data((lines.joined(separator: "\n") + "\n").utf8)
        let produced = try await KcatTests.kcat(
            ["-b", broker.bootstrap, "-P", "-t", topic, "-X", "acks=all"] + options, stdin: input, seconds: 30)
        #expect(produced.status == 0, "kcat -P failed: \(produced.stderr)\nbroker: \(broker.stderr)")
        let consumed = try await KcatTests.kcat(
            ["-b", broker.bootstrap, "-C", "-t", topic, "-e", "-o", "beginning", "-q"] + options, seconds: 30)
        #expect(consumed.status == 0, "kcat -C failed: \(consumed.stderr)\nbroker: \(broker.stderr)")
        KcatTests.expectSame(Array(KcatTests.split(consumed.stdout).dropLast()), lines.map { Array($0.utf8) }, topic)
    }

    /// `kcat -L` with `options`; returns whether it listed the broker, and its stderr.
    static func list(broker: BrokerProcess, options: [String]) async throws -> (ok: Bool, stderr: String) {
        let result = try await KcatTests.kcat(["-b", broker.bootstrap, "-L", "-m", "3"] + options, seconds: 20)
        return (result.status == 0 && result.stdoutString.contains("broker 0 at"), result.stderr)
    }

    @Test("SASL_PLAINTEXT: kcat produces and consumes with each mechanism; a wrong password fails, others go on",
          arguments: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
    func saslPlaintext(mechanism: String) async throws {
        let fixture = try Fixture()
        defer { fixture.directory.remove() }
        let broker = try await BrokerProcess(dataDirectory: fixture.data, extraArguments: fixture.sasl([mechanism]))
        let wrong = try await Self.list(broker: broker, options: Self.saslOptions(mechanism, password: "nope"))
        #expect(!wrong.ok)
        #expect(wrong.stderr.contains("Authentication failed"), "\(wrong.stderr)")
        try await Self.roundTrip(
            broker: broker, topic: "sasl-\(mechanism.lowercased())",
            options: Self.saslOptions(mechanism, user: "bob", password: "b:u:i:l:d:e:r"))
        #expect(broker.stderr.contains("SASL authentication succeeded"))
        #expect(broker.stderr.contains("authentication failed"))
        #expect(try await broker.stop() == 0, "\(broker.stderr)")
    }

    @Test("a client without SASL, or asking for a disabled mechanism, cannot use a SASL broker")
    func unauthenticatedClientsAreRefused() async throws {
        let fixture = try Fixture()
        defer { fixture.directory.remove() }
        let broker = try await BrokerProcess(dataDirectory: fixture.data, extraArguments: fixture.sasl(["SCRAM-SHA-512"]))
        #expect(try await Self.list(broker: broker, options: []).ok == false)
        let disabled = try await Self.list(broker: broker, options: Self.saslOptions("PLAIN"))
        #expect(!disabled.ok)
        #expect(broker.stderr.contains("before SASL authentication"), "\(broker.stderr)")
        #expect(broker.stderr.contains("mechanism \"PLAIN\""), "\(broker.stderr)")

        // A raw Produce as the first request: the connection closes without an answer.
        let client = try RawClient(port: broker.port)
        var frame = try KafkaFrame.encodeRequest(
            ProduceRequest(acks: -1, timeoutMs: 1000, topicData: []),
            header: KafkaRequestHeader(apiKey: .produce, apiVersion: 7, correlationId: 1, clientId: "raw"))
        try client.send(Array(frame.readBytes(length: frame.readableBytes) ?? []))
        #expect(client.waitUntilClosed())
        #expect(try await Self.list(broker: broker, options: Self.saslOptions("SCRAM-SHA-512")).ok)
        #expect(try await broker.stop() == 0, "\(broker.stderr)")
    }

    @Test("SSL: kcat verifies the broker against the CA; a client trusting another CA fails")
    func ssl() async throws {
        let fixture = try Fixture()
        defer { fixture.directory.remove() }
        let broker = try await BrokerProcess(dataDirectory: fixture.data, extraArguments: fixture.tls)
        let options = ["-X", "security.protocol=SSL", "-X", "ssl.ca.location=\(fixture.certificates.caCertificate)"]
        try await Self.roundTrip(broker: broker, topic: "over-tls", options: options)
        let untrusting = ["-X", "security.protocol=SSL", "-X", "ssl.ca.location=\(fixture.directory.path)/other-ca.pem"]
        #expect(try await Self.list(broker: broker, options: untrusting).ok == false)
        #expect(try await Self.list(broker: broker, options: []).ok == false)  // plaintext to a TLS port
        #expect(try await broker.stop() == 0, "\(broker.stderr)")
    }

    @Test("SASL_SSL with SCRAM-SHA-512")
    func saslSSL() async throws {
        let fixture = try Fixture()
        defer { fixture.directory.remove() }
        let broker = try await BrokerProcess(
            dataDirectory: fixture.data, extraArguments: fixture.tls + fixture.sasl(["SCRAM-SHA-512", "PLAIN"]))
        let options = Self.saslOptions("SCRAM-SHA-512", ssl: true) + ["-X", "ssl.ca.location=\(fixture.certificates.caCertificate)"]
        try await Self.roundTrip(broker: broker, topic: "sasl-ssl", options: options)
        #expect(try await broker.stop() == 0, "\(broker.stderr)")
    }

    @Test("--tls-client-ca requires a client certificate signed by that CA")
    func clientCertificateRequired() async throws {
        let fixture = try Fixture()
        defer { fixture.directory.remove() }
        let certs = fixture.certificates
        let broker = try await BrokerProcess(
            dataDirectory: fixture.data, extraArguments: fixture.tls + ["--tls-client-ca", certs.caCertificate])
        let base = ["-X", "security.protocol=SSL", "-X", "ssl.ca.location=\(certs.caCertificate)"]
        #expect(try await Self.list(broker: broker, options: base).ok == false)
        let untrusted = base + [
            "-X", "ssl.certificate.location=\(certs.untrustedClientCertificate)",
            "-X", "ssl.key.location=\(certs.untrustedClientKey)",
        ]
        #expect(try await Self.list(broker: broker, options: untrusted).ok == false)
        let trusted = base + [
            "-X", "ssl.certificate.location=\(certs.clientCertificate)", "-X", "ssl.key.location=\(certs.clientKey)",
        ]
        try await Self.roundTrip(broker: broker, topic: "mtls", options: trusted)
        #expect(broker.stderr.contains("TLS failed"), "\(broker.stderr)")
        #expect(try await broker.stop() == 0, "\(broker.stderr)")
    }

    static let pythonScram = """
        import sys
        from kafka import KafkaProducer, KafkaConsumer
        bootstrap, topic, password = sys.argv[1], sys.argv[2], sys.argv[3]
        auth = dict(security_protocol='SASL_PLAINTEXT', sasl_mechanism='SCRAM-SHA-256',
                    sasl_plain_username='alice', sasl_plain_password=password)
        p = KafkaProducer(bootstrap_servers=bootstrap, acks='all', **auth)
        for i in range(50):
            p.send(topic, value=b'scram %d' % i)
        p.flush(); p.close()
        c = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset='earliest',
                          enable_auto_commit=False, consumer_timeout_ms=20000, **auth)
        got = []
        for m in c:
            got.append(m.value)
            if len(got) == 50:
                break
        c.close()
        print("values", got == [b'scram %d' % i for i in range(50)])
        """

    @Test("kafka-python with SASL_PLAINTEXT and SCRAM-SHA-256 produces and consumes",
          .enabled(if: BrokerTestHarness.hasKafkaPython, "kafka-python is not installed"))
    func kafkaPythonScram() async throws {
        let fixture = try Fixture()
        defer { fixture.directory.remove() }
        let broker = try await BrokerProcess(dataDirectory: fixture.data, extraArguments: fixture.sasl(["SCRAM-SHA-256"]))
        let output = try await KafkaPythonTests.python(Self.pythonScram, [broker.bootstrap, "py-scram", "wonderland"], broker: broker)
        #expect(output.contains("values True"), "\(output)")
        #expect(try await broker.stop() == 0, "\(broker.stderr)")
    }

    @Test("tributary broker --sasl-users with a malformed file exits non-zero naming file and line")
    func malformedUsersFile() throws {
        let directory = try TemporaryDirectory(prefix: "tributary-security-cli")
        defer { directory.remove() }
        let path = directory.path + "/users.txt"
        try "alice:ok\n# fine\nno-colon-here\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try TributaryProcess.run(
            ["broker", "--listen", "127.0.0.1:0", "--data", directory.path + "/data",
             "--sasl-mechanism", "PLAIN", "--sasl-users", path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(path):3"), "\(result.stderr)")
        let unknown = try TributaryProcess.run(
            ["broker", "--data", directory.path + "/data", "--sasl-mechanism", "KERBEROS", "--sasl-users", path])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("KERBEROS"), "\(unknown.stderr)")
    }

    @Test("a missing TLS key file stops the broker with an error naming the file")
    func missingTLSFile() throws {
        let directory = try TemporaryDirectory(prefix: "tributary-security-cli")
        defer { directory.remove() }
        let result = try TributaryProcess.run(
            ["broker", "--listen", "127.0.0.1:0", "--data", directory.path + "/data",
             "--tls-cert", directory.path + "/cert.pem", "--tls-key", directory.path + "/key.pem"])
        #expect(result.status != 0)
        #expect(result.stderr.contains(directory.path + "/cert.pem"), "\(result.stderr)")
    }
}
