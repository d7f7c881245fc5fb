/// One group member as the leader sees it when assigning: its id and what it subscribed to.
public struct ConsumerGroupMemberSubscription: Hashable, Sendable {
    /// The member id the coordinator gave it.
    public var memberID: String
    /// The static membership id, if it has one (KIP-345); static members sort first.
    public var groupInstanceID: String?
    /// The topics it subscribed to.
    public var topics: Set<String>

    /// Creates a member description.
    public init(memberID: String, groupInstanceID: String? = nil, topics: Set<String>) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.topics = topics
    }

    /// Java's `MemberInfo.compareTo`: static members first by instance id, then by member id.
    static func javaOrder(_ lhs: Self, _ rhs: Self) -> Bool {
        switch (lhs.groupInstanceID, rhs.groupInstanceID) {
        case let (left?, right?): javaStringLess(left, right)
        case (.some, nil): true
        case (nil, .some): false
        case (nil, nil): javaStringLess(lhs.memberID, rhs.memberID)
        }
    }
}

/// A client-side assignor of the classic consumer protocol, computed by the group leader.
///
/// Implementations are deterministic functions of their input so every client library that
/// implements the same named strategy (Java, librdkafka, kafka-python) computes the same result.
public protocol ConsumerPartitionAssignor: Sendable {
    /// The protocol name offered in JoinGroup (`range`, `roundrobin`).
    var name: String { get }

    /// Assigns partitions to `members`.
    ///
    /// - Parameters:
    ///   - members: every member of the group with its subscription.
    ///   - partitionCounts: partitions per topic, from metadata; topics missing here are skipped
    ///     (as Java does when a topic has no metadata yet).
    /// - Returns: an entry for every member (possibly empty), partitions sorted.
    func assign(
        members: [ConsumerGroupMemberSubscription], partitionCounts: [String: Int32]
    ) -> [String: [TopicPartition]]
}

/// What both assignors start from: an empty entry per member, members in Java's order, and every
/// subscribed topic sorted.
private func assignmentSetup(
    _ members: [ConsumerGroupMemberSubscription]
) -> (empty: [String: [TopicPartition]], sortedMembers: [ConsumerGroupMemberSubscription], topics: [String]) {
    (
        Dictionary(members.map { ($0.memberID, [TopicPartition]()) }, uniquingKeysWith: { first, _ in first }),
        members.sorted(by: ConsumerGroupMemberSubscription.javaOrder),
        Set(members.flatMap(\.topics)).sorted(by: javaStringLess)
    )
}

/// Java's `RangeAssignor` (`range`) without rack awareness: per topic, the members subscribed to
/// it in member order each take a contiguous range; the first `partitions % members` take one more.
public struct RangeAssignor: ConsumerPartitionAssignor {
    public var name: String { "range" }

    /// Creates the assignor.
    public init() {}

    public func assign(
        members: [ConsumerGroupMemberSubscription], partitionCounts: [String: Int32]
    ) -> [String: [TopicPartition]] {
        let (empty, sortedMembers, topics) = assignmentSetup(members)
        var result = empty
        for topic in topics {
            guard let partitionCount = partitionCounts[topic], partitionCount > 0 else { continue }
            let consumers = sortedMembers.filter { $0.topics.contains(topic) }
            let perConsumer = Int(partitionCount) / consumers.count
            let withExtra = Int(partitionCount) % consumers.count
            for (index, consumer) in consumers.enumerated() {
                let start = perConsumer * index + min(index, withExtra)
                let length = perConsumer + (index + 1 > withExtra ? 0 : 1)
                for partition in start..<(start + length) {
                    result[consumer.memberID, default: []].append(TopicPartition(topic: topic, partition: Int32(partition)))
                }
            }
        }
        return result.mapValues { $0.sorted() }
    }
}

/// Java's `RoundRobinAssignor` (`roundrobin`): every subscribed topic-partition in (topic,
/// partition) order is dealt to the next member in member order that subscribes to its topic.
public struct RoundRobinAssignor: ConsumerPartitionAssignor {
    public var name: String { "roundrobin" }

    /// Creates the assignor.
    public init() {}

    public func assign(
        members: [ConsumerGroupMemberSubscription], partitionCounts: [String: Int32]
    ) -> [String: [TopicPartition]] {
        let (empty, sortedMembers, topics) = assignmentSetup(members)
        var result = empty
        guard !sortedMembers.isEmpty else { return result }
        var next = 0
        for topic in topics {
            guard let partitionCount = partitionCounts[topic], partitionCount > 0 else { continue }
            for partition in 0..<partitionCount {
                // Some member subscribes to `topic` (it came from a subscription), so this ends.
                while !sortedMembers[next].topics.contains(topic) { next = (next + 1) % sortedMembers.count }
                result[sortedMembers[next].memberID, default: []].append(TopicPartition(topic: topic, partition: partition))
                next = (next + 1) % sortedMembers.count
            }
        }
        return result.mapValues { $0.sorted() }
    }
}
