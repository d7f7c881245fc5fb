import KafkaBroker
import KafkaClient
import KafkaProtocol
import KafkaSecurity
import NIOSSL
import Testing
import TributaryTestSupport

/// TLS and SASL on client connections, against fake brokers whose server side is KafkaSecurity's
/// (NIOSSL server context, SASL server exchange).
@Suite("Client: TLS and SASL", .enabled(if: ProcessRunner.executablePath("openssl") != nil, "openssl is not installed"))
struct ConnectionSecurityTests {
    /// One test PKI for the whole suite (openssl takes a while).
    static let certificates: Result<TestCertificates, any Error> = Result {
        let directory = try TemporaryDirectory(prefix: "tributary-client-pki")
        return try TestCertificates.generate(in: directory.path)
    }

    static let users = ["collector": "s3cret pässword", "agent": "agent-password"]

    static func serverContext() throws -> NIOSSLContext {
        let certificates = try Self.certificates.get()
        return try KafkaTLSServerConfiguration(certificateFile: certificates.serverCertificate, keyFile: certificates.serverKey)
            .makeServerContext()
    }

    static func answersMetadata(_ request: FakeBrokerRequest) -> FakeBrokerReply {
        .respond(MetadataResponse(brokers: [.init(nodeId: 7, host: "127.0.0.1", port: 1)]))
    }

    static func configuration(_ address: KafkaBrokerAddress) -> KafkaClientConfiguration {
        ConnectionTests.configuration(address)
    }

    @Test("TLS with the broker's CA: requests go through")
    func tlsTrustedCA() async throws {
        let fake = try await FakeBroker.start(tls: try Self.serverContext(), script: Self.answersMetadata)
        defer { Task { await fake.stop() } }
        var configuration = Self.configuration(fake.address)
        configuration.tls = KafkaTLSConfiguration(caFile: try Self.certificates.get().caCertificate)
        let connection = try await KafkaBrokerConnection.connect(to: fake.address, configuration: configuration)
        defer { Task { await connection.close() } }
        let response = try await connection.send(MetadataRequest(topics: []))
        #expect(response.brokers.first?.nodeId == 7)
    }

    @Test("TLS to a broker whose CA is not trusted fails with authenticationFailed")
    func tlsUntrustedCA() async throws {
        let fake = try await FakeBroker.start(tls: try Self.serverContext(), script: Self.answersMetadata)
        defer { Task { await fake.stop() } }
        var configuration = Self.configuration(fake.address)
        configuration.tls = KafkaTLSConfiguration()  // the system trust store does not know the test CA
        await ConnectionTests.expectError(.authenticationFailed, containing: "TLS with broker \(fake.address) failed") {
            _ = try await KafkaBrokerConnection.connect(to: fake.address, configuration: configuration)
        }
    }

    @Test("a missing CA file is an invalidConfiguration naming the file")
    func tlsMissingFile() async throws {
        var configuration = KafkaClientConfiguration(bootstrapServers: [.init(host: "127.0.0.1", port: 9)])
        configuration.tls = KafkaTLSConfiguration(caFile: "/nonexistent/ca.pem")
        let cluster = KafkaCluster(configuration: configuration)
        await ConnectionTests.expectError(.invalidConfiguration, containing: "/nonexistent/ca.pem") {
            _ = try await cluster.metadata(topics: nil)
        }
        await cluster.shutdown()
    }

    @Test("SASL authenticates with every mechanism", arguments: KafkaSASLMechanism.allCases)
    func saslMechanisms(mechanism: KafkaSASLMechanism) async throws {
        let store = try KafkaSASLUserStore(mechanisms: KafkaSASLMechanism.allCases, users: Self.users)
        let fake = try await FakeBroker.start(users: store, script: Self.answersMetadata)
        defer { Task { await fake.stop() } }
        var configuration = Self.configuration(fake.address)
        configuration.sasl = KafkaSASLConfiguration(mechanism: mechanism, username: "collector", password: "s3cret pässword")
        let connection = try await KafkaBrokerConnection.connect(to: fake.address, configuration: configuration)
        defer { Task { await connection.close() } }
        _ = try await connection.send(MetadataRequest(topics: []))
        let sent = fake.received.map { "\($0.apiKey.name) v\($0.apiVersion)" }
        let rounds = mechanism == .plain ? 1 : 2
        #expect(sent == ["ApiVersions v3", "SaslHandshake v1"] + Array(repeating: "SaslAuthenticate v2", count: rounds) + ["Metadata v12"])
    }

