import KafkaBroker
import KafkaProtocol
import KafkaSecurity
import Logging
import NIOCore
import Testing
import TributaryTestSupport

/// SASL through the router, as the network layer calls it: one session per connection.
@Suite("Security: SASL request rules")
struct SecuritySASLRouterTests {
    static let users = ["alice": "wonderland", "bob": "builder"]

    /// A router whose handlers require SASL with `mechanisms`.
    static func withSASLRouter(
        mechanisms: [KafkaSASLMechanism] = KafkaSASLMechanism.allCases, _ body: (KafkaRequestRouter) async throws -> Void
    ) async throws {
        var logger = Logger(label: "test.broker")
        logger.logLevel = .critical
        let sasl = try BrokerSASLAuthenticator(
            configuration: KafkaBrokerSASLConfiguration(mechanisms: mechanisms, users: Self.users), logger: logger)
        let handlers = BrokerHandlers(
            identity: .init(host: "127.0.0.1", port: 9092), store: InMemoryLogStore(), groups: nil, sasl: sasl,
            logger: logger)
        try await body(KafkaRequestRouter(broker: handlers, logger: logger))
    }

    /// A request frame without its size prefix.
    static func frame<Request: KafkaRequestMessage>(_ request: Request, version: Int16) throws -> ByteBuffer {
        try BrokerTestHarness.requestFrame(request, version: version)
    }

    /// Sends `request` and decodes the response; records an issue (and throws) if the router did not answer.
    static func exchange<Request: KafkaRequestMessage>(
        _ router: KafkaRequestRouter, _ request: Request, version: Int16, on connection: KafkaConnectionInfo,
        expectClose: Bool = false
    ) async throws -> Request.Response {
        let outcome = await router.respond(to: try frame(request, version: version), on: connection)
        var buffer: ByteBuffer
        switch outcome {
        case .respond(let response) where !expectClose: buffer = response
        case .close(_, let response?) where expectClose: buffer = response
        default:
            Issue.record("unexpected outcome \(outcome)")
            throw CancellationError()
        }
        buffer.moveReaderIndex(forwardBy: 4)
        return try KafkaFrame.decodeResponse(Request.Response.self, version: version, frame: &buffer).1
    }

