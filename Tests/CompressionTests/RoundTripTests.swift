import TributaryTestSupport
import Compression
import NIOCore
import Testing

@Suite struct RoundTripTests {
    /// Compresses `input` after a prefix already in the buffer, decompresses it with an exact limit after another
    /// prefix, and checks the bytes, the returned count, and that one byte less of limit is refused.
    private func checkRoundTrip(
        _ input: [UInt8], named name: String,
        compressor: Compressor, decompressor: Decompressor,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var compressed = ByteBuffer(string: "pre")
        try compressor.compress(ByteBuffer(bytes: input), appendingTo: &compressed)
        #expect(compressed.readString(length: 3) == "pre", "compress must append", sourceLocation: sourceLocation)

        var output = ByteBuffer(string: "xy")
        let count = try decompressor.decompress(compressed, appendingTo: &output, maxOutputBytes: input.count)
        #expect(count == input.count, "\(name): returned count", sourceLocation: sourceLocation)
        #expect(output.readString(length: 2) == "xy", "\(name): decompress must append", sourceLocation: sourceLocation)
        #expect(byteDifference(output.getBytes(at: output.readerIndex, length: output.readableBytes), input) == nil, "\(name): round trip differs", sourceLocation: sourceLocation)

        if input.count > 0 {
            var tooSmall = ByteBuffer(string: "z")
            let error = #expect(throws: CompressionError.self, "\(name): limit one byte short", sourceLocation: sourceLocation) {
                try decompressor.decompress(compressed, appendingTo: &tooSmall, maxOutputBytes: input.count - 1)
            }
            #expect(error?.kind == .outputLimitExceeded, "\(name): \(String(describing: error))", sourceLocation: sourceLocation)
            #expect(tooSmall == ByteBuffer(string: "z"), "\(name): output untouched on error", sourceLocation: sourceLocation)
        }
    }

    @Test("empty, 1 byte, each loghub file, random bytes", arguments: CodecConfiguration.all)
    func smallInputs(_ configuration: CodecConfiguration) throws {
        let compressor = try Compressor(algorithm: configuration.algorithm, level: configuration.level)
        #expect(compressor.algorithm == configuration.algorithm)
        #expect(compressor.level == configuration.level)
        // One decompressor for everything: contexts must be reusable.
        let decompressor = Decompressor(algorithm: configuration.algorithm)
        try checkRoundTrip([], named: "empty", compressor: compressor, decompressor: decompressor)
        try checkRoundTrip([0x41], named: "1 byte", compressor: compressor, decompressor: decompressor)
        for file in try LogCorpus.files() {
            try checkRoundTrip(file.bytes, named: file.name, compressor: compressor, decompressor: decompressor)
        }
        var random = SplitMix64(seed: 0x5EED_0001)
        try checkRoundTrip(random.bytes(300_000), named: "random 300000 bytes", compressor: compressor, decompressor: decompressor)
        // Exactly one and a bit of snappy's 32 KiB xerial block, and of LZ4's 64 KiB block.
        try checkRoundTrip(random.bytes(32 * 1024), named: "random 32 KiB", compressor: compressor, decompressor: decompressor)
        try checkRoundTrip(random.bytes(64 * 1024 + 1), named: "random 64 KiB + 1", compressor: compressor, decompressor: decompressor)
    }

    @Test("4 MiB of concatenated log text", arguments: [
        CodecConfiguration(algorithm: .gzip, level: nil), CodecConfiguration(algorithm: .gzip, level: 9),
        CodecConfiguration(algorithm: .lz4, level: nil), CodecConfiguration(algorithm: .lz4, level: 9),
        CodecConfiguration(algorithm: .zstd, level: nil), CodecConfiguration(algorithm: .zstd, level: 12),
        CodecConfiguration(algorithm: .snappy, level: nil),
    ])
    func fourMiBOfLogs(_ configuration: CodecConfiguration) throws {
        let input = try LogCorpus.fourMiB.get()
        let compressor = try Compressor(algorithm: configuration.algorithm, level: configuration.level)
        let decompressor = Decompressor(algorithm: configuration.algorithm)
        try checkRoundTrip(input, named: "4 MiB logs", compressor: compressor, decompressor: decompressor)
        // And again through the same contexts, which must have been reset.
        try checkRoundTrip(input, named: "4 MiB logs, second pass", compressor: compressor, decompressor: decompressor)
    }

    @Test("contexts keep working after a failed call", arguments: CompressionAlgorithm.allCases)
    func reuseAfterError(_ algorithm: CompressionAlgorithm) throws {
        let compressor = try Compressor(algorithm: algorithm)
        let decompressor = Decompressor(algorithm: algorithm)
        let input = try LogCorpus.files()[0].bytes
        let compressed = try compressor.compress(input)
        // Fail mid-stream (truncated), fail on the limit, then succeed.
        #expect(decompressor.decompressionError(Array(compressed.prefix(compressed.count / 2)), maxOutputBytes: input.count) != nil)
        #expect(decompressor.decompressionError(compressed, maxOutputBytes: 100)?.kind == .outputLimitExceeded)
        #expect(try byteDifference(decompressor.decompress(compressed, maxOutputBytes: input.count), input) == nil)
    }

    @Test("ByteBuffer input: only the readable bytes count, reader index unmoved", arguments: CompressionAlgorithm.allCases)
    func byteBufferInput(_ algorithm: CompressionAlgorithm) throws {
        let compressor = try Compressor(algorithm: algorithm)
        let decompressor = Decompressor(algorithm: algorithm)
        var input = ByteBuffer(string: "skip me|")
        input.writeString(String(repeating: "payload line\n", count: 500))
        input.moveReaderIndex(forwardBy: 8)
        var compressed = ByteBuffer()
        try compressor.compress(input, appendingTo: &compressed)
        #expect(input.readerIndex == 8)
        var output = ByteBuffer()
        try decompressor.decompress(compressed, appendingTo: &output, maxOutputBytes: 1 << 20)
        #expect(output == input)
    }

    @Test("concatenated frames and members decode to the concatenation", arguments: [
        CompressionAlgorithm.gzip, .lz4, .zstd,
    ])
    func concatenated(_ algorithm: CompressionAlgorithm) throws {
        let compressor = try Compressor(algorithm: algorithm)
        let parts = try LogCorpus.files().prefix(3).map(\.bytes) + [[]]
        var compressed: [UInt8] = []
        for part in parts { compressed += try compressor.compress(part) }
        let expected = parts.flatMap { $0 }
        let decompressor = Decompressor(algorithm: algorithm)
        #expect(try byteDifference(decompressor.decompress(compressed, maxOutputBytes: expected.count), expected) == nil)
        #expect(decompressor.decompressionError(compressed, maxOutputBytes: expected.count - 1)?.kind == .outputLimitExceeded)
    }

    @Test("skippable frames (shared by LZ4 and zstd) are skipped", arguments: [CompressionAlgorithm.lz4, .zstd])
    func skippableFrames(_ algorithm: CompressionAlgorithm) throws {
        let input = Array("some log line\n".utf8)
        let frame = try Compressor(algorithm: algorithm).compress(input)
        // Magic 0x184D2A5X little-endian, 4-byte little-endian size, then that many opaque bytes.
        let skippable: [UInt8] = [0x53, 0x2A, 0x4D, 0x18, 5, 0, 0, 0, 1, 2, 3, 4, 5]
        let decompressor = Decompressor(algorithm: algorithm)
        #expect(try byteDifference(decompressor.decompress(skippable + frame + skippable, maxOutputBytes: input.count), input) == nil)
        #expect(try decompressor.decompress(skippable, maxOutputBytes: 0) == [])
        #expect(decompressor.decompressionError(Array(skippable.dropLast()), maxOutputBytes: 100)?.kind == .corruptInput)
    }

    @Test("snappy writes xerial framing with one block per 32 KiB of input")
    func snappyXerialLayout() throws {
        let input = try LogCorpus.concatenated(bytes: 100_000)
        let compressed = try Compressor(algorithm: .snappy).compress(input)
        #expect(Array(compressed.prefix(16)) == [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])
        var offset = 16
        var blocks = 0
        while offset + 4 <= compressed.count {
            let length = compressed[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            offset += 4 + length
            blocks += 1
        }
        #expect(offset == compressed.count)
        #expect(blocks == 4)  // 3 × 32768 + 1696
        #expect(try Compressor(algorithm: .snappy).compress([]) == Array(compressed.prefix(16)))
    }
}
