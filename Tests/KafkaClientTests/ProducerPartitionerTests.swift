import KafkaClient
import Testing

@Suite("Producer: partitioners")
struct ProducerPartitionerTests {
    /// Java `UtilsTest.testMurmur2` and librdkafka `rdmurmur2.c` vectors (kafka-spec README).
    static let vectors: [(key: String, hash: Int32, mod3: Int32, mod10: Int32)] = [
        ("21", -973_932_308, 0, 0),
        ("foobar", -790_332_482, 0, 6),
        ("a-little-bit-long-string", -985_981_536, 2, 2),
        ("a-little-bit-longer-string", -1_486_304_829, 2, 9),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971, 2, 7),
        ("abc", 479_470_107, 0, 7),
        ("kafka", -798_503_068, 1, 0),
        ("4", 1_514_888_353, 1, 3),
        ("", 275_646_681, 0, 1),
    ]

    @Test(arguments: vectors.indices)
    func murmur2MatchesJava(index: Int) {
        let vector = Self.vectors[index]
        let hash = Array(vector.key.utf8).withUnsafeBytes { KafkaKeyPartitioner.murmur2($0) }
        #expect(hash == vector.hash, "murmur2(\"\(vector.key)\")")
        #expect(KafkaKeyPartitioner.partition(forKey: vector.key, partitionCount: 3) == vector.mod3)
        #expect(KafkaKeyPartitioner.partition(forKey: vector.key, partitionCount: 10) == vector.mod10)
    }

    @Test func partitionIsNeverNegative() {
        // toPositive masks the sign bit (not abs): Int32.min-like hashes stay in range.
        for count: Int32 in [1, 2, 7, 100] {
            for vector in Self.vectors {
                let partition = KafkaKeyPartitioner.partition(forKey: vector.key, partitionCount: count)
                #expect((0..<count).contains(partition))
            }
        }
    }
}
