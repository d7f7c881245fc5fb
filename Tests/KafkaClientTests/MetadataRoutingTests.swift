import KafkaClient
import KafkaProtocol
import Testing

/// KafkaCluster's metadata against a 3-node fake cluster: routing to leaders, the cache, a leader
/// move answered with NOT_LEADER_OR_FOLLOWER, and the coordinator cache.
@Suite("Client: metadata routing")
struct MetadataRoutingTests {
    static let topic = "logs"

    /// Each node answers ListOffsets for partitions it leads with offset `node * 100 + partition`,
    /// and NOT_LEADER_OR_FOLLOWER for the others.
    static func startCluster() async throws -> FakeCluster {
        let box = LateBinding<FakeCluster>()
        let cluster = try await FakeCluster.start(nodes: 3, leaders: [topic: [1, 2, 3]]) { request in
            guard case .listOffsets(let listOffsets) = request.request, let cluster = box.value else { return .close }
            let topics = listOffsets.topics.map { topic in
                ListOffsetsResponse.ListOffsetsTopicResponse(
                    name: topic.name,
                    partitions: topic.partitions.map { partition in
                        let leads = cluster.leader(topic: topic.name, partition: partition.partitionIndex) == request.nodeID
                        return .init(
                            partitionIndex: partition.partitionIndex,
                            errorCode: leads ? 0 : KafkaErrorCode.notLeaderOrFollower.rawValue,
                            offset: leads ? Int64(request.nodeID) * 100 + Int64(partition.partitionIndex) : -1)
                    })
            }
            return .respond(ListOffsetsResponse(topics: topics))
        }
        box.value = cluster
        return cluster
    }

    static func configuration(_ fakes: FakeCluster) -> KafkaClientConfiguration {
        var configuration = KafkaClientConfiguration(bootstrapServers: [fakes.addresses[0]])
        configuration.requestTimeout = .seconds(5)
        configuration.reconnectBackoff = .milliseconds(10)
        return configuration
    }

    /// Asks the leader of `partition` for its offset, as a producer or consumer routes: cached
    /// metadata, and on NOT_LEADER_OR_FOLLOWER invalidate and try again.
    static func offset(
        of partition: Int32, cluster: KafkaCluster
    ) async throws -> (offset: Int64, attempts: Int) {
        for attempt in 1...3 {
            let metadata = try await cluster.metadata(topics: [topic])
            let leader = try #require(metadata.leader(topic: topic, partition: partition))
            let connection = try await cluster.connection(toNode: leader)
            let request = ListOffsetsRequest(
                replicaId: -1, topics: [.init(name: topic, partitions: [.init(partitionIndex: partition, timestamp: -1)])])
            let response = try await connection.send(request)
            let answer = try #require(response.topics.first?.partitions.first)
            if answer.errorCode == KafkaErrorCode.notLeaderOrFollower.rawValue {
                await cluster.invalidateMetadata()
                continue
            }
            #expect(answer.errorCode == 0)
            return (answer.offset, attempt)
        }
        Issue.record("partition \(partition) found no leader in 3 attempts")
        return (-1, 3)
    }

    static func metadataRequests(_ fakes: FakeCluster) -> Int {
        fakes.brokers.map { $0.received.filter { $0.apiKey == .metadata }.count }.reduce(0, +)
    }

    @Test("routes each partition to its leader over one connection per node")
    func routesToLeaders() async throws {
        let fakes = try await Self.startCluster()
        let cluster = KafkaCluster(configuration: Self.configuration(fakes))
        for partition in Int32(0)..<3 {
            let (offset, attempts) = try await Self.offset(of: partition, cluster: cluster)
            #expect(offset == Int64(partition + 1) * 100 + Int64(partition))
            #expect(attempts == 1)
        }
        let metadata = try await cluster.metadata(topics: [Self.topic])
        #expect(metadata.brokers.count == 3)
        #expect(metadata.topics[Self.topic]?.partitions.map(\.leader) == [1, 2, 3])
        #expect(metadata.controllerID == 1)
        // The cache answered every lookup after the first.
        #expect(Self.metadataRequests(fakes) == 1)
        // Node 1 carries the bootstrap connection and its node connection.
        #expect(fakes.brokers.map(\.connectionCount) == [2, 1, 1])
        await cluster.shutdown()
        await fakes.stop()
    }

