import TributaryTestSupport
import NIOCore
import Testing

@testable import KafkaProtocol

/// `forEachRecord(verifyingChecksum: true)`: the CRC-32C checked by the visitor (for lz4 block by block while
/// decompressing) accepts what `verifyChecksum()` accepts, refuses what it refuses with the same error, and
/// visits nothing of a refused batch.
@Suite("Record batch visitor checking the CRC")
struct RecordBatchVisitorChecksumTests {
    /// Log-like records whose text spans several 64 KiB lz4 blocks.
    static func manyRecords(seed: UInt64) -> [TestRecord] {
        var random = SplitMix64(seed: seed)
        return (0..<3_000).map { index in
            let noise = (0..<4).map { _ in String(random.next(), radix: 16) }.joined(separator: " ")
            return TestRecord(
                timestamp: 1_700_000_000_000 + Int64(index), key: index % 7 == 0 ? "k\(index)" : nil,
                value: "line \(index) GET /api/v1/items status=200 \(noise)",
                headers: index % 5 == 0 ? [("host", "web-1")] : [])
        }
    }

    static func batch(_ records: [TestRecord], compression: KafkaCompression) throws -> RecordBatch {
        let builder = try RecordBatchBuilder(compression: compression)
        builder.baseOffset = 500
        return try RecordBatch(bytes: try encodeBatch(records, with: builder))
    }

    /// The records visited with the CRC checked by the visitor, or its error; `visited` counts `body` calls.
    static func visitChecking(
        _ batch: RecordBatch, decompressor: RecordBatchDecompressor
    ) -> (records: [TestRecord], error: Error?) {
        var seen: [TestRecord] = []
        do {
            _ = try batch.forEachRecord(verifyingChecksum: true, decompressor: decompressor) { record in
                seen.append(RecordBatchVisitorTests.testRecord(record))
                return true
            }
            return (seen, nil)
        } catch {
            return (seen, error)
        }
    }

    @Test("a valid batch visits what the unchecked visitor visits", arguments: KafkaCompression.allCases)
    func validBatch(compression: KafkaCompression) throws {
        let seed = SplitMix64.testSeed()
        let records = Self.manyRecords(seed: seed)
        let batch = try Self.batch(records, compression: compression)
        let decompressor = RecordBatchDecompressor()
        for _ in 0..<2 {  // the second time with the decompressor's buffer reused
            let (visited, error) = Self.visitChecking(batch, decompressor: decompressor)
            #expect(error == nil, "seed \(seed)")
            #expect(visited == records, "seed \(seed)")
        }
    }

    /// A corrupted byte covered by the CRC: either the header no longer parses (as with the reader), or the
    /// visitor throws exactly `verifyChecksum()`'s error and visits nothing.
    static func checkCorruption(
        _ bytes: ByteBuffer, at index: Int, flip: UInt8, decompressor: RecordBatchDecompressor
    ) {
        var corrupt = bytes
        corrupt.setInteger(corrupt.getInteger(at: index, as: UInt8.self)! ^ flip, at: index)
        guard let batch = try? RecordBatch(bytes: corrupt) else { return }
        let expected = #expect(throws: KafkaDecodingError.self) { try batch.verifyChecksum() }
        let (visited, error) = Self.visitChecking(batch, decompressor: decompressor)
        let thrown = error as? KafkaDecodingError
        #expect(thrown?.kind == .checksumMismatch, "flip 0x\(String(flip, radix: 16)) at byte \(index): \(String(describing: error))")
        #expect(thrown?.context == expected?.context && thrown?.detail == expected?.detail, "byte \(index)")
        #expect(visited.isEmpty, "byte \(index): \(visited.count) records visited of a corrupt batch")
    }

    @Test("a corrupt byte anywhere in a multi-block batch is reported as a CRC mismatch", arguments: KafkaCompression.allCases)
    func corruptBatch(compression: KafkaCompression) throws {
        let seed = SplitMix64.testSeed()
        let batch = try Self.batch(Self.manyRecords(seed: seed), compression: compression)
        let bytes = batch.bytes
        let decompressor = RecordBatchDecompressor()
        var random = SplitMix64(seed: seed)
        // Every header byte the CRC covers, the first bytes of the records (the lz4 frame header and first
        // block size), the last ones (end mark), and random bytes in between.
        let covered = RecordBatchHeader.FieldOffset.attributes..<bytes.readableBytes
        var indices = Array(covered.prefix(RecordBatchHeader.size - covered.lowerBound + 16)) + Array(covered.suffix(16))
        indices += (0..<60).map { _ in Int.random(in: covered, using: &random) }
        for index in indices {
            Self.checkCorruption(bytes, at: index, flip: 0x01, decompressor: decompressor)
        }
        // The batch still decodes afterwards with the same decompressor.
        #expect(Self.visitChecking(batch, decompressor: decompressor).error == nil, "seed \(seed)")
    }
}
