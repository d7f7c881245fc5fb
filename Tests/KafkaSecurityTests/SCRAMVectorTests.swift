import Testing

@testable import KafkaSecurity

/// The SCRAM-SHA-256 example exchange of RFC 7677 §3 (user "user", password "pencil").
@Suite("SCRAM RFC 7677 vector")
struct SCRAMVectorTests {
    static let clientNonce = "rOprNGfwEbeRWgbNEkqO"
    static let serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    static let clientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    static let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    static let clientFinal =
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    static let serverFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

    @Test("client produces the RFC's client-first and client-final and accepts its server-final")
    func clientSide() throws {
        var client = SCRAMClient(algorithm: .sha256, username: "user", password: "pencil", nonce: Self.clientNonce)
        #expect(String(decoding: client.clientFirstMessage(), as: UTF8.self) == Self.clientFirst)
        let final = try client.clientFinalMessage(serverFirst: Array(Self.serverFirst.utf8))
        #expect(String(decoding: final, as: UTF8.self) == Self.clientFinal)
        #expect(!client.isComplete)
        try client.verifyServerFinal(Array(Self.serverFinal.utf8))
        #expect(client.isComplete)
    }

    @Test("server produces the RFC's server-first and server-final for the RFC's client messages")
    func serverSide() throws {
        let salt = try #require(Base64.decode("W22ZaJ0SNY7soEsUEjb6gQ=="))
        let credential = try SCRAMCredential(algorithm: .sha256, password: "pencil", salt: salt, iterations: 4096)
        var server = SCRAMServer(algorithm: .sha256, credentials: { $0 == "user" ? credential : nil }, nonce: Self.serverNonce)
        let first = try server.serverFirstMessage(clientFirst: Array(Self.clientFirst.utf8))
        #expect(String(decoding: first, as: UTF8.self) == Self.serverFirst)
        #expect(server.authenticatedUser == nil)
        let final = try server.serverFinalMessage(clientFinal: Array(Self.clientFinal.utf8))
        #expect(String(decoding: final, as: UTF8.self) == Self.serverFinal)
        #expect(server.authenticatedUser == "user")
    }

    @Test("a tampered server signature is rejected")
    func tamperedServerSignature() throws {
        var client = SCRAMClient(algorithm: .sha256, username: "user", password: "pencil", nonce: Self.clientNonce)
        _ = client.clientFirstMessage()
        _ = try client.clientFinalMessage(serverFirst: Array(Self.serverFirst.utf8))
        #expect(throws: KafkaSASLError.invalidServerSignature) {
            try client.verifyServerFinal(Array("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8))
        }
        #expect(!client.isComplete)
    }

    @Test("base64 round-trips every length and rejects bad input")
    func base64() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<40 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("n,,".utf8)) == "biws")
        for bad in ["abc", "ab=c", "a===", "ab!d", "=abc", "ab=="+"x"] {
            #expect(Base64.decode(bad) == nil, "\(bad)")
        }
    }
}
