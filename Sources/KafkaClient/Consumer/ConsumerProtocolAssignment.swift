public import NIOCore
import KafkaProtocol

/// What the group leader hands each member in SyncGroup: the partitions it now owns.
///
/// The layout is Apache Kafka's `ConsumerProtocolAssignment.json` (versions 0-3 share one layout),
/// preceded by an int16 version: `assignedPartitions: [topic, [int32]]`, `userData: nullable bytes`.
public struct ConsumerProtocolAssignment: Hashable, Sendable {
    /// The highest version this implementation writes.
    public static let highestVersion: Int16 = 3

    /// The assigned partitions, grouped by topic.
    public var assignedPartitions: [ConsumerProtocolTopicPartitions]
    /// Assignor-specific data; `nil` is written as a null bytes field.
    public var userData: ByteBuffer?

    /// Creates an assignment.
    public init(assignedPartitions: [ConsumerProtocolTopicPartitions], userData: ByteBuffer? = nil) {
        self.assignedPartitions = assignedPartitions
        self.userData = userData
    }

    /// The bytes for SyncGroup: int16 `version`, then the fields.
    ///
    /// - Precondition: `version` is in 0...3.
    public func encoded(version: Int16 = ConsumerProtocolAssignment.highestVersion) -> ByteBuffer {
        precondition((0...Self.highestVersion).contains(version), "assignment version \(version) is not 0...3")
        var buffer = ByteBuffer()
        buffer.writeInteger(version)
        buffer.writeConsumerProtocolTopicPartitions(assignedPartitions)
        buffer.writeConsumerProtocolNullableBytes(userData)
        return buffer
    }

    /// Reads an assignment written by any client. An empty buffer is an empty assignment (the
    /// coordinator sends one to members the leader left out, and on some errors).
    ///
    /// - Throws: `KafkaDecodingError` naming the field, for a negative version or truncated data.
    public init(decoding bytes: ByteBuffer) throws(KafkaDecodingError) {
        var buffer = bytes
        guard buffer.readableBytes > 0 else {
            self.init(assignedPartitions: [])
            return
        }
        do throws(KafkaDecodingError) {
            let version = try buffer.readKafkaInteger(as: Int16.self, field: "version")
            guard version >= 0 else {
                throw KafkaDecodingError(.invalidValue, detail: "assignment version \(version) is negative")
            }
            let partitions = try buffer.readConsumerProtocolTopicPartitions(field: "assignedPartitions")
            // librdkafka and old clients may end right after the partitions.
            let userData = buffer.readableBytes == 0
                ? nil : try buffer.readKafkaNullableBytes(compact: false, field: "userData")
            self.init(assignedPartitions: partitions, userData: userData)
        } catch {
            throw error.within("ConsumerProtocolAssignment")
        }
    }
}
