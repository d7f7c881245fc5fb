import Testing

@testable import KafkaSecurity

/// Client ↔ server SCRAM exchanges through the mechanism-independent exchange types.
@Suite("SCRAM exchanges")
struct SCRAMExchangeTests {
    static let users = ["alice": "wonderland", "we=ird,name": "p,a=ss", "bob": "builder"]

    /// Runs a whole exchange; returns the server's authenticated user.
    static func authenticate(
        _ configuration: KafkaSASLConfiguration, store: KafkaSASLUserStore
    ) throws(KafkaSASLError) -> String? {
        var client = KafkaSASLClientExchange(configuration: configuration)
        var server = try KafkaSASLServerExchange(mechanism: configuration.mechanism, users: store)
        var token: [UInt8]? = client.initialResponse()
        var rounds = 0
        while let clientToken = token {
            rounds += 1
            guard rounds < 5 else { throw .unexpectedMessage("too many rounds") }
            let step = try server.respond(to: clientToken)
            token = try client.respond(to: step.token)
            #expect(step.isComplete == (token == nil))
        }
        #expect(client.isComplete)
        return server.authenticatedUser
    }

    @Test("every mechanism authenticates every user, including escaped names", arguments: KafkaSASLMechanism.allCases)
    func roundTrip(mechanism: KafkaSASLMechanism) throws {
        let store = try KafkaSASLUserStore(mechanisms: [mechanism], users: Self.users)
        for (user, password) in Self.users {
            let configuration = KafkaSASLConfiguration(mechanism: mechanism, username: user, password: password)
            #expect(try Self.authenticate(configuration, store: store) == user)
        }
    }

    @Test("a wrong password fails with invalidCredentials", arguments: KafkaSASLMechanism.allCases)
    func wrongPassword(mechanism: KafkaSASLMechanism) throws {
        let store = try KafkaSASLUserStore(mechanisms: [mechanism], users: Self.users)
        let configuration = KafkaSASLConfiguration(mechanism: mechanism, username: "alice", password: "looking-glass")
        #expect(throws: KafkaSASLError.invalidCredentials(user: "alice")) {
            try Self.authenticate(configuration, store: store)
        }
    }

    @Test("an unknown user fails with unknownUser", arguments: KafkaSASLMechanism.allCases)
    func unknownUser(mechanism: KafkaSASLMechanism) throws {
        let store = try KafkaSASLUserStore(mechanisms: [mechanism], users: Self.users)
        let configuration = KafkaSASLConfiguration(mechanism: mechanism, username: "mallory", password: "x")
        #expect(throws: KafkaSASLError.unknownUser("mallory")) { try Self.authenticate(configuration, store: store) }
    }

    @Test("a mechanism that is not enabled is refused")
    func disabledMechanism() throws {
        let store = try KafkaSASLUserStore(mechanisms: [.scramSHA512], users: Self.users)
        #expect(store.scramCredential(user: "alice", algorithm: .sha256) == nil)
        #expect(throws: KafkaSASLError.unsupportedMechanism("PLAIN")) {
            _ = try KafkaSASLServerExchange(mechanism: .plain, users: store)
        }
    }

    @Test("SHA-256 credentials do not verify a SHA-512 exchange")
    func algorithmMismatch() throws {
        let credential = try SCRAMCredential(algorithm: .sha256, password: "pw")
        var server = SCRAMServer(algorithm: .sha512, credentials: { _ in credential })
        var client = SCRAMClient(algorithm: .sha512, username: "u", password: "pw")
        #expect(throws: KafkaSASLError.unknownUser("u")) {
            _ = try server.serverFirstMessage(clientFirst: client.clientFirstMessage())
        }
    }

    @Test("the client refuses a server nonce that does not extend its own")
    func nonceMismatchAtClient() throws {
        var client = SCRAMClient(algorithm: .sha256, username: "u", password: "pw", nonce: "abc")
        _ = client.clientFirstMessage()
        #expect(throws: KafkaSASLError.nonceMismatch) {
            _ = try client.clientFinalMessage(serverFirst: Array("r=xyzdef,s=c2FsdA==,i=4096".utf8))
        }
    }

    @Test("the server refuses a client-final nonce other than the combined one")
    func nonceMismatchAtServer() throws {
        let credential = try SCRAMCredential(algorithm: .sha256, password: "pw")
        var server = SCRAMServer(algorithm: .sha256, credentials: { _ in credential }, nonce: "SERVER")
        _ = try server.serverFirstMessage(clientFirst: Array("n,,n=u,r=client".utf8))
        #expect(throws: KafkaSASLError.nonceMismatch) {
            _ = try server.serverFinalMessage(clientFinal: Array("c=biws,r=clientOTHER,p=AAAA".utf8))
        }
        #expect(server.authenticatedUser == nil)
    }

    @Test("the client refuses fewer than 4096 iterations; credentials need at least 4096")
    func tooFewIterations() throws {
        var client = SCRAMClient(algorithm: .sha512, username: "u", password: "pw", nonce: "abc")
        _ = client.clientFirstMessage()
        #expect(throws: KafkaSASLError.tooFewIterations(4095, minimum: 4096)) {
            _ = try client.clientFinalMessage(serverFirst: Array("r=abcdef,s=c2FsdA==,i=4095".utf8))
        }
        #expect(throws: KafkaSASLError.tooFewIterations(1, minimum: 4096)) {
            _ = try SCRAMCredential(algorithm: .sha256, password: "pw", iterations: 1)
        }
    }

    @Test("a server error attribute surfaces as serverError")
    func serverError() throws {
        var client = SCRAMClient(algorithm: .sha256, username: "u", password: "pw", nonce: "abc")
        _ = client.clientFirstMessage()
        #expect(throws: KafkaSASLError.serverError("unknown-user")) {
            _ = try client.clientFinalMessage(serverFirst: Array("e=unknown-user".utf8))
        }
    }

    @Test("messages out of order are unexpected, not crashes")
    func outOfOrder() throws {
        var client = SCRAMClient(algorithm: .sha256, username: "u", password: "pw")
        #expect(throws: KafkaSASLError.self) { try client.verifyServerFinal(Array("v=AAAA".utf8)) }
        #expect(throws: KafkaSASLError.self) { _ = try client.clientFinalMessage(serverFirst: Array("r=x,s=AAAA,i=4096".utf8)) }
        var server = SCRAMServer(algorithm: .sha256, credentials: { _ in nil })
        #expect(throws: KafkaSASLError.self) { _ = try server.serverFinalMessage(clientFinal: Array("c=biws,r=x,p=AAAA".utf8)) }
    }
}
