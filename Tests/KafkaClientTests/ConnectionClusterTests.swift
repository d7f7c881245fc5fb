@testable import KafkaClient
import KafkaProtocol
import Testing
import TributaryTestSupport

/// KafkaCluster's connection management against the embedded broker and fakes: bootstrap order,
/// one connection per node, reconnect after a restart, coordinator lookup, shutdown.
@Suite("Client: cluster connections")
struct ConnectionClusterTests {
    @Test("bootstrap skips a dead first address and uses the next")
    func bootstrapWithDeadFirstAddress() async throws {
        let dead = try await FakeBroker.start()
        let deadAddress = dead.address
        await dead.stop()
        try await EmbeddedBroker.with { broker in
            var configuration = broker.clientConfiguration
            configuration.bootstrapServers = [deadAddress, broker.address]
            let cluster = KafkaCluster(configuration: configuration)
            let metadata = try await cluster.metadata(topics: [])
            #expect(metadata.brokers.values.map(\.port) == [broker.address.port])
            await cluster.shutdown()
        }
    }

    @Test("no reachable bootstrap server fails with connectionFailed naming every address")
    func bootstrapAllDead() async throws {
        var addresses: [KafkaBrokerAddress] = []
        for _ in 0..<2 {
            let dead = try await FakeBroker.start()
            addresses.append(dead.address)
            await dead.stop()
        }
        var configuration = KafkaClientConfiguration(bootstrapServers: addresses)
        configuration.connectTimeout = .seconds(2)
        let cluster = KafkaCluster(configuration: configuration)
        let error = await #expect(throws: KafkaClientError.self) { _ = try await cluster.metadata(topics: nil) }
        #expect(error?.kind == .connectionFailed)
        let message = error?.message ?? ""
        #expect(message.contains("no broker reachable"), "\(message)")
        #expect(addresses.allSatisfy { message.contains("\($0)") }, "\(message)")
        await cluster.shutdown()
    }

    @Test("one connection per node, shared by concurrent callers")
    func oneConnectionPerNode() async throws {
        try await EmbeddedBroker.with { broker in
            let cluster = KafkaCluster(configuration: broker.clientConfiguration)
            let metadata = try await cluster.metadata(topics: [])
            let nodeID = try #require(metadata.brokers.keys.first)
            let connections = try await withThrowingTaskGroup(of: KafkaBrokerConnection.self) { group in
                for _ in 0..<20 { group.addTask { try await cluster.connection(toNode: nodeID) } }
                return try await group.reduce(into: [KafkaBrokerConnection]()) { $0.append($1) }
            }
            #expect(Set(connections.map(ObjectIdentifier.init)).count == 1)
            #expect(connections.first?.nodeID == nodeID)
            await cluster.shutdown()
        }
    }

    @Test("reconnects after the broker restarts")
    func reconnectAfterRestart() async throws {
        let broker = try await EmbeddedBroker.start()
        let cluster = KafkaCluster(configuration: broker.clientConfiguration)
        let nodeID = try #require(try await cluster.metadata(topics: []).brokers.keys.first)
        let first = try await cluster.connection(toNode: nodeID)
        _ = try await first.send(MetadataRequest(topics: []))

        try await broker.stop()
        try await waitUntil("the client sees the connection close") { !first.isActive }
        await ConnectionTests.expectError(.connectionFailed, containing: "cannot connect to broker") {
            _ = try await cluster.connection(toNode: nodeID)
        }

        let restarted = try await broker.restart()
        var second: KafkaBrokerConnection?
        try await waitUntil("the cluster reconnects") {
            second = try? await cluster.connection(toNode: nodeID)
            return second != nil
        }
        let reconnected = try #require(second)
        #expect(reconnected !== first)
        let response = try await reconnected.send(MetadataRequest(topics: []))
        #expect(response.brokers.first?.port == Int32(broker.address.port))
        await cluster.shutdown()
        try await restarted.stop()
        restarted.directory.remove()
    }

    @Test("finds the group coordinator of the embedded broker")
    func embeddedCoordinator() async throws {
        try await EmbeddedBroker.with { broker in
            let cluster = KafkaCluster(configuration: broker.clientConfiguration)
            let coordinator = try await cluster.coordinatorConnection(forGroup: "collectors")
            let nodeID = try #require(try await cluster.metadata(topics: []).brokers.keys.first)
            #expect(coordinator.nodeID == nodeID)
            await cluster.shutdown()
        }
    }

    @Test("after shutdown every call fails with shutdown")
    func shutdown() async throws {
        try await EmbeddedBroker.with { broker in
            let cluster = KafkaCluster(configuration: broker.clientConfiguration)
            let connection = try await cluster.anyConnection()
            await cluster.shutdown()
            try await waitUntil("the connection closes") { !connection.isActive }
            await ConnectionTests.expectError(.shutdown, containing: "shut down") {
                _ = try await cluster.metadata(topics: nil)
            }
        }
    }

    @Test("reconnect backoff doubles per failure up to the maximum")
    func backoffGrowth() {
        let delays = (1...8).map {
            KafkaReconnectBackoff.delay(base: .milliseconds(50), maximum: .seconds(1), failures: $0)
        }
        #expect(delays == [50, 100, 200, 400, 800, 1000, 1000, 1000].map { Duration.milliseconds($0) })
        // Jitter stays within ±20 % of the delay.
        let now = ContinuousClock.now
        for _ in 0..<100 {
            var backoff = KafkaReconnectBackoff(base: .milliseconds(100), maximum: .seconds(1))
            backoff.recordFailure(now: now)
            let wait = backoff.remainingDelay(now: now)
            #expect(wait >= .milliseconds(80) && wait <= .milliseconds(120), "\(wait)")
        }
    }
}
