import Compression
import NIOCore

extension Compressor {
    /// Compresses `bytes` into a fresh array.
    func compress(_ bytes: [UInt8]) throws(CompressionError) -> [UInt8] {
        var output = ByteBuffer()
        // Array.withUnsafeBytes rethrows untyped errors, so carry the typed one out in a Result.
        try bytes.withUnsafeBytes { raw in
            Result { () throws(CompressionError) in try self.compress(raw, appendingTo: &output) }
        }.get()
        return output.readBytes(length: output.readableBytes)!
    }
}

extension Decompressor {
    /// Decompresses `bytes` into a fresh array, checking that the returned count matches what was appended.
    func decompress(_ bytes: [UInt8], maxOutputBytes: Int) throws(CompressionError) -> [UInt8] {
        var output = ByteBuffer()
        let count = try bytes.withUnsafeBytes { raw in
            Result { () throws(CompressionError) -> Int in
                try self.decompress(raw, appendingTo: &output, maxOutputBytes: maxOutputBytes)
            }
        }.get()
        precondition(count == output.readableBytes, "decompress returned \(count) but appended \(output.readableBytes)")
        return output.readBytes(length: output.readableBytes)!
    }

    /// Decompresses `bytes`, returning the error instead of throwing it (nil on success).
    func decompressionError(_ bytes: [UInt8], maxOutputBytes: Int) -> CompressionError? {
        do {
            _ = try self.decompress(bytes, maxOutputBytes: maxOutputBytes)
            return nil
        } catch {
            return error
        }
    }
}

/// An algorithm and a level, as a test argument.
struct CodecConfiguration: Sendable, CustomStringConvertible {
    var algorithm: CompressionAlgorithm
    var level: Int?

    var description: String { "\(self.algorithm.rawValue) level \(self.level.map(String.init) ?? "default")" }

    /// Several levels per algorithm, covering defaults, both ends and (for lz4) fast and HC.
    static let all: [CodecConfiguration] = [
        .init(algorithm: .gzip, level: nil), .init(algorithm: .gzip, level: 1), .init(algorithm: .gzip, level: 9),
        .init(algorithm: .lz4, level: nil), .init(algorithm: .lz4, level: 1), .init(algorithm: .lz4, level: 3),
        .init(algorithm: .lz4, level: 12),
        .init(algorithm: .zstd, level: nil), .init(algorithm: .zstd, level: -5), .init(algorithm: .zstd, level: 1),
        .init(algorithm: .zstd, level: 19),
        .init(algorithm: .snappy, level: nil),
    ]
}
