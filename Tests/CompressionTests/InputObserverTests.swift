import Compression
import NIOCore
import Testing

/// `Decompressor.decompress(_:appendingTo:maxOutputBytes:observingInput:)`: the observer sees every input byte
/// once, in order (lz4 block by block), and the output is what the plain call produces.
@Suite("Decompressor input observer")
struct InputObserverTests {
    /// Decompresses `compressed`, returning the output and the pieces the observer saw.
    static func observe(
        _ compressed: [UInt8], with decompressor: Decompressor, maxOutputBytes: Int
    ) throws -> (output: [UInt8], pieces: [[UInt8]]) {
        var pieces: [[UInt8]] = []
        var output = ByteBuffer()
        try compressed.withUnsafeBytes { raw in
            Result { () throws(CompressionError) -> Int in
                try decompressor.decompress(raw, appendingTo: &output, maxOutputBytes: maxOutputBytes) {
                    pieces.append(Array($0))
                }
            }
        }.get()
        return (Array(output.readableBytesView), pieces)
    }

    @Test("every input byte once, in order", arguments: CodecConfiguration.all)
    func seesTheWholeInput(_ configuration: CodecConfiguration) throws {
        let text = try LogCorpus.concatenated(bytes: 300 * 1024)
        let compressor = try Compressor(algorithm: configuration.algorithm, level: configuration.level)
        // Two frames/members back to back (except snappy, which reads one xerial stream): the observer follows both.
        let tail = configuration.algorithm == .snappy ? [] : Array(text.prefix(1000))
        let compressed = try compressor.compress(text) + (tail.isEmpty ? [] : compressor.compress(tail))
        let decompressor = Decompressor(algorithm: configuration.algorithm)
        let (output, pieces) = try Self.observe(compressed, with: decompressor, maxOutputBytes: text.count + tail.count)
        #expect(output == text + tail)
        #expect(pieces.flatMap { $0 } == compressed)
        if configuration.algorithm == .lz4 {
            // 300 KiB of text is at least five 64 KiB blocks, each observed on its own.
            #expect(pieces.count >= 5, "\(pieces.count) pieces")
        }
    }

    @Test("lz4: an output limit mid-block still observes the input in order up to the error")
    func lz4OutputLimit() throws {
        let text = try LogCorpus.concatenated(bytes: 200 * 1024)
        let compressed = try Compressor(algorithm: .lz4, level: nil).compress(text)
        var seen: [UInt8] = []
        var output = ByteBuffer()
        let error = #expect(throws: CompressionError.self) {
            try compressed.withUnsafeBytes { raw in
                Result { () throws(CompressionError) -> Int in
                    try Decompressor(algorithm: .lz4).decompress(raw, appendingTo: &output, maxOutputBytes: 100_000) {
                        seen.append(contentsOf: $0)
                    }
                }
            }.get()
        }
        #expect(error?.kind == .outputLimitExceeded)
        #expect(seen == Array(compressed.prefix(seen.count)))
    }
}
