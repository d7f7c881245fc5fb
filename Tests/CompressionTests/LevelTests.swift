import Compression
import CZstd
import Testing

@Suite struct LevelTests {
    @Test("levels outside each algorithm's range throw .invalidLevel", arguments: [
        (CompressionAlgorithm.gzip, 0), (.gzip, 10), (.gzip, -1),
        (.lz4, -1), (.lz4, 13),
        (.zstd, 0), (.zstd, Int(ZSTD_maxCLevel()) + 1), (.zstd, Int(ZSTD_minCLevel()) - 1), (.zstd, Int.max),
        (.snappy, 0), (.snappy, 1),
    ])
    func invalid(_ algorithm: CompressionAlgorithm, _ level: Int) {
        let error = #expect(throws: CompressionError.self) { try Compressor(algorithm: algorithm, level: level) }
        #expect(error?.kind == .invalidLevel)
        #expect(error?.algorithm == algorithm)
        #expect(error?.detail.contains("\(level)") == true, "\(String(describing: error))")
    }

    @Test("range ends and defaults are accepted and compress", arguments: [
        (CompressionAlgorithm.gzip, 1), (.gzip, 9), (.lz4, 0), (.lz4, 2), (.lz4, 12),
        (.zstd, Int(ZSTD_minCLevel())), (.zstd, -1), (.zstd, 1), (.zstd, Int(ZSTD_maxCLevel())),
    ] as [(CompressionAlgorithm, Int)])
    func valid(_ algorithm: CompressionAlgorithm, _ level: Int) throws {
        let compressor = try Compressor(algorithm: algorithm, level: level)
        #expect(compressor.level == level)
        let input = Array(String(repeating: "level check ", count: 100).utf8)
        #expect(try byteDifference(Decompressor(algorithm: algorithm).decompress(compressor.compress(input), maxOutputBytes: input.count), input) == nil)
    }

    @Test func levelRanges() {
        #expect(Compressor.levelRange(for: .gzip) == 1...9)
        #expect(Compressor.levelRange(for: .lz4) == 0...12)
        #expect(Compressor.levelRange(for: .zstd) == Int(ZSTD_minCLevel())...Int(ZSTD_maxCLevel()))
        #expect(Compressor.levelRange(for: .snappy) == nil)
    }

    @Test func errorDescription() {
        let error = CompressionError(kind: .corruptInput, algorithm: .zstd, detail: "frame 1: Unknown frame descriptor")
        #expect(error.description == "zstd corruptInput: frame 1: Unknown frame descriptor")
    }
}
