import CBare
import KafkaProtocol
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What each record carries besides its timestamp and value.
enum RecordShape: String, CaseIterable {
    /// No key, no headers.
    case plain
    /// No key; headers `host`, `source` and `origin` (a stream identity and byte offset), as the agent sends.
    case headers = "3 headers"
}

/// Our side: `RecordBatchBuilder` to encode, `RecordBatchReader` to decode.
final class OursWorkload {
    let corpus: Corpus
    let builder: RecordBatchBuilder
    let shape: RecordShape
    let fixedHeaders: EncodedRecordHeaders
    /// `<16 hex identity>:<16 hex byte offset>`; the offset digits are rewritten per line.
    let origin: UnsafeMutableRawBufferPointer

    init(corpus: Corpus, compression: KafkaCompression, shape: RecordShape) throws {
        self.corpus = corpus
        self.builder = try RecordBatchBuilder(compression: compression)
        self.shape = shape
        var fixed = EncodedRecordHeaders()
        fixed.append(key: "host", value: "web-01.eu-west.example.internal")
        fixed.append(key: "source", value: "/var/log/syslog")
        self.fixedHeaders = fixed
        origin = .allocate(byteCount: 33, alignment: 8)
        origin.copyBytes(from: "9f86d081884c7d65:0000000000000000".utf8)
    }

    deinit { origin.deallocate() }

    /// Appends every line of `batch` as a record and finishes the batch into `output`.
    /// Returns the batch's size.
    func encode(_ batch: Batch, into output: inout ByteBuffer) throws -> Int {
        let baseTimestamp: Int64 = 1_764_072_000_000
        // Per-record state lives in locals (`let`s of this class are fine too): a class `var`
        // would cost a dynamically enforced exclusive access per record.
        let builder = self.builder
        let corpus = self.corpus
        switch shape {
        case .plain:
            for index in batch.firstLine..<(batch.firstLine + batch.lineCount) {
                builder.append(timestamp: baseTimestamp + Int64(index >> 4), key: nil, value: corpus.line(index))
            }
        case .headers:
            var headers = EncodedRecordHeaders(capacity: 256)
            let origin = self.origin
            for index in batch.firstLine..<(batch.firstLine + batch.lineCount) {
                headers.removeAll()
                headers.append(contentsOf: fixedHeaders)
                writeHex(UInt64(corpus.lineStarts[index]), into: origin, at: 17)
                headers.append(key: "origin", value: UnsafeRawBufferPointer(origin))
                builder.append(
                    timestamp: baseTimestamp + Int64(index >> 4), key: nil, value: corpus.line(index), headers: headers)
            }
        }
        return try builder.finish(into: &output)
    }

    /// How "ours decode" reads the records of a batch.
    enum DecodePath: String, CaseIterable {
        /// `RecordBatch.forEachRecord`: one pass, borrowed raw views (what hot paths use).
        case visitor = "forEachRecord"
        /// The same without checking the CRC-32C (librdkafka's default, `check.crcs=false`; bare decompression
        /// verifies nothing either): what the checksum costs.
        case visitorUnverified = "forEachRecord, CRC not checked"
        /// `RecordBatch.records()`: validates all, then iterates `Record`s with `ByteBuffer` slices.
        case records = "records()"
        /// Diagnostic floor: the reader (CRC) and decompression into the reused buffer, no record parsing.
        case decompressOnly = "CRC + decompress only"
    }

    /// Reads every batch of the fetches (CRCs verified, except on the unverified visitor path) and every record's
    /// value length (which depends on parsing the record, so nothing can be elided). The visitor does only that, the
    /// least a consumer does per record (the bare call does no per-record work at all); `records()` also reads each
    /// value's first byte. Returns the records, value bytes, and the sum of first bytes (`records()` only) for the checksum.
    static func decode(
        _ fetches: ArraySlice<ByteBuffer>, decompressor: RecordBatchDecompressor, path: DecodePath
    ) throws -> (records: Int, valueBytes: Int, firstBytes: Int) {
        var records = 0
        var valueBytes = 0
        var firstBytes = 0
        for fetch in fetches {
            // The visitor checks each batch's CRC-32C itself, while decompressing; `records()` and the floor in the
            // reader; the unverified visitor nowhere.
            var reader = RecordBatchReader(fetch, verifyingChecksums: path == .records || path == .decompressOnly)
            while let batch = try reader.next() {
                switch path {
                case .visitor, .visitorUnverified:
                    records &+= try batch.forEachRecord(verifyingChecksum: path == .visitor, decompressor: decompressor) {
                        record in
                        if let value = record.value { valueBytes &+= value.count }
                        return true
                    }
                case .decompressOnly:
                    records &+= Int(batch.header.recordsCount)
                    if let algorithm = batch.header.attributes.compression.algorithm {
                        let payload = try decompressor.decompress(
                            batch.recordsBytes, algorithm: algorithm, maxOutputBytes: 64 << 20)
                        valueBytes &+= payload.readableBytes
                    } else {
                        valueBytes &+= batch.recordsBytes.readableBytes
                    }
                case .records:
                    for record in try batch.records(decompressor: decompressor) {
                        records &+= 1
                        if let value = record.value {
                            valueBytes &+= value.readableBytes
                            if let first = value.getInteger(at: value.readerIndex, as: UInt8.self) { firstBytes &+= Int(first) }
                        }
                    }
                }
            }
            guard !reader.stoppedEarly else { throw BenchError("a fetch ends in a partial batch") }
        }
        return (records, valueBytes, firstBytes)
    }

