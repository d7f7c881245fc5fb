import KafkaBroker
import KafkaClient
import KafkaProtocol
import Testing

/// KafkaBrokerConnection: connect, version negotiation, pipelining, timeouts, disconnects.
@Suite("Client: connection")
struct ConnectionTests {
    static func configuration(_ address: KafkaBrokerAddress, requestTimeout: Duration = .seconds(10)) -> KafkaClientConfiguration {
        var configuration = KafkaClientConfiguration(bootstrapServers: [address])
        configuration.connectTimeout = .seconds(5)
        configuration.requestTimeout = requestTimeout
        return configuration
    }

    static func expectError(
        _ kind: KafkaClientError.Kind, containing text: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> Void
    ) async {
        do {
            try await body()
            Issue.record("expected a \(kind) error", sourceLocation: sourceLocation)
        } catch let error as KafkaClientError {
            #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
            #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected a KafkaClientError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("connects to the embedded broker, negotiates versions and sends Metadata")
    func embeddedBrokerRoundTrip() async throws {
        try await EmbeddedBroker.with { broker in
            let connection = try await KafkaBrokerConnection.connect(
                to: broker.address, configuration: broker.clientConfiguration)
            defer { Task { await connection.close() } }
            // Broker advertises Metadata 0...13 and Fetch 4...12; the client caps both at 12.
            #expect(try connection.version(for: MetadataRequest.self) == 12)
            #expect(try connection.version(for: FetchRequest.self) == 12)
            #expect(try connection.version(for: ProduceRequest.self) == 12)
            let response = try await connection.send(MetadataRequest(topics: []))
            #expect(response.brokers.map(\.port) == [Int32(broker.address.port)])
            #expect(connection.nodeID == nil)
            #expect(connection.address == broker.address)
        }
    }

    @Test("negotiation picks the lower of both maxima and refuses disjoint ranges")
    func negotiationPicksMinimumOfMaxima() async throws {
        let fake = try await FakeBroker.start()
        defer { Task { await fake.stop() } }
        fake.setAdvertisedVersions([
            .init(apiKey: KafkaAPIKey.apiVersions.rawValue, minVersion: 0, maxVersion: 3),
            .init(apiKey: KafkaAPIKey.metadata.rawValue, minVersion: 0, maxVersion: 5),
            .init(apiKey: KafkaAPIKey.fetch.rawValue, minVersion: 4, maxVersion: 7),
            .init(apiKey: KafkaAPIKey.produce.rawValue, minVersion: 3, maxVersion: 30),
            .init(apiKey: KafkaAPIKey.listOffsets.rawValue, minVersion: 11, maxVersion: 14),
        ])
        let connection = try await KafkaBrokerConnection.connect(to: fake.address, configuration: Self.configuration(fake.address))
        defer { Task { await connection.close() } }
        #expect(try connection.version(for: MetadataRequest.self) == 5)
        #expect(try connection.version(for: FetchRequest.self) == 7)
        #expect(try connection.version(for: ProduceRequest.self) == 12)
        await Self.expectError(.unsupportedVersion, containing: "ListOffsets versions 11...14") {
            _ = try connection.version(for: ListOffsetsRequest.self)
        }
        await Self.expectError(.unsupportedVersion, containing: "does not support CreateTopics") {
            _ = try connection.version(for: CreateTopicsRequest.self)
        }
        #expect(fake.received.map(\.apiVersion) == [3])
    }

    @Test("ApiVersions falls back to v0 when the broker answers UNSUPPORTED_VERSION")
    func apiVersionsFallback() async throws {
        let fake = try await FakeBroker.start()
        defer { Task { await fake.stop() } }
        var versions = BrokerAPIVersions.advertisedList
        versions.removeAll { $0.apiKey == KafkaAPIKey.apiVersions.rawValue }
        versions.append(.init(apiKey: KafkaAPIKey.apiVersions.rawValue, minVersion: 0, maxVersion: 2))
        fake.setAdvertisedVersions(versions, apiVersionsMaxVersion: 2)
        let connection = try await KafkaBrokerConnection.connect(to: fake.address, configuration: Self.configuration(fake.address))
        defer { Task { await connection.close() } }
        #expect(fake.received.map(\.apiVersion) == [3, 0])
        #expect(fake.received.allSatisfy { $0.apiKey == .apiVersions })
        #expect(try connection.version(for: MetadataRequest.self) == 12)
    }

    @Test("pipelines concurrent requests on one connection against the embedded broker")
    func pipeliningAgainstEmbeddedBroker() async throws {
        try await EmbeddedBroker.with { broker in
            let connection = try await KafkaBrokerConnection.connect(to: broker.address, configuration: broker.clientConfiguration)
            defer { Task { await connection.close() } }
            let count = 200
            let names = try await withThrowingTaskGroup(of: [String].self) { group in
                for index in 0..<count {
                    group.addTask {
                        let topic = "pipelined-\(index)"
                        let request = MetadataRequest(topics: [.init(name: topic)], allowAutoTopicCreation: false)
                        let response = try await connection.send(request)
                        return response.topics.compactMap(\.name)
                    }
                }
                return try await group.reduce(into: [[String]]()) { $0.append($1) }
            }
            #expect(names.count == count)
            #expect(Set(names.map { $0.first ?? "" }) == Set((0..<count).map { "pipelined-\($0)" }))
        }
    }

    @Test("responses answered out of order reach the request with their correlation id")
    func outOfOrderResponses() async throws {
        let fake = try await FakeBroker.start { request in
            guard case .metadata(let metadata) = request.request, let name = metadata.topics?.first?.name else { return .close }
            return .hold(MetadataResponse(topics: [.init(name: name)]))
        }
        defer { Task { await fake.stop() } }
        let connection = try await KafkaBrokerConnection.connect(to: fake.address, configuration: Self.configuration(fake.address))
        defer { Task { await connection.close() } }
        let count = 50
        try await withThrowingTaskGroup(of: (String, String?).self) { group in
            for index in 0..<count {
                group.addTask {
                    let topic = "topic-\(index)"
                    let response = try await connection.send(MetadataRequest(topics: [.init(name: topic)]))
                    return (topic, response.topics.first?.name)
                }
            }
            // All requests are in flight at once before any is answered; then answered last-first.
            try await waitUntil("\(count) responses are held") { fake.heldCount == count }
            fake.releaseHeld(reversed: true)
            var answered = 0
            for try await (asked, got) in group {
                #expect(asked == got)
                answered += 1
            }
            #expect(answered == count)
        }
        let ids = fake.received.filter { $0.apiKey == .metadata }.map(\.correlationId)
        #expect(Set(ids).count == count, "every request has its own correlation id")
    }

    @Test("sendWithoutResponse writes the request and leaves the pipeline in step")
    func sendWithoutResponse() async throws {
        let fake = try await FakeBroker.start { request in
            if case .produce = request.request { return .drop }  // acks=0: brokers send nothing
            return .respond(MetadataResponse())
        }
        defer { Task { await fake.stop() } }
        let connection = try await KafkaBrokerConnection.connect(to: fake.address, configuration: Self.configuration(fake.address))
        defer { Task { await connection.close() } }
        try await connection.sendWithoutResponse(ProduceRequest(acks: 0, timeoutMs: 1000, topicData: []))
        _ = try await connection.send(MetadataRequest(topics: []))
        #expect(fake.received.map(\.apiKey) == [.apiVersions, .produce, .metadata])
        #expect(fake.received[1].apiVersion == 12)
    }

    @Test("a request without an answer times out and closes the connection")
    func requestTimeout() async throws {
        let fake = try await FakeBroker.start { _ in .drop }
        defer { Task { await fake.stop() } }
        let connection = try await KafkaBrokerConnection.connect(
            to: fake.address, configuration: Self.configuration(fake.address, requestTimeout: .milliseconds(200)))
        let started = ContinuousClock.now
        await Self.expectError(.timedOut, containing: "Metadata v12 request to broker \(fake.address) got no response within 200 ms") {
            _ = try await connection.send(MetadataRequest(topics: []))
        }
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        try await waitUntil("the connection is closed") { !connection.isActive }
        await Self.expectError(.disconnected, containing: "timed out") {
            _ = try await connection.send(MetadataRequest(topics: []))
        }
    }

    @Test("a disconnect fails every pending request and later sends")
    func disconnectFailsPending() async throws {
        let fake = try await FakeBroker.start { _ in .hold(MetadataResponse()) }
        defer { Task { await fake.stop() } }
        let connection = try await KafkaBrokerConnection.connect(to: fake.address, configuration: Self.configuration(fake.address))
        try await withThrowingTaskGroup(of: KafkaClientError?.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    do {
                        _ = try await connection.send(MetadataRequest(topics: []))
                        return nil
                    } catch {
                        return error as? KafkaClientError
                    }
                }
            }
            try await waitUntil("3 requests are pending") { fake.heldCount == 3 }
            fake.closeConnections()
            for try await error in group {
                #expect(error?.kind == .disconnected, "\(String(describing: error))")
                #expect(error?.message.contains("connection to broker \(fake.address) closed") == true)
            }
        }
        #expect(!connection.isActive)
        await Self.expectError(.disconnected, containing: "\(fake.address)") {
            _ = try await connection.send(MetadataRequest(topics: []))
        }
    }

