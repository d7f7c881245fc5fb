import Foundation
import KafkaClient
import Testing
import TributaryTestSupport

/// The range and round-robin assignors against Java's own test vectors and, on random groups,
/// against kafka-python's implementations of the same strategies.
@Suite("Consumer assignors")
struct ConsumerAssignorTests {
    private func member(_ id: String, _ topics: String...) -> ConsumerGroupMemberSubscription {
        ConsumerGroupMemberSubscription(memberID: id, topics: Set(topics))
    }

    private func parts(_ names: String...) -> [TopicPartition] {
        names.map { name in
            let dash = name.lastIndex(of: "-") ?? name.endIndex
            return TopicPartition(topic: String(name[..<dash]), partition: Int32(name[name.index(after: dash)...]) ?? -1)
        }
    }

    @Test("range: Java RangeAssignorTest vectors")
    func rangeJavaVectors() {
        let assignor = RangeAssignor()
        #expect(assignor.name == "range")
        let both = assignor.assign(
            members: [member("consumer2", "t1", "t2"), member("consumer1", "t1", "t2")],
            partitionCounts: ["t1": 3, "t2": 3])
        #expect(both == ["consumer1": parts("t1-0", "t1-1", "t2-0", "t2-1"), "consumer2": parts("t1-2", "t2-2")])
        let mixed = assignor.assign(
            members: [member("consumer1", "t1"), member("consumer2", "t1", "t2"), member("consumer3", "t1")],
            partitionCounts: ["t1": 3, "t2": 2])
        #expect(mixed == ["consumer1": parts("t1-0"), "consumer2": parts("t1-1", "t2-0", "t2-1"), "consumer3": parts("t1-2")])
        // More members than partitions: the last ones get nothing but still get an entry.
        let sparse = assignor.assign(
            members: [member("a", "t"), member("b", "t"), member("c", "t")], partitionCounts: ["t": 2])
        #expect(sparse == ["a": parts("t-0"), "b": parts("t-1"), "c": []])
        // A topic without metadata is skipped.
        #expect(assignor.assign(members: [member("a", "missing")], partitionCounts: [:]) == ["a": []])
    }

    @Test("roundrobin: Java RoundRobinAssignorTest vectors and the documented example")
    func roundRobinJavaVectors() {
        let assignor = RoundRobinAssignor()
        #expect(assignor.name == "roundrobin")
        let both = assignor.assign(
            members: [member("consumer1", "t1", "t2"), member("consumer2", "t1", "t2")],
            partitionCounts: ["t1": 3, "t2": 3])
        #expect(both == ["consumer1": parts("t1-0", "t1-2", "t2-1"), "consumer2": parts("t1-1", "t2-0", "t2-2")])
        let mixed = assignor.assign(
            members: [member("consumer3", "t1"), member("consumer2", "t1", "t2"), member("consumer1", "t1")],
            partitionCounts: ["t1": 3, "t2": 2])
        #expect(mixed == ["consumer1": parts("t1-0"), "consumer2": parts("t1-1", "t2-0", "t2-1"), "consumer3": parts("t1-2")])
        let documented = assignor.assign(
            members: [member("C0", "t0"), member("C1", "t0", "t1"), member("C2", "t0", "t1", "t2")],
            partitionCounts: ["t0": 1, "t1": 2, "t2": 3])
        #expect(documented == ["C0": parts("t0-0"), "C1": parts("t1-0"), "C2": parts("t1-1", "t2-0", "t2-1", "t2-2")])
    }

    @Test("static members sort before dynamic ones, by instance id (Java MemberInfo order)")
    func staticMembersFirst() {
        let assignment = RangeAssignor().assign(
            members: [
                ConsumerGroupMemberSubscription(memberID: "a-dynamic", topics: ["t"]),
                ConsumerGroupMemberSubscription(memberID: "z-static", groupInstanceID: "instance-1", topics: ["t"]),
            ],
            partitionCounts: ["t": 3])
        #expect(assignment == ["z-static": parts("t-0", "t-1"), "a-dynamic": parts("t-2")])
    }

