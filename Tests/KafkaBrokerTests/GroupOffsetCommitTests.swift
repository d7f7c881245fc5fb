@testable import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

private func commitRequest(
    group: String = "g", generationId: Int32 = -1, memberId: String = "",
    _ offsets: [(topic: String, partition: Int32, offset: Int64)], metadata: String? = "meta"
) -> OffsetCommitRequest {
    let topics = Dictionary(grouping: offsets, by: \.topic).sorted { $0.key < $1.key }
    return OffsetCommitRequest(
        groupId: group, generationIdOrMemberEpoch: generationId, memberId: memberId,
        topics: topics.map { topic, entries in
            .init(name: topic, partitions: entries.map {
                .init(partitionIndex: $0.partition, committedOffset: $0.offset, committedLeaderEpoch: 4, committedMetadata: metadata)
            })
        })
}

private func errors(_ response: OffsetCommitResponse) -> [KafkaErrorCode] {
    response.topics.flatMap { $0.partitions.map { KafkaErrorCode(rawValue: $0.errorCode) } }
}

@Suite("Group coordinator: OffsetCommit and OffsetFetch")
struct GroupOffsetCommitTests {
    @Test("members of the current generation commit; fetch returns them in the v0-7 and v8+ shapes")
    func commitAndFetch() async throws {
        let fixture = try GroupFixture()
        defer { fixture.directory.remove() }
        let stable = await fixture.formStableGroup(["a", "b"])
        let a = stable["a"]!

        let commit = await fixture.coordinator.commitOffsets(
            commitRequest(generationId: a.generationId, memberId: a.memberId,
                          [("logs", 0, 100), ("logs", 1, 200), ("audit", 0, 5)]),
            version: 8)
        #expect(errors(commit) == [.none, .none, .none])
        #expect(commit.topics.map(\.name) == ["audit", "logs"])

        let v5 = await fixture.coordinator.fetchOffsets(
            OffsetFetchRequest(groupId: "g", topics: [.init(name: "logs", partitionIndexes: [1, 0, 9])]), version: 5)
        #expect(v5.errorCode == 0)
        let partitions = try #require(v5.topics.first?.partitions)
        #expect(partitions.map(\.committedOffset) == [200, 100, -1])
        #expect(partitions.map(\.committedLeaderEpoch) == [4, 4, -1])
        #expect(partitions.map(\.metadata) == ["meta", "meta", ""])
        #expect(partitions.allSatisfy { $0.errorCode == 0 })

        // v2+: null topics means every committed partition of the group.
        let all = await fixture.coordinator.fetchOffsets(OffsetFetchRequest(groupId: "g", topics: nil), version: 7)
        #expect(all.topics.map(\.name) == ["audit", "logs"])
        #expect(all.topics[1].partitions.map(\.partitionIndex) == [0, 1])

        let v8 = await fixture.coordinator.fetchOffsets(
            OffsetFetchRequest(groups: [
                .init(groupId: "g", topics: [.init(name: "audit", partitionIndexes: [0])]),
                .init(groupId: "nobody", topics: nil),
                .init(groupId: "g", topics: nil),
            ]),
            version: 8)
        #expect(v8.groups.map(\.groupId) == ["g", "nobody", "g"])
        #expect(v8.groups[0].topics.first?.partitions.first?.committedOffset == 5)
        #expect(v8.groups[1].topics.isEmpty && v8.groups[1].errorCode == 0)
        #expect(v8.groups[2].topics.flatMap(\.partitions).count == 3)

        for version in OffsetFetchResponse.validVersions {
            let request = version >= 8
                ? OffsetFetchRequest(groups: [.init(groupId: "g", topics: nil)])
                : OffsetFetchRequest(groupId: "g", topics: [.init(name: "logs", partitionIndexes: [0])])
            let response = await fixture.coordinator.fetchOffsets(request, version: version)
            var buffer = ByteBuffer()
            #expect(throws: Never.self) { try response.encode(into: &buffer, version: version) }
        }
        await fixture.tearDown()
    }

