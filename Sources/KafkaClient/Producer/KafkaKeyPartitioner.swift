/// The Java client's key partitioner: `toPositive(murmur2(key)) % partitionCount`.
///
/// Same key, same partition count → same partition as the Java producer (`BuiltInPartitioner`)
/// and librdkafka's `murmur2_random` partitioner. MurmurHash2 with seed `0x9747b28c`, 32-bit
/// wrapping arithmetic, little-endian 4-byte blocks and logical shifts, as `Utils.murmur2`.
public enum KafkaKeyPartitioner {
    /// Kafka's `Utils.murmur2` of `key`, as a signed 32-bit value.
    @inlinable
    public static func murmur2(_ key: UnsafeRawBufferPointer) -> Int32 {
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        let length = key.count
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        var index = 0
        for _ in 0..<blocks {
            var k = UInt32(key[index]) | UInt32(key[index + 1]) << 8 | UInt32(key[index + 2]) << 16
                | UInt32(key[index + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
            index += 4
        }
        switch length & 3 {
        case 3:
            h ^= UInt32(key[index + 2]) << 16
            h ^= UInt32(key[index + 1]) << 8
            h ^= UInt32(key[index])
            h = h &* m
        case 2:
            h ^= UInt32(key[index + 1]) << 8
            h ^= UInt32(key[index])
            h = h &* m
        case 1:
            h ^= UInt32(key[index])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// The partition of `key` among `partitionCount` partitions (`toPositive(murmur2) % n`).
    ///
    /// - Precondition: `partitionCount > 0`.
    @inlinable
    public static func partition(forKey key: UnsafeRawBufferPointer, partitionCount: Int32) -> Int32 {
        precondition(partitionCount > 0, "a topic has at least one partition")
        return (murmur2(key) & 0x7fff_ffff) % partitionCount
    }

    /// The partition of the UTF-8 bytes of `key`.
    public static func partition(forKey key: String, partitionCount: Int32) -> Int32 {
        var key = key
        return key.withUTF8 { partition(forKey: UnsafeRawBufferPointer($0), partitionCount: partitionCount) }
    }
}
