/// One partition of one topic: the unit of assignment, fetching and offset commits.
public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The topic's name.
    public var topic: String
    /// The partition index within the topic.
    public var partition: Int32

    /// Creates a topic-partition.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// Orders by topic (UTF-16 code units, as Java's `String.compareTo`), then partition.
    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        if lhs.topic != rhs.topic { return javaStringLess(lhs.topic, rhs.topic) }
        return lhs.partition < rhs.partition
    }

    /// `topic-partition`, as Kafka tools print it.
    public var description: String { "\(topic)-\(partition)" }
}

/// Java's `String.compareTo(...) < 0`: lexicographic over UTF-16 code units. The assignors sort
/// member ids and topics this way so every client computes the same assignment.
func javaStringLess(_ lhs: String, _ rhs: String) -> Bool {
    lhs.utf16.lexicographicallyPrecedes(rhs.utf16)
}