    /// Runs a full SaslHandshake v1 + SaslAuthenticate exchange; returns the last response.
    static func authenticate(
        _ router: KafkaRequestRouter, _ configuration: KafkaSASLConfiguration, on connection: KafkaConnectionInfo,
        authenticateVersion: Int16 = 1
    ) async throws -> SaslAuthenticateResponse {
        let handshake = try await exchange(
            router, SaslHandshakeRequest(mechanism: configuration.mechanism.kafkaName), version: 1, on: connection)
        #expect(handshake.errorCode == 0)
        var client = KafkaSASLClientExchange(configuration: configuration)
        var token: [UInt8]? = client.initialResponse()
        while let next = token {
            let outcome = await router.respond(
                to: try frame(SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: next)), version: authenticateVersion),
                on: connection)
            var buffer: ByteBuffer
            switch outcome {
            case .respond(let response), .close(_, let response?): buffer = response
            default:
                Issue.record("no SaslAuthenticate response: \(outcome)")
                throw CancellationError()
            }
            buffer.moveReaderIndex(forwardBy: 4)
            let response = try KafkaFrame.decodeResponse(
                SaslAuthenticateResponse.self, version: authenticateVersion, frame: &buffer
            ).1
            guard response.errorCode == 0 else { return response }
            token = try client.respond(to: response.authBytes.readableBytesView)
            if token == nil { return response }
        }
        throw CancellationError()
    }

    static func isClose(_ outcome: KafkaFrameOutcome) -> Bool {
        if case .close = outcome { return true }
        return false
    }

    @Test("every mechanism authenticates with SaslAuthenticate v0-v2, then other requests are served",
          arguments: KafkaSASLMechanism.allCases, [Int16(0), 1, 2])
    func authenticates(mechanism: KafkaSASLMechanism, version: Int16) async throws {
        try await Self.withSASLRouter { router in
            let connection = KafkaConnectionInfo(remoteAddress: nil, connectionNumber: 1)
            let response = try await Self.authenticate(
                router, KafkaSASLConfiguration(mechanism: mechanism, username: "alice", password: "wonderland"),
                on: connection, authenticateVersion: version)
            #expect(response.errorCode == 0)
            #expect(connection.session.authenticatedUser == "alice")
            let metadata = try await Self.exchange(router, MetadataRequest(topics: []), version: 4, on: connection)
            #expect(metadata.brokers.count == 1)
        }
    }

    @Test("a wrong password gets SASL_AUTHENTICATION_FAILED and a close; the message does not tell users apart",
          arguments: KafkaSASLMechanism.allCases)
    func wrongPassword(mechanism: KafkaSASLMechanism) async throws {
        try await Self.withSASLRouter { router in
            var messages: [String?] = []
            for user in ["alice", "nobody"] {
                let connection = KafkaConnectionInfo(remoteAddress: nil, connectionNumber: 2)
                let response = try await Self.authenticate(
                    router, KafkaSASLConfiguration(mechanism: mechanism, username: user, password: "guess"), on: connection)
                #expect(response.errorCode == KafkaErrorCode.saslAuthenticationFailed.rawValue)
                #expect(connection.session.authenticatedUser == nil)
                messages.append(response.errorMessage)
            }
            #expect(messages[0] == messages[1])
            #expect(messages[0]?.contains("Authentication failed") == true)
        }
    }

    @Test("before authentication only ApiVersions and the SASL APIs are answered")
    func unauthenticatedRequestsClose() async throws {
        try await Self.withSASLRouter { router in
            let connection = KafkaConnectionInfo(remoteAddress: nil, connectionNumber: 3)
            let versions = try await Self.exchange(router, ApiVersionsRequest(), version: 3, on: connection)
            #expect(versions.errorCode == 0)
            let produce = ProduceRequest(acks: -1, timeoutMs: 1000, topicData: [])
            let outcome = await router.respond(to: try Self.frame(produce, version: 7), on: connection)
            guard case .close(let reason, nil) = outcome else {
                Issue.record("expected a close without response, got \(outcome)")
                return
            }
            #expect(reason.contains("before SASL authentication"))
            // Half-way through (handshake done, no token yet) is still unauthenticated.
            let second = KafkaConnectionInfo(remoteAddress: nil, connectionNumber: 4)
            _ = try await Self.exchange(router, SaslHandshakeRequest(mechanism: "PLAIN"), version: 1, on: second)
            #expect(Self.isClose(await router.respond(to: try Self.frame(MetadataRequest(topics: []), version: 4), on: second)))
        }
    }

    @Test("SaslHandshake lists the enabled mechanisms; others get UNSUPPORTED_SASL_MECHANISM and a close")
    func unsupportedMechanism() async throws {
        try await Self.withSASLRouter(mechanisms: [.scramSHA512, .plain]) { router in
            let connection = KafkaConnectionInfo(remoteAddress: nil, connectionNumber: 5)
            for name in ["SCRAM-SHA-256", "GSSAPI"] {
                let response = try await Self.exchange(
                    router, SaslHandshakeRequest(mechanism: name), version: 1, on: connection, expectClose: true)
                #expect(response.errorCode == KafkaErrorCode.unsupportedSaslMechanism.rawValue)
                #expect(response.mechanisms == ["SCRAM-SHA-512", "PLAIN"])
            }
        }
    }

    @Test("SaslAuthenticate without a handshake, or a second handshake, is ILLEGAL_SASL_STATE")
    func illegalState() async throws {
        try await Self.withSASLRouter { router in
            let fresh = KafkaConnectionInfo(remoteAddress: nil, connectionNumber: 6)
            let response = try await Self.exchange(
                router, SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: [0, 97, 0, 98])), version: 1, on: fresh,
                expectClose: true)
            #expect(response.errorCode == KafkaErrorCode.illegalSaslState.rawValue)
            let authenticated = KafkaConnectionInfo(remoteAddress: nil, connectionNumber: 7)
            _ = try await Self.authenticate(
                router, KafkaSASLConfiguration(mechanism: .plain, username: "bob", password: "builder"), on: authenticated)
            let again = try await Self.exchange(
                router, SaslHandshakeRequest(mechanism: "PLAIN"), version: 1, on: authenticated, expectClose: true)
            #expect(again.errorCode == KafkaErrorCode.illegalSaslState.rawValue)
        }
    }

    @Test("SaslHandshake v0 is followed by raw size-prefixed tokens", arguments: KafkaSASLMechanism.allCases)
    func legacyRawTokens(mechanism: KafkaSASLMechanism) async throws {
        try await Self.withSASLRouter { router in
            let connection = KafkaConnectionInfo(remoteAddress: nil, connectionNumber: 8)
            let handshake = try await Self.exchange(
                router, SaslHandshakeRequest(mechanism: mechanism.kafkaName), version: 0, on: connection)
            #expect(handshake.errorCode == 0)
            var client = KafkaSASLClientExchange(
                configuration: KafkaSASLConfiguration(mechanism: mechanism, username: "bob", password: "builder"))
            var token: [UInt8]? = client.initialResponse()
            while let next = token {
                guard case .respond(var raw) = await router.respond(to: ByteBuffer(bytes: next), on: connection) else {
                    Issue.record("raw token not answered")
                    return
                }
                let size = raw.readInteger(as: Int32.self) ?? -1
                #expect(Int(size) == raw.readableBytes)
                token = try client.respond(to: raw.readableBytesView)
            }
            #expect(connection.session.authenticatedUser == "bob")
            // A wrong password in the raw flow closes the connection (it has no error response).
            let failing = KafkaConnectionInfo(remoteAddress: nil, connectionNumber: 9)
            _ = try await Self.exchange(router, SaslHandshakeRequest(mechanism: "PLAIN"), version: 0, on: failing)
            let outcome = await router.respond(to: ByteBuffer(bytes: Array("\0bob\0nope".utf8)), on: failing)
            #expect(Self.isClose(outcome))
        }
    }

    @Test("the users file parser names file and line")
    func usersFile() throws {
        let users = try SASLUsersFile.parse("# users\nalice:won:der:land\n\n  bob:builder  \n", path: "u.txt")
        #expect(users == ["alice": "won:der:land", "bob": "builder"])
        let cases: [(String, String)] = [
            ("alice:x\nbroken\n", "u.txt:2: expected user:password"),
            (":pw\n", "u.txt:1: empty user name"),
            ("a:x\n#\na:\n", "u.txt:3: empty password"),
            ("a:x\na:y\n", "u.txt:2: user \"a\" is listed twice"),
            ("# nothing\n", "u.txt: lists no users"),
        ]
        for (text, expected) in cases {
            let error = #expect(throws: SASLUsersFile.ParseError.self) { _ = try SASLUsersFile.parse(text, path: "u.txt") }
            #expect(error?.description.hasPrefix(expected) == true, "\(String(describing: error))")
        }
    }
}