    @Test("a wrong password fails with authenticationFailed and the broker's message", arguments: KafkaSASLMechanism.allCases)
    func saslWrongPassword(mechanism: KafkaSASLMechanism) async throws {
        let store = try KafkaSASLUserStore(mechanisms: KafkaSASLMechanism.allCases, users: Self.users)
        let fake = try await FakeBroker.start(users: store, script: Self.answersMetadata)
        defer { Task { await fake.stop() } }
        var configuration = Self.configuration(fake.address)
        configuration.sasl = KafkaSASLConfiguration(mechanism: mechanism, username: "collector", password: "wrong")
        await ConnectionTests.expectError(
            .authenticationFailed,
            containing: "SASL \(mechanism.kafkaName) authentication as \"collector\" to broker \(fake.address) failed: "
                + "SASL_AUTHENTICATION_FAILED: Authentication failed: invalid credentials for SASL user \"collector\""
        ) {
            _ = try await KafkaBrokerConnection.connect(to: fake.address, configuration: configuration)
        }
        #expect(!fake.received.contains { $0.apiKey == .metadata })
    }

    @Test("a mechanism the broker does not enable fails naming the ones it offers")
    func saslUnsupportedMechanism() async throws {
        let store = try KafkaSASLUserStore(mechanisms: [.scramSHA512], users: Self.users)
        let fake = try await FakeBroker.start(users: store, script: Self.answersMetadata)
        defer { Task { await fake.stop() } }
        var configuration = Self.configuration(fake.address)
        configuration.sasl = KafkaSASLConfiguration(mechanism: .plain, username: "agent", password: "agent-password")
        await ConnectionTests.expectError(.authenticationFailed, containing: "UNSUPPORTED_SASL_MECHANISM: the broker offers mechanisms: SCRAM-SHA-512") {
            _ = try await KafkaBrokerConnection.connect(to: fake.address, configuration: configuration)
        }
    }

    @Test("SASL over TLS through KafkaCluster")
    func saslOverTLSThroughCluster() async throws {
        let store = try KafkaSASLUserStore(mechanisms: [.scramSHA256], users: Self.users)
        let box = LateBinding<FakeBroker>()
        let fake = try await FakeBroker.start(nodeID: 1, tls: try Self.serverContext(), users: store) { _ in
            guard let fake = box.value else { return .close }
            return .respond(MetadataResponse(
                brokers: [.init(nodeId: 1, host: fake.address.host, port: Int32(fake.address.port))], controllerId: 1))
        }
        box.value = fake
        defer { Task { await fake.stop() } }
        var configuration = Self.configuration(fake.address)
        configuration.tls = KafkaTLSConfiguration(caFile: try Self.certificates.get().caCertificate)
        configuration.sasl = KafkaSASLConfiguration(mechanism: .scramSHA256, username: "agent", password: "agent-password")
        let cluster = KafkaCluster(configuration: configuration)
        let metadata = try await cluster.metadata(topics: [])
        #expect(metadata.brokers[1] == fake.address)
        let connection = try await cluster.connection(toNode: 1)
        _ = try await connection.send(MetadataRequest(topics: []))
        #expect(fake.received.filter { $0.apiKey == .saslHandshake }.count == 2, "bootstrap and node connection each authenticate")
        await cluster.shutdown()
    }
}

