import Testing

@testable import KafkaSecurity

/// Malformed SASL messages give a precise malformedMessage error, and random bytes never crash.
@Suite("SASL malformed messages")
struct SASLMalformedMessageTests {
    static func isMalformed(_ error: KafkaSASLError, mentioning fragment: String) -> Bool {
        guard case .malformedMessage(_, let reason) = error else { return false }
        return reason.contains(fragment)
    }

    @Test(
        "bad client-first messages",
        arguments: [
            ("", "GS2 header"),
            ("n,,", "attribute"),
            ("p=tls-unique,,n=u,r=abc", "channel binding"),
            ("n,,r=abc,n=u", "user name"),
            ("n,,n=u", "nonce"),
            ("n,,n=u,r=", "nonce"),
            ("n,,n=a=3Xb,r=abc", "invalid escape"),
            ("n,,n=a=,r=abc", "invalid escape"),
            ("n,,m=ext,n=u,r=abc", "mandatory"),
            ("n,a=other,n=u,r=abc", "authorization identity"),
            ("n,,n=u,r=a b", "nonce"),
        ])
    func clientFirst(message: String, fragment: String) throws {
        var server = SCRAMServer(algorithm: .sha256, credentials: { _ in nil })
        let error = #expect(throws: KafkaSASLError.self) { _ = try server.serverFirstMessage(clientFirst: Array(message.utf8)) }
        #expect(error.map { Self.isMalformed($0, mentioning: fragment) } == true, "\(String(describing: error))")
    }

    @Test("bad client-final messages", arguments: [
        ("c=biws,r=clientSERVER", "proof"),
        ("c=biws,r=clientSERVER,p=!!!!", "base64"),
        ("c=biws,r=clientSERVER,p=AAAA", "bytes"),
        ("c=eSws,r=clientSERVER,p=AAAA", "channel binding"),
        ("r=clientSERVER,c=biws,p=AAAA", "channel binding"),
    ])
    func clientFinal(message: String, fragment: String) throws {
        let credential = try SCRAMCredential(algorithm: .sha256, password: "pw")
        var server = SCRAMServer(algorithm: .sha256, credentials: { _ in credential }, nonce: "SERVER")
        _ = try server.serverFirstMessage(clientFirst: Array("n,,n=u,r=client".utf8))
        let error = #expect(throws: KafkaSASLError.self) { _ = try server.serverFinalMessage(clientFinal: Array(message.utf8)) }
        #expect(error.map { Self.isMalformed($0, mentioning: fragment) } == true, "\(String(describing: error))")
    }

    @Test("bad server-first messages", arguments: [
        ("s=AAAA,r=abcdef,i=4096", "nonce"),
        ("r=abcdef,s=***,i=4096", "base64"),
        ("r=abcdef,s=AAAA,i=many", "iteration count"),
        ("r=abcdef,s=AAAA,i=-5", "iteration count"),
        ("r=abcdef,s=,i=4096", "salt"),
        ("r=abcdef,s=AAAA", "iteration count"),
    ])
    func serverFirst(message: String, fragment: String) {
        var client = SCRAMClient(algorithm: .sha512, username: "u", password: "pw", nonce: "abc")
        _ = client.clientFirstMessage()
        let error = #expect(throws: KafkaSASLError.self) { _ = try client.clientFinalMessage(serverFirst: Array(message.utf8)) }
        #expect(error.map { Self.isMalformed($0, mentioning: fragment) } == true, "\(String(describing: error))")
    }

    @Test("PLAIN encodes and parses RFC 4616 messages")
    func plainRoundTrip() throws {
        let message = SASLPlainMessage(username: "tim", password: "tanstaaftanstaaf")
        #expect(message.encoded() == Array("\0tim\0tanstaaftanstaaf".utf8))
        #expect(try SASLPlainMessage(parsing: message.encoded()) == message)
        let withAuthz = try SASLPlainMessage(parsing: Array("Ursel\0Kurt\0xipj3plmq".utf8))
        #expect(withAuthz == SASLPlainMessage(authorizationID: "Ursel", username: "Kurt", password: "xipj3plmq"))
    }

    @Test("bad PLAIN messages", arguments: [
        ("", "3 NUL-separated fields"),
        ("\0user", "3 NUL-separated fields"),
        ("\0user\0pw\0extra", "3 NUL-separated fields"),
        ("\0\0pw", "user name is empty"),
        ("\0user\0", "password is empty"),
    ])
    func plainMalformed(message: String, fragment: String) {
        let error = #expect(throws: KafkaSASLError.self) { _ = try SASLPlainMessage(parsing: Array(message.utf8)) }
        #expect(error.map { Self.isMalformed($0, mentioning: fragment) } == true, "\(String(describing: error))")
    }

    @Test("PLAIN rejects invalid UTF-8 and over-long fields")
    func plainInvalidBytes() {
        #expect(throws: KafkaSASLError.self) { _ = try SASLPlainMessage(parsing: [0, 0xFF, 0xFE, 0, 0x41]) }
        let long = [UInt8](repeating: 0x61, count: 256)
        #expect(throws: KafkaSASLError.self) { _ = try SASLPlainMessage(parsing: [0] + long + [0, 0x41]) }
    }

    @Test("random and mutated tokens never crash the server exchange", arguments: KafkaSASLMechanism.allCases)
    func fuzz(mechanism: KafkaSASLMechanism) throws {
        let store = try KafkaSASLUserStore(mechanisms: [mechanism], users: ["u": "pw"])
        var generator = SystemRandomNumberGenerator()
        let seeds = [Array("n,,n=u,r=abc".utf8), Array("c=biws,r=abcXYZ,p=AAAA".utf8), Array("\0u\0pw".utf8)]
        for round in 0..<300 {
            var token = seeds[round % seeds.count]
            if round % 2 == 0 {
                token = (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else if !token.isEmpty {
                token[Int.random(in: 0..<token.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            var server = try KafkaSASLServerExchange(mechanism: mechanism, users: store)
            _ = try? server.respond(to: token)
            _ = try? server.respond(to: token)
        }
    }

    @Test("mechanism names parse case-insensitively")
    func mechanismNames() {
        #expect(KafkaSASLMechanism(kafkaName: "SCRAM-SHA-256") == .scramSHA256)
        #expect(KafkaSASLMechanism(kafkaName: "scram-sha-512") == .scramSHA512)
        #expect(KafkaSASLMechanism(kafkaName: "PLAIN") == .plain)
        #expect(KafkaSASLMechanism(kafkaName: "GSSAPI") == nil)
        #expect(KafkaSASLConfiguration(mechanism: .plain, username: "u", password: "secret").description.contains("secret") == false)
    }
}
