import TributaryTestSupport
import NIOCore
import Testing

@testable import KafkaProtocol

@Suite("CRC-32C")
struct CRC32CTests {
    /// Known answers: the CRC catalogue's check value, and RFC 3720 appendix B.4.
    static let vectors: [(name: String, bytes: [UInt8], crc: UInt32)] = [
        ("empty", [], 0),
        ("123456789", Array("123456789".utf8), 0xE306_9283),
        ("32 zero bytes", [UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ("32 0xFF bytes", [UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ("32 ascending bytes", (0..<32).map { UInt8($0) }, 0x46DD_794E),
        ("32 descending bytes", (0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
        (
            "iSCSI read command PDU",
            [
                0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
                0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            ],
            0xD996_3A56
        ),
    ]

    @Test("known vectors, every implementation", arguments: 0..<vectors.count)
    func knownVectors(index: Int) {
        let vector = Self.vectors[index]
        vector.bytes.withUnsafeBytes { bytes in
            #expect(CRC32C.checksum(bytes) == vector.crc, "\(vector.name)")
            #expect(CRC32C.softwareChecksum(bytes) == vector.crc, "\(vector.name) (software)")
            #expect(CRC32C.hardwareChecksum(bytes) == vector.crc, "\(vector.name) (hardware)")
        }
        #expect(CRC32C.checksum(ByteBuffer(bytes: vector.bytes)) == vector.crc)
    }

    @Test func checksumsChain() {
        let bytes = Array("The quick brown fox jumps over the lazy dog".utf8)
        bytes.withUnsafeBytes { all in
            let whole = CRC32C.checksum(all)
            for split in 0...all.count {
                let head = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[..<split]))
                let chained = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[split...]), initial: head)
                #expect(chained == whole, "split at \(split)")
            }
        }
    }

    @Test func byteBufferRange() {
        var buffer = ByteBuffer(string: "xx123456789yy")
        buffer.moveReaderIndex(forwardBy: 1)
        #expect(CRC32C.checksum(buffer, at: 2, length: 9) == 0xE306_9283)
        #expect(CRC32C.checksum(buffer, at: 0, length: 1) == nil, "before the reader index")
        #expect(CRC32C.checksum(buffer, at: 5, length: 9) == nil, "past the writer index")
        #expect(CRC32C.checksum(buffer, at: 13, length: 0) == 0)
    }

    @Test("hardware and software agree on all lengths 0...300 at every alignment")
    func hardwareMatchesSoftware() {
        let seed = SplitMix64.testSeed()
        print("CRC32CTests.hardwareMatchesSoftware seed: \(seed)")
        var random = SplitMix64(seed: seed)
        // Long lengths cross the 3 x 256 and 3 x 8192 interleaving thresholds of the hardware path.
        let long = [767, 768, 769, 24_575, 24_576, 24_577, 24_576 + 767, 100_003]
        let data = random.bytes(100_003 + 16)
        data.withUnsafeBytes { all in
            for length in Array(0...300) + long {
                for start in 0..<8 where start + length <= all.count {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                    let initial = UInt32(truncatingIfNeeded: random.next())
                    let software = CRC32C.softwareChecksum(slice, initial: initial)
                    #expect(CRC32C.hardwareChecksum(slice, initial: initial) == software, "length \(length) start \(start) seed \(seed)")
                    #expect(CRC32C.checksum(slice, initial: initial) == software, "length \(length) start \(start) seed \(seed)")
                }
            }
        }
    }

    @Test func reportsHardwareAcceleration() {
        #if arch(x86_64)
        // Every x86-64 machine this project targets has SSE4.2 (Nehalem, 2008).
        #expect(CRC32C.isHardwareAccelerated)
        #endif
    }
}