/// TLS and SASL against the embedded broker with those features turned on.
@Suite("Client: TLS and SASL against the embedded broker", .enabled(if: ProcessRunner.executablePath("openssl") != nil, "openssl is not installed"))
struct ConnectionSecurityEmbeddedTests {
    static func options(tls: Bool, mechanisms: [KafkaSASLMechanism]) throws -> EmbeddedBroker.Options {
        var options = EmbeddedBroker.Options(autoCreateTopics: false)
        if tls {
            let certificates = try ConnectionSecurityTests.certificates.get()
            options.tls = KafkaTLSServerConfiguration(certificateFile: certificates.serverCertificate, keyFile: certificates.serverKey)
        }
        if !mechanisms.isEmpty {
            options.sasl = KafkaBrokerSASLConfiguration(mechanisms: mechanisms, users: ConnectionSecurityTests.users)
        }
        return options
    }

    static func clientConfiguration(
        _ broker: EmbeddedBroker, tls: Bool, sasl: KafkaSASLConfiguration?
    ) throws -> KafkaClientConfiguration {
        var configuration = broker.clientConfiguration
        if tls { configuration.tls = KafkaTLSConfiguration(caFile: try ConnectionSecurityTests.certificates.get().caCertificate) }
        configuration.sasl = sasl
        return configuration
    }

    @Test("SASL (every mechanism) over TLS: admin requests go through", arguments: KafkaSASLMechanism.allCases)
    func saslOverTLS(mechanism: KafkaSASLMechanism) async throws {
        try await EmbeddedBroker.with(try Self.options(tls: true, mechanisms: KafkaSASLMechanism.allCases)) { broker in
            let sasl = KafkaSASLConfiguration(mechanism: mechanism, username: "collector", password: "s3cret pässword")
            let cluster = KafkaCluster(configuration: try Self.clientConfiguration(broker, tls: true, sasl: sasl))
            let admin = KafkaAdmin(cluster: cluster)
            try await admin.createTopic(name: "secure", partitions: 2)
            #expect(try await admin.listTopics() == ["secure"])
            await cluster.shutdown()
        }
    }

    @Test("SASL without TLS, and TLS without SASL")
    func saslPlaintextAndTLSOnly() async throws {
        try await EmbeddedBroker.with(try Self.options(tls: false, mechanisms: [.scramSHA512])) { broker in
            let sasl = KafkaSASLConfiguration(mechanism: .scramSHA512, username: "agent", password: "agent-password")
            let connection = try await KafkaBrokerConnection.connect(
                to: broker.address, configuration: try Self.clientConfiguration(broker, tls: false, sasl: sasl))
            _ = try await connection.send(MetadataRequest(topics: []))
            await connection.close()
        }
        try await EmbeddedBroker.with(try Self.options(tls: true, mechanisms: [])) { broker in
            let connection = try await KafkaBrokerConnection.connect(
                to: broker.address, configuration: try Self.clientConfiguration(broker, tls: true, sasl: nil))
            _ = try await connection.send(MetadataRequest(topics: []))
            await connection.close()
        }
    }

    @Test("a wrong password fails with authenticationFailed and the broker's message", arguments: KafkaSASLMechanism.allCases)
    func wrongPassword(mechanism: KafkaSASLMechanism) async throws {
        try await EmbeddedBroker.with(try Self.options(tls: true, mechanisms: KafkaSASLMechanism.allCases)) { broker in
            let sasl = KafkaSASLConfiguration(mechanism: mechanism, username: "collector", password: "not the password")
            let cluster = KafkaCluster(configuration: try Self.clientConfiguration(broker, tls: true, sasl: sasl))
            let error = await #expect(throws: KafkaClientError.self) { _ = try await cluster.metadata(topics: nil) }
            #expect(error?.kind == .authenticationFailed)
            #expect(error?.message.contains("SASL \(mechanism.kafkaName) authentication as \"collector\"") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("SASL_AUTHENTICATION_FAILED") == true, "\(error?.message ?? "")")
            await cluster.shutdown()
        }
    }
}
