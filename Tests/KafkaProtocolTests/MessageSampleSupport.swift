import KafkaProtocol
import NIOCore

/// A generated message type with generated samples (see `Generated/MessageSamples.swift`).
protocol SampledMessage: KafkaMessage {
    /// A value of this message with every field present in `version` set to a distinct non-default
    /// value (arrays of two elements, null in every other version where nullable, unknown tagged
    /// fields in flexible versions).
    static func sample(version: Int16) -> Self
    /// Values that set a non-ignorable field in a version lacking it; encoding each must throw.
    static func absentFieldProbes() -> [AbsentFieldProbe<Self>]
}

/// A message value that the encoder must refuse in `version` because of the field at `path`.
struct AbsentFieldProbe<Message: KafkaMessage> {
    var version: Int16
    var message: Message
    /// The field path the error must name, such as `topics.partitions.maxNumOffsets`.
    var path: String
}

/// Hands out distinct sample values; none of them equals a Kafka JSON default.
struct SampleCounter {
    private var next = 1

    private mutating func tick() -> Int {
        defer { next += 1 }
        return next
    }

    mutating func int8() -> Int8 { Int8(2 + tick() % 100) }
    mutating func int16() -> Int16 { Int16(1_000 + tick() % 30_000) }
    mutating func uint16() -> UInt16 { UInt16(2_000 + tick() % 60_000) }
    mutating func int32() -> Int32 { Int32(100_000 + tick()) }
    mutating func uint32() -> UInt32 { UInt32(200_000 + tick()) }
    mutating func int64() -> Int64 { 10_000_000_000 + Int64(tick()) }
    mutating func float64() -> Double { Double(tick()) + 0.25 }

    mutating func uuid() -> KafkaUUID {
        let k = UInt64(tick())
        return KafkaUUID(high: 0x0123_4567_89ab_0000 | k, low: 0xfedc_ba98_7654_0000 | k)
    }

    mutating func string() -> String { "s\(tick())-ünïcødé-€-😀" }

    mutating func bytes() -> ByteBuffer {
        let k = UInt8(truncatingIfNeeded: tick())
        return ByteBuffer(bytes: [k, 0x00, 0xff, 0x7f])
    }

    /// Raw bytes standing in for a record batch (the message layer does not look inside).
    mutating func records() -> ByteBuffer {
        let k = UInt8(truncatingIfNeeded: tick())
        return ByteBuffer(bytes: (0..<23).map { UInt8(truncatingIfNeeded: Int($0) &* 7) ^ k })
    }

    /// Two tagged fields no message defines (known tags are all below 10).
    mutating func unknownTaggedFields() -> [KafkaTaggedField] {
        let k = UInt8(truncatingIfNeeded: tick())
        return [
            KafkaTaggedField(tag: 40, data: ByteBuffer(bytes: [k])),
            KafkaTaggedField(tag: 300, data: ByteBuffer(bytes: [k, 0x01, 0x02])),
        ]
    }
}