    @Test("commit errors: unknown member, illegal generation, rebalance in progress, standalone commits")
    func commitErrors() async throws {
        let fixture = try GroupFixture(partitionExists: { topic, partition in topic != "missing" && partition < 8 })
        defer { fixture.directory.remove() }
        let offsets: [(topic: String, partition: Int32, offset: Int64)] = [("logs", 0, 1)]

        // A standalone consumer (generation -1) may commit to a group without members, v0 too.
        #expect(errors(await fixture.coordinator.commitOffsets(commitRequest(group: "solo", offsets), version: 2)) == [.none])
        #expect(errors(await fixture.coordinator.commitOffsets(commitRequest(group: "solo0", offsets), version: 0)) == [.none])
        // A generation for a group the coordinator does not know.
        #expect(errors(await fixture.coordinator.commitOffsets(
            commitRequest(group: "solo", generationId: 3, memberId: "m", offsets), version: 8)) == [.illegalGeneration])
        #expect(errors(await fixture.coordinator.commitOffsets(commitRequest(group: "", offsets), version: 8)) == [.invalidGroupId])

        // Waiting for the leader's SyncGroup: REBALANCE_IN_PROGRESS.
        let first = await fixture.joinNewMember(client: "a")
        #expect(errors(await fixture.coordinator.commitOffsets(
            commitRequest(generationId: first.generationId, memberId: first.memberId, offsets), version: 8)) == [.rebalanceInProgress])
        _ = await fixture.sync(memberId: first.memberId, generationId: first.generationId, assignments: [first.memberId: "all"])

        let generation = first.generationId
        #expect(errors(await fixture.coordinator.commitOffsets(
            commitRequest(generationId: generation, memberId: "ghost", offsets), version: 8)) == [.unknownMemberId])
        #expect(errors(await fixture.coordinator.commitOffsets(
            commitRequest(generationId: generation + 1, memberId: first.memberId, offsets), version: 8)) == [.illegalGeneration])
        // Standalone commits are refused while the group has members.
        #expect(errors(await fixture.coordinator.commitOffsets(commitRequest(offsets), version: 8)) == [.unknownMemberId])
        // Per partition: unknown partitions and oversized metadata.
        let mixed = await fixture.coordinator.commitOffsets(
            commitRequest(generationId: generation, memberId: first.memberId, [("logs", 1, 5), ("logs", 9, 5), ("missing", 0, 5)]),
            version: 8)
        #expect(errors(mixed) == [.none, .unknownTopicOrPartition, .unknownTopicOrPartition])
        let big = await fixture.coordinator.commitOffsets(
            commitRequest(generationId: generation, memberId: first.memberId, [("logs", 2, 5)],
                          metadata: String(repeating: "x", count: 4097)),
            version: 8)
        #expect(errors(big) == [.offsetMetadataTooLarge])
        // Only the accepted commits were stored.
        #expect(fixture.coordinator.offsetStore.committedOffset(group: "g", topic: "logs", partition: 1)?.offset == 5)
        #expect(fixture.coordinator.offsetStore.committedOffset(group: "g", topic: "logs", partition: 2) == nil)
        #expect(fixture.coordinator.offsetStore.committedOffset(group: "solo0", topic: "logs", partition: 0)?.offset == 1)

        // v0-1 fetch reports a bad group id on each partition; v2+ at the top level.
        let v1 = await fixture.coordinator.fetchOffsets(
            OffsetFetchRequest(groupId: "", topics: [.init(name: "logs", partitionIndexes: [0])]), version: 1)
        #expect(v1.topics.first?.partitions.first?.errorCode == KafkaErrorCode.invalidGroupId.rawValue)
        let v3 = await fixture.coordinator.fetchOffsets(OffsetFetchRequest(groupId: "", topics: nil), version: 3)
        #expect(v3.errorCode == KafkaErrorCode.invalidGroupId.rawValue)

        for version in OffsetCommitResponse.validVersions {
            let response = await fixture.coordinator.commitOffsets(commitRequest(group: "solo", offsets), version: version)
            var buffer = ByteBuffer()
            #expect(throws: Never.self) { try response.encode(into: &buffer, version: version) }
        }
        await fixture.tearDown()
    }

    @Test("committed offsets survive a coordinator restart on the same data directory; topic removal drops them")
    func offsetsSurviveRestart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            let coordinator = GroupCoordinator(
                offsetStore: try OffsetStore(dataDirectory: directory.path, logger: .quietForTests), logger: .quietForTests)
            let response = await coordinator.commitOffsets(commitRequest([("logs", 0, 42), ("tmp", 0, 7)]), version: 3)
            #expect(errors(response) == [.none, .none])
            await coordinator.shutdown()
            let after = await coordinator.commitOffsets(commitRequest([("logs", 0, 43)]), version: 3)
            #expect(errors(after) == [.coordinatorNotAvailable])
        }
        let coordinator = GroupCoordinator(
            offsetStore: try OffsetStore(dataDirectory: directory.path, logger: .quietForTests), logger: .quietForTests)
        let fetched = await coordinator.fetchOffsets(OffsetFetchRequest(groupId: "g", topics: nil), version: 6)
        #expect(fetched.topics.map(\.name) == ["logs", "tmp"])
        #expect(fetched.topics.first?.partitions.first?.committedOffset == 42)
        try await coordinator.removeOffsets(topic: "tmp")
        let afterRemoval = await coordinator.fetchOffsets(OffsetFetchRequest(groupId: "g", topics: nil), version: 6)
        #expect(afterRemoval.topics.map(\.name) == ["logs"])
        await coordinator.shutdown()
    }

    @Test("commits arriving during an fsync are written together by the next one (group commit)")
    func groupCommit() async throws {
        let fixture = try GroupFixture()
        defer { fixture.directory.remove() }
        let coordinator = fixture.coordinator
        let gate = TestGate()
        await coordinator.setBeforeOffsetAppend { await gate.pass() }

        let results = await withTaskGroup(of: [KafkaErrorCode].self) { tasks in
            tasks.addTask { errors(await coordinator.commitOffsets(commitRequest(group: "solo", [("logs", 0, 0)]), version: 8)) }
            await gate.waitForArrivals(1)  // the first append is held at the gate
            for partition in Int32(1)...5 {
                tasks.addTask {
                    errors(await coordinator.commitOffsets(
                        commitRequest(group: "solo", [("logs", partition, Int64(partition) * 10)]), version: 8))
                }
            }
            while await coordinator.commitQueue.count < 5 { await Task.yield() }
            await gate.open()
            var results: [[KafkaErrorCode]] = []
            for await result in tasks { results.append(result) }
            return results
        }
        #expect(results.count == 6 && results.allSatisfy { $0 == [.none] })
        #expect(await coordinator.offsetLogAppends == 2)  // the held one, then the five together
        for partition in Int32(0)...5 {
            #expect(coordinator.offsetStore.committedOffset(group: "solo", topic: "logs", partition: partition)?.offset
                == Int64(partition) * 10)
        }
        #expect(await coordinator.isPersistingOffsets == false)
        await fixture.tearDown()
    }
}

/// Holds callers until opened, counting arrivals.
actor TestGate {
    private var isOpen = false
    private var arrivals = 0
    private var held: [CheckedContinuation<Void, Never>] = []
    private var arrivalWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

    func pass() async {
        arrivals += 1
        for waiter in arrivalWaiters where waiter.count <= arrivals { waiter.continuation.resume() }
        arrivalWaiters.removeAll { $0.count <= arrivals }
        if isOpen { return }
        await withCheckedContinuation { held.append($0) }
    }

    func waitForArrivals(_ count: Int) async {
        if arrivals >= count { return }
        await withCheckedContinuation { arrivalWaiters.append((count, $0)) }
    }

    func open() {
        isOpen = true
        for continuation in held { continuation.resume() }
        held = []
    }
}