    /// Cuts encoded batches into fetch responses of at most `maxBytes` each (at least one batch),
    /// as a consumer receives them (Kafka's `max.partition.fetch.bytes` defaults to 1 MiB).
    ///
    /// Also keeps the reader clear of a `ByteBuffer` limit: a slice starting more than 16 MiB into
    /// its storage is a copy, so a reader over one huge buffer would copy every batch past 16 MiB.
    static func fetches(of encoded: ByteBuffer, maxBytes: Int) throws -> [ByteBuffer] {
        var fetches: [ByteBuffer] = []
        var start = encoded.readerIndex
        var end = start
        while end < encoded.writerIndex {
            let size = try encoded.getKafkaRecordBatchHeader(at: end).totalSize
            if end > start && end + size - start > maxBytes {
                fetches.append(ByteBuffer(bytes: encoded.readableBytesView[start..<end]))
                start = end
            }
            end += size
        }
        if end > start { fetches.append(ByteBuffer(bytes: encoded.readableBytesView[start..<end])) }
        return fetches
    }
}

@inline(__always)
private func writeHex(_ value: UInt64, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
    let digits: StaticString = "0123456789abcdef"
    let table = digits.utf8Start
    for i in 0..<16 {
        buffer[offset + i] = table[Int((value >> UInt64(60 - 4 * i)) & 0xF)]
    }
}

/// The bare C library calls, one chunk per call: each batch's text, or (for the format ceiling)
/// each batch's encoded records.
final class BareWorkload {
    /// The uncompressed chunks (memory owned elsewhere, alive as long as this workload).
    let chunks: [UnsafeRawBufferPointer]
    let codec: OpaquePointer
    /// Compressed chunks, back to back; chunk `i` starts at `offsets[i]` and may take up to
    /// `capacities[i]` bytes; its size is `sizes[i]`.
    let compressed: UnsafeMutableRawBufferPointer
    let offsets: [Int]
    let capacities: [Int]
    /// Sizes of the compressed chunks (plain memory: written per chunk without exclusivity checks).
    let sizes: UnsafeMutableBufferPointer<Int>
    /// Where decompression writes (one chunk at a time).
    let output: UnsafeMutableRawBufferPointer

    init(chunks: [UnsafeRawBufferPointer], kafkaCodecID: Int) throws {
        guard let codec = cbare_codec_create(Int32(kafkaCodecID)) else {
            throw BenchError("cannot create the bare codec \(kafkaCodecID)")
        }
        self.chunks = chunks
        self.codec = codec
        var total = 0
        var offsets: [Int] = []
        var capacities: [Int] = []
        var largest = 0
        for chunk in chunks {
            let bound = cbare_compress_bound(codec, chunk.count)
            offsets.append(total)
            capacities.append(bound)
            total += bound
            largest = max(largest, chunk.count)
        }
        self.offsets = offsets
        self.capacities = capacities
        sizes = .allocate(capacity: chunks.count)
        sizes.initialize(repeating: 0)
        compressed = .allocate(byteCount: max(total, 1), alignment: 64)
        output = .allocate(byteCount: max(largest, 1), alignment: 64)
        // Touch every page once, so no run pays for first faults.
        compressed.initializeMemory(as: UInt8.self, repeating: 0)
        output.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        cbare_codec_free(codec)
        compressed.deallocate()
        output.deallocate()
        sizes.deallocate()
    }

    /// Compressed bytes of the last `compress` of every chunk.
    var compressedBytes: Int { sizes.reduce(0, +) }

    /// Compresses chunk `i`; returns the compressed size.
    func compress(_ i: Int) throws -> Int {
        let chunk = chunks[i]
        let size = cbare_compress(codec, compressed.baseAddress! + offsets[i], capacities[i], chunk.baseAddress!, chunk.count)
        guard size > 0 else { throw BenchError("bare compression failed for chunk \(i)") }
        sizes[i] = size
        return size
    }

    /// Decompresses chunk `i`; returns the decompressed size. With `verify`, also compares the
    /// result with the original chunk.
    func decompress(_ i: Int, verify: Bool = false) throws -> Int {
        let chunk = chunks[i]
        let size = cbare_decompress(codec, output.baseAddress!, output.count, compressed.baseAddress! + offsets[i], sizes[i])
        guard size == chunk.count else { throw BenchError("bare decompression failed for chunk \(i)") }
        if verify {
            guard memcmp(output.baseAddress!, chunk.baseAddress!, size) == 0 else {
                throw BenchError("bare round trip of chunk \(i) differs from the original")
            }
        }
        return size &+ Int(output.load(fromByteOffset: size - 1, as: UInt8.self))
    }
}

/// Each batch's records as `RecordBatchBuilder` encodes them before compressing (plain shape): the
/// bytes a codec really has to compress, for the bare codec's speed on the format itself.
final class EncodedRecords {
    let storage: ByteBuffer
    let chunks: [UnsafeRawBufferPointer]

    init(corpus: Corpus, batches: [Batch]) throws {
        let plain = try OursWorkload(corpus: corpus, compression: .none, shape: .plain)
        var storage = ByteBufferAllocator().buffer(capacity: corpus.text.count + corpus.lineCount * 16 + batches.count * 64)
        var ranges: [Range<Int>] = []
        for batch in batches {
            let start = storage.writerIndex
            _ = try plain.encode(batch, into: &storage)
            ranges.append((start + RecordBatchHeader.size)..<storage.writerIndex)
        }
        self.storage = storage
        // `storage` is never written again, so pointers into it stay valid while it is held.
        let base = storage.withUnsafeReadableBytesWithStorageManagement { bytes, _ in bytes.baseAddress! }
        self.chunks = ranges.map { UnsafeRawBufferPointer(start: base + $0.lowerBound, count: $0.count) }
    }
}