    @Test("random groups: the same assignment as kafka-python's range and roundrobin", .enabled(if: ProcessRunner.pythonHasModules(["kafka"])))
    func matchesKafkaPython() throws {
        var random = SplitMix64(seed: SplitMix64.testSeed())
        var cases: [[String: Any]] = []
        var inputs: [([ConsumerGroupMemberSubscription], [String: Int32])] = []
        for caseIndex in 0..<60 {
            // Every other group subscribes every member to every topic: kafka-python's roundrobin
            // only works on those (see the script), so at least 30 groups compare for both assignors.
            let uniform = caseIndex.isMultiple(of: 2)
            let topics = (0..<Int.random(in: 1...4, using: &random)).map { "topic-\($0)" }
            var counts: [String: Int32] = [:]
            for topic in topics { counts[topic] = Int32.random(in: 1...9, using: &random) }
            var members: [ConsumerGroupMemberSubscription] = []
            for index in 0..<Int.random(in: 1...6, using: &random) {
                let subscribed = uniform ? topics : topics.filter { _ in Bool.random(using: &random) }
                members.append(.init(
                    memberID: "member-\(UInt16.random(in: 0...UInt16.max, using: &random))-\(index)",
                    topics: Set(subscribed.isEmpty ? [topics[0]] : subscribed)))
            }
            inputs.append((members, counts))
            cases.append([
                "members": Dictionary(uniqueKeysWithValues: members.map { ($0.memberID, $0.topics.sorted()) }),
                "counts": counts,
            ])
        }
        let script = """
            import json, sys
            from kafka.coordinator.assignors.range import RangePartitionAssignor
            from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
            from kafka.coordinator.protocol import ConsumerProtocolMemberMetadata_v0 as M
            class Cluster:
                def __init__(self, counts): self.counts = counts
                def partitions_for_topic(self, topic):
                    return set(range(self.counts[topic])) if topic in self.counts else None
            class Sub:
                def __init__(self, topics): self.topics = topics; self.group_instance_id = None
            out = []
            for case in json.load(sys.stdin):
                subs = {m: Sub(t) for m, t in case["members"].items()}
                result = {}
                for assignor in (RangePartitionAssignor, RoundRobinPartitionAssignor):
                    try:
                        got = assignor.assign(Cluster(case["counts"]), subs)
                    except KeyError:
                        # kafka-python 2.3.3's roundrobin crashes when the next member in turn does
                        # not subscribe to the topic (it assigns a tuple to member_id); skip those.
                        continue
                    result[assignor.name] = {m: sorted([t, p] for t, ps in a.assignment for p in ps) for m, a in got.items()}
                out.append(result)
            print(json.dumps(out))
            """
        let output = try ProcessRunner.python(script, stdin: Array(try JSONSerialization.data(withJSONObject: cases)))
        #expect(output.succeeded, "\(output.stderr)")
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout)) as? [[String: [String: [[Any]]]]])
        #expect(expected.count == inputs.count)
        var compared: [String: Int] = [:]
        for (index, (members, counts)) in inputs.enumerated() where index < expected.count {
            for assignor in [RangeAssignor() as any ConsumerPartitionAssignor, RoundRobinAssignor()] {
                guard let python = expected[index][assignor.name] else { continue }
                compared[assignor.name, default: 0] += 1
                let ours = assignor.assign(members: members, partitionCounts: counts)
                let theirs = python.mapValues { pairs in
                    pairs.map { TopicPartition(topic: $0[0] as? String ?? "", partition: Int32($0[1] as? Int ?? -1)) }.sorted()
                }
                #expect(ours == theirs, "case \(index) \(assignor.name): members \(members), counts \(counts)")
            }
        }
        #expect(compared["range"] == inputs.count)
        #expect((compared["roundrobin"] ?? 0) >= 30, "roundrobin compared on \(compared["roundrobin"] ?? 0) groups")
    }
}
