import TributaryTestSupport
import NIOCore
import Testing

@testable import KafkaProtocol

/// Hostile and damaged input: every failure is a typed `KafkaDecodingError`, never a trap.
@Suite("Record batch corruption and truncation")
struct RecordBatchCorruptionTests {
    static let golden = RecordBatchTests.goldenBytes

    /// Two batches back to back: the golden one, then an lz4 one with log-like lines.
    static func twoBatchStream() throws -> ByteBuffer {
        var stream = ByteBuffer(bytes: golden)
        let builder = try RecordBatchBuilder(compression: .lz4)
        builder.baseOffset = 3
        var headers = EncodedRecordHeaders()
        for index in 0..<20 {
            builder.append(
                TestRecord(timestamp: 1_700_000_000_000 + Int64(index), key: "host", value: "line \(index) of the log",
                           headers: [("source", "/var/log/syslog")]),
                headers: &headers)
        }
        try builder.finish(into: &stream)
        return stream
    }

    @Test func everyFlippedByteInTheCRCAreaIsDetected() throws {
        for index in RecordBatchHeader.FieldOffset.crc..<Self.golden.count {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var bytes = Self.golden
                bytes[index] ^= flip
                var buffer = ByteBuffer(bytes: bytes)
                // A flip may also break the header (codec id, count); either way the batch is rejected.
                do {
                    let batch = try RecordBatch(from: &buffer)
                    #expect(!batch.isChecksumValid, "flip 0x\(String(flip, radix: 16)) at byte \(index)")
                    #expect(throws: KafkaDecodingError.self) { try batch.verifyChecksum() }
                } catch {
                    #expect(index == RecordBatchHeader.FieldOffset.attributes + 1 || index == 57 || index == 58
                            || index == 59 || index == 60, "header rejected for flip at \(index): \(error)")
                }
                var reader = RecordBatchReader(ByteBuffer(bytes: bytes))
                #expect(throws: KafkaDecodingError.self) { _ = try reader.next() }
            }
        }
    }

    @Test func fieldsOutsideTheCRCDoNotBreakIt() throws {
        let covered = Array(RecordBatchHeader.FieldOffset.baseOffset..<RecordBatchHeader.FieldOffset.batchLength)
            + Array(RecordBatchHeader.FieldOffset.partitionLeaderEpoch..<RecordBatchHeader.FieldOffset.magic)
        for index in covered {
            var bytes = Self.golden
            bytes[index] ^= 0xFF
            var buffer = ByteBuffer(bytes: bytes)
            let batch = try RecordBatch(from: &buffer)
            #expect(batch.isChecksumValid, "byte \(index)")
        }
    }

    @Test func everyTruncationOfATwoBatchStream() throws {
        let stream = try Self.twoBatchStream()
        let first = Self.golden.count
        let total = stream.readableBytes
        for length in 0...total {
            var reader = RecordBatchReader(stream.getSlice(at: 0, length: length)!)
            let batches = try reader.readAll()
            let expectedCount = length >= total ? 2 : (length >= first ? 1 : 0)
            let consumed = expectedCount == 2 ? total : (expectedCount == 1 ? first : 0)
            #expect(batches.count == expectedCount, "prefix \(length)")
            #expect(reader.trailingBytes == length - consumed, "prefix \(length)")
            #expect(reader.stoppedEarly == (length != consumed))
            #expect(reader.batchesRead == expectedCount)
            for batch in batches { _ = try batch.records() }
            // A lone, cut batch read directly is a typed error.
            if length < first {
                var direct = stream.getSlice(at: 0, length: length)!
                #expect(throws: KafkaDecodingError.self) { try RecordBatch(from: &direct) }
            }
        }
    }

    @Test func corruptLengthsAndMagicsThrowFromTheReader() throws {
        func reading(_ mutate: (inout [UInt8]) -> Void) -> KafkaDecodingError? {
            var bytes = Self.golden
            mutate(&bytes)
            var reader = RecordBatchReader(ByteBuffer(bytes: bytes))
            do {
                while try reader.next() != nil {}
                return nil
            } catch {
                return error
            }
        }
        // batchLength below the header's 49, negative, and (with a limit) too large.
        #expect(reading { $0[11] = 48 }?.kind == .invalidLength)
        #expect(reading { $0[8] = 0xFF }?.kind == .invalidLength)
        var limited = RecordBatchReader(ByteBuffer(bytes: Self.golden), maxBatchBytes: 64)
        #expect(throws: KafkaDecodingError.self) { _ = try limited.next() }
        // Magic 0 and 1: the old message formats; anything else: invalid.
        for magic: UInt8 in [0, 1] {
            let error = reading { $0[16] = magic }
            #expect(error?.kind == .unsupportedVersion)
            #expect(error?.description.contains("message format v\(magic)") == true)
        }
        #expect(reading { $0[16] = 3 }?.kind == .invalidValue)
        #expect(reading { $0[16] = 0xFF }?.kind == .invalidValue)
        // The magic is judged even in a cut-off batch that has it.
        var cut = RecordBatchReader(ByteBuffer(bytes: Array(Self.golden.prefix(20)).enumerated().map { $0 == 16 ? 1 : $1 }))
        #expect(throws: KafkaDecodingError.self) { _ = try cut.next() }
        // Unknown codec 5.
        #expect(reading { $0[22] = 5 }?.kind == .invalidValue)
        // A length longer than the data is a cut, not an error.
        var longer = RecordBatchReader(ByteBuffer(bytes: reading0(Self.golden) { $0[11] = 0xFF }))
        #expect(try longer.next() == nil)
        #expect(longer.trailingBytes == Self.golden.count)
    }

    func reading0(_ bytes: [UInt8], _ mutate: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = bytes
        mutate(&bytes)
        return bytes
    }

    /// Re-signs a mutated batch so decoding gets past the CRC and into the records.
    static func resign(_ bytes: inout [UInt8]) {
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[21...])) }
        withUnsafeBytes(of: crc.bigEndian) { for (index, byte) in $0.enumerated() { bytes[17 + index] = byte } }
    }

    static func decodeError(_ bytes: [UInt8], maxUncompressedBytes: Int? = nil) -> KafkaDecodingError? {
        do {
            var reader = RecordBatchReader(ByteBuffer(bytes: bytes))
            while let batch = try reader.next() {
                for record in try batch.records(maxUncompressedBytes: maxUncompressedBytes) {
                    _ = record.headers.map(\.key)
                }
            }
            return nil
        } catch {
            return error
        }
    }

    @Test func recordLevelValidation() throws {
        // Record 0 of the golden batch starts at 61 with its length (zig-zag 19 = 0x26).
        func golden(_ mutate: (inout [UInt8]) -> Void) -> KafkaDecodingError? {
            var bytes = Self.golden
            mutate(&bytes)
            Self.resign(&bytes)
            return Self.decodeError(bytes)
        }
        #expect(golden { _ in } == nil)
        #expect(golden { $0[61] = 0x24 }?.kind == .invalidLength, "record length 18, fields take 19")
        #expect(golden { $0[61] = 0x28 }?.kind == .invalidLength, "record length 20, fields take 19")
        #expect(golden { $0[61] = 0x01 }?.kind == .invalidLength, "negative record length")
        #expect(golden { $0[61] = 0xFF }?.kind != nil, "unterminated varint")
        #expect(golden { $0[65] = 0x7E }?.kind == .invalidLength, "key length 63 past the record")
        #expect(golden { $0[65] = 0x03 }?.kind == .invalidLength, "key length -2")
        #expect(golden { $0[74] = 0x01 }?.kind == .invalidLength, "null header key")
        #expect(golden { $0[73] = 0x7E }?.kind == .invalidLength, "63 headers")
        #expect(golden { $0[64] = 0x02 }?.kind == .invalidValue, "offset deltas 1, 1")
        #expect(golden { $0[64] = 0x01 }?.kind == .invalidValue, "offset delta -1")
        #expect(golden { $0[26] = 0x01 }?.kind == .invalidValue, "offset delta 2 > lastOffsetDelta 1")
        #expect(golden { $0[60] = 0x04 }?.kind == .truncated, "4 records declared, 3 present")
        #expect(golden { $0[60] = 0x02 }?.kind == .trailingBytes, "2 records declared, 3 present")
        let error = golden { $0[74] = 0x01 }
        #expect(error?.context.contains("records[0]") == true, "\(String(describing: error))")
    }

    @Test func hugeRecordCountsReserveNothing() throws {
        // recordsCount 2^31 is negative as an int32; 2^31 - 1 cannot fit in the bytes present.
        for count: UInt32 in [0x8000_0000, 0x7FFF_FFFF, 0xFFFF_FFFF, 1_000_000] {
            var bytes = Self.golden
            withUnsafeBytes(of: count.bigEndian) { for (index, byte) in $0.enumerated() { bytes[57 + index] = byte } }
            Self.resign(&bytes)
            let error = Self.decodeError(bytes)
            #expect(error?.kind == .invalidLength, "count \(count): \(String(describing: error))")
        }
        // Compressed: the count is checked against the decompression bound before inflating.
        var reader = RecordBatchReader(try Self.twoBatchStream())
        _ = try reader.next()
        var lz4 = Array(try reader.next()!.bytes.readableBytesView)
        withUnsafeBytes(of: UInt32(0x7FFF_FFFF).bigEndian) { for (index, byte) in $0.enumerated() { lz4[57 + index] = byte } }
        Self.resign(&lz4)
        #expect(Self.decodeError(lz4)?.kind == .invalidLength)
    }

    @Test func decompressionIsBounded() throws {
        let builder = try RecordBatchBuilder(compression: .zstd)
        let line = [UInt8](repeating: 0x41, count: 100_000)
        for index in 0..<30 { line.withUnsafeBytes { builder.append(timestamp: Int64(index), key: nil, value: $0) } }
        let batch = try RecordBatch(bytes: builder.finish())
        #expect(batch.size < 10_000)
        #expect(throws: KafkaDecodingError.self) { try batch.records(maxUncompressedBytes: 1_000_000) }
        do {
            _ = try batch.records(maxUncompressedBytes: 1_000_000)
        } catch {
            #expect(error.kind == .decompressionFailed)
        }
        #expect(try batch.records(maxUncompressedBytes: 4_000_000).count == 30)
        // The default bound is 1 MiB here (256 x ~1 KiB compressed): too small for 3 MB of "A"s.
        #expect(RecordBatch.defaultMaxUncompressedBytes(compressedSize: batch.size) == 1 << 20)
        #expect(throws: KafkaDecodingError.self) { try batch.records() }
        #expect(RecordBatch.defaultMaxUncompressedBytes(compressedSize: 1 << 30) == 64 << 20)
    }

    @Test func corruptCompressedPayloadThrows() throws {
        for compression in KafkaCompression.allCases where compression != .none {
            let builder = try RecordBatchBuilder(compression: compression)
            var headers = EncodedRecordHeaders()
            for index in 0..<50 {
                builder.append(TestRecord(timestamp: Int64(index), key: nil, value: "line \(index) text text"), headers: &headers)
            }
            var bytes = Array(try builder.finish().readableBytesView)
            bytes.removeLast(3)
            bytes[11] -= 3  // batchLength
            Self.resign(&bytes)
            let error = Self.decodeError(bytes)
            #expect(error?.kind == .decompressionFailed, "\(compression): \(String(describing: error))")
        }
    }

    @Test("seeded random mutations only ever throw KafkaDecodingError")
    func randomMutations() throws {
        let seed = SplitMix64.testSeed()
        print("RecordBatchCorruptionTests.randomMutations seed: \(seed)")
        var random = SplitMix64(seed: seed)
        var streams: [[UInt8]] = [Array(try Self.twoBatchStream().readableBytesView)]
        for compression in KafkaCompression.allCases {
            let builder = try RecordBatchBuilder(compression: compression)
            var headers = EncodedRecordHeaders()
            for index in 0..<8 {
                builder.append(TestRecord(
                    timestamp: Int64(index) * 1000, key: index % 2 == 0 ? nil : "k\(index)",
                    value: String(repeating: "log line \(index) ", count: index + 1),
                    headers: [("host", "h"), ("origin", index % 3 == 0 ? nil : "o\(index)")]), headers: &headers)
            }
            streams.append(Array(try builder.finish().readableBytesView))
        }
        var outcomes: [String: Int] = [:]
        for round in 0..<3_000 {
            var bytes = streams[round % streams.count]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &random)
                default: bytes.removeSubrange(index..<min(bytes.count, index + Int.random(in: 1...8, using: &random)))
                }
                if bytes.isEmpty { break }
            }
            // Mostly re-signed, so the mutation reaches the records instead of stopping at the CRC.
            if round % 4 != 0, bytes.count > 21 { Self.resign(&bytes) }
            let error = Self.decodeError(bytes, maxUncompressedBytes: 1 << 20)
            // The raw fast-path validator and the ByteBuffer readers that explain failures agree.
            #expect(error?.detail != "records failed validation", "seed \(seed) round \(round)")
            outcomes[error.map { $0.kind.rawValue } ?? "ok", default: 0] += 1
        }
        print("RecordBatchCorruptionTests.randomMutations outcomes: \(outcomes.sorted { $0.key < $1.key })")
        #expect(outcomes.count > 3, "mutations reached several kinds of checks (seed \(seed))")
    }
}