    @Test("a response frame above the maximum size closes the connection with a protocol error")
    func oversizedFrame() async throws {
        let fake = try await FakeBroker.start { _ in
            .respond(MetadataResponse(topics: (0..<100).map { .init(name: "a-rather-long-topic-name-\($0)") }))
        }
        defer { Task { await fake.stop() } }
        var configuration = Self.configuration(fake.address)
        configuration.maximumResponseBytes = 1024
        let connection = try await KafkaBrokerConnection.connect(to: fake.address, configuration: configuration)
        await Self.expectError(.protocolError, containing: "exceeds the maximum of 1024 bytes") {
            _ = try await connection.send(MetadataRequest(topics: []))
        }
    }

    @Test("connecting to a closed port fails with connectionFailed naming the address")
    func connectFailure() async throws {
        let fake = try await FakeBroker.start()
        let address = fake.address
        await fake.stop()
        await Self.expectError(.connectionFailed, containing: "cannot connect to broker \(address)") {
            _ = try await KafkaBrokerConnection.connect(to: address, configuration: Self.configuration(address))
        }
    }

    @Test("broker addresses parse host:port lists and reject bad input")
    func addressParsing() throws {
        #expect(try KafkaBrokerAddress.parseList("a:1, b:9092,[::1]:9093") == [
            .init(host: "a", port: 1), .init(host: "b", port: 9092), .init(host: "::1", port: 9093),
        ])
        #expect(KafkaBrokerAddress(host: "::1", port: 9093).description == "[::1]:9093")
        for bad in ["host", "host:", ":9092", "host:0", "host:70000", "::1:9092", "[::1]9092", ""] {
            #expect(throws: KafkaClientError.self, "\(bad)") { _ = try KafkaBrokerAddress.parseList(bad) }
        }
    }
}