    @Test("a leader move answered with NOT_LEADER_OR_FOLLOWER is followed after a refresh")
    func followsLeaderMove() async throws {
        let fakes = try await Self.startCluster()
        let cluster = KafkaCluster(configuration: Self.configuration(fakes))
        #expect(try await Self.offset(of: 0, cluster: cluster).offset == 100)

        fakes.moveLeader(topic: Self.topic, partition: 0, to: 2)
        let (offset, attempts) = try await Self.offset(of: 0, cluster: cluster)
        #expect(offset == 200)
        #expect(attempts == 2, "the stale leader answered first, then the new one")
        #expect(Self.metadataRequests(fakes) == 2)
        let metadata = try await cluster.metadata(topics: [Self.topic])
        #expect(metadata.leader(topic: Self.topic, partition: 0) == 2)
        #expect(metadata.topics[Self.topic]?.partitions.first?.leaderEpoch == 1)
        // Node 2's single connection served both partitions it led.
        #expect(fakes.brokers[1].connectionCount == 1)
        await cluster.shutdown()
        await fakes.stop()
    }

    @Test("unknown topics carry their error; forceRefresh and age refresh the cache")
    func cacheRefresh() async throws {
        let fakes = try await Self.startCluster()
        let cluster = KafkaCluster(configuration: Self.configuration(fakes))
        let metadata = try await cluster.metadata(topics: [Self.topic, "missing"])
        #expect(metadata.topics["missing"]?.error == .unknownTopicOrPartition)
        #expect(Self.metadataRequests(fakes) == 1)
        // A topic with an error is never fresh; a healthy one is until forced or aged.
        _ = try await cluster.metadata(topics: ["missing"])
        #expect(Self.metadataRequests(fakes) == 2)
        _ = try await cluster.metadata(topics: [Self.topic])
        #expect(Self.metadataRequests(fakes) == 2)
        _ = try await cluster.metadata(topics: [Self.topic], forceRefresh: true)
        #expect(Self.metadataRequests(fakes) == 3)
        await cluster.shutdown()

        var configuration = Self.configuration(fakes)
        configuration.metadataMaxAge = .milliseconds(50)
        let aging = KafkaCluster(configuration: configuration)
        _ = try await aging.metadata(topics: [Self.topic])
        try await waitUntil("the cached metadata ages out") {
            _ = try await aging.metadata(topics: [Self.topic])
            return Self.metadataRequests(fakes) >= 5
        }
        await aging.shutdown()
        await fakes.stop()
    }

    @Test("concurrent callers with a stale cache share one Metadata fetch")
    func concurrentRefreshCoalesces() async throws {
        let fakes = try await Self.startCluster()
        let cluster = KafkaCluster(configuration: Self.configuration(fakes))
        _ = try await cluster.metadata(topics: [Self.topic])
        await cluster.invalidateMetadata()
        try await withThrowingTaskGroup(of: Int32?.self) { group in
            for partition in Int32(0)..<20 {
                group.addTask { try await cluster.metadata(topics: [Self.topic]).leader(topic: Self.topic, partition: partition % 3) }
            }
            for try await leader in group { #expect(leader != nil) }
        }
        #expect(Self.metadataRequests(fakes) == 2)
        await cluster.shutdown()
        await fakes.stop()
    }

    @Test("the coordinator is looked up once, cached, and looked up again after invalidation")
    func coordinatorCache() async throws {
        let fakes = try await Self.startCluster()
        fakes.setCoordinator(3)
        let cluster = KafkaCluster(configuration: Self.configuration(fakes))
        let first = try await cluster.coordinatorConnection(forGroup: "collectors")
        #expect(first.nodeID == 3)
        #expect(try await cluster.coordinatorConnection(forGroup: "collectors") === first)
        let lookups = { fakes.brokers.map { $0.received.filter { $0.apiKey == .findCoordinator }.count }.reduce(0, +) }
        #expect(lookups() == 1)

        fakes.setCoordinator(2)
        await cluster.invalidateCoordinator(forGroup: "collectors")
        let moved = try await cluster.coordinatorConnection(forGroup: "collectors")
        #expect(moved.nodeID == 2)
        #expect(lookups() == 2)
        await cluster.shutdown()
        await fakes.stop()
    }
}
