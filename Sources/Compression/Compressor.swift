import CZlib
import CZstd
import NIOCore

/// A reusable compressor for one algorithm and level.
///
/// It owns the C library's compression context and reuses it across calls, so compressing allocates nothing
/// beyond growing the output buffer (except snappy, whose C API allocates its hash table inside every call).
/// Each call writes one complete unit in the algorithm's Kafka format:
/// - gzip: one RFC 1952 gzip member (deflate, 32 KiB window);
/// - lz4: one LZ4 frame (independent 64 KiB blocks, content size declared, no checksums);
/// - zstd: one zstd frame (content size declared, no checksum);
/// - snappy: xerial framing as snappy-java writes it (16-byte header, then one length-prefixed raw block per
///   32 KiB of input).
///
/// - Important: Not `Sendable`: use one compressor per task or thread.
public final class Compressor {
    /// The algorithm this compressor writes.
    public let algorithm: CompressionAlgorithm
    /// The level it was created with; `nil` means the algorithm's default.
    public let level: Int?

    private enum Backend {
        case gzip(GzipDeflater)
        case lz4(LZ4FrameCompressor)
        case zstd(ZstdCompressor)
        case snappy
    }

    private let backend: Backend

    /// The levels each algorithm accepts (`nil` always means the default).
    ///
    /// - gzip: 1...9 (default: zlib's default, 6).
    /// - lz4: 0...12 (LZ4F's compressionLevel; 0...2 are the fast compressor, 3...12 LZ4 HC; default 0).
    /// - zstd: `ZSTD_minCLevel()`...`ZSTD_maxCLevel()` except 0 (libzstd's alias for "default"; default 3).
    /// - snappy: no levels.
    /// - Parameter algorithm: The algorithm to ask about.
    /// - Returns: The accepted range, or `nil` for an algorithm without levels.
    public static func levelRange(for algorithm: CompressionAlgorithm) -> ClosedRange<Int>? {
        switch algorithm {
        case .gzip: return 1...9
        case .lz4: return 0...12
        case .zstd: return Int(ZSTD_minCLevel())...Int(ZSTD_maxCLevel())
        case .snappy: return nil
        }
    }

    /// Creates a compressor and its C context.
    ///
    /// - Parameters:
    ///   - algorithm: The format to write.
    ///   - level: The compression level, or `nil` for the algorithm's default. See ``levelRange(for:)``.
    /// - Throws: `.invalidLevel` if `level` is outside the algorithm's range (or non-nil for snappy);
    ///   `.libraryFailure` if the C library cannot create its context.
    public init(algorithm: CompressionAlgorithm, level: Int? = nil) throws(CompressionError) {
        self.algorithm = algorithm
        self.level = level
        if let level {
            guard let range = Self.levelRange(for: algorithm) else {
                throw CompressionError(
                    kind: .invalidLevel, algorithm: algorithm,
                    detail: "\(algorithm.rawValue) has no compression levels (got \(level)); pass nil"
                )
            }
            guard range.contains(level), !(algorithm == .zstd && level == 0) else {
                let zeroNote = algorithm == .zstd ? ", except 0; pass nil for the default" : ""
                throw CompressionError(
                    kind: .invalidLevel, algorithm: algorithm,
                    detail: "level \(level) is outside \(range.lowerBound)...\(range.upperBound)\(zeroNote)"
                )
            }
        }
        switch algorithm {
        case .gzip:
            self.backend = .gzip(try GzipDeflater(level: level.map { Int32($0) } ?? Z_DEFAULT_COMPRESSION))
        case .lz4:
            self.backend = .lz4(try LZ4FrameCompressor(level: Int32(level ?? 0)))
        case .zstd:
            self.backend = .zstd(try ZstdCompressor(level: level.map { Int32($0) } ?? ZSTD_defaultCLevel()))
        case .snappy:
            self.backend = .snappy
        }
    }

    /// Appends the compressed form of `input` to `output`.
    ///
    /// The output grows once, by the library's worst-case bound, and the library writes straight into it.
    /// - Parameters:
    ///   - input: The bytes to compress (may be empty: the result is still a valid, empty frame).
    ///   - output: The buffer to append to; on error its writer index is left where it was.
    /// - Throws: `.outputLimitExceeded` if the worst-case output would not fit a `ByteBuffer` (4 GiB);
    ///   `.libraryFailure` if the C library fails.
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout ByteBuffer) throws(CompressionError) {
        let start = output.writerIndex
        do throws(CompressionError) {
            switch self.backend {
            case .gzip(let deflater): try deflater.compress(input, appendingTo: &output)
            case .lz4(let compressor): try compressor.compress(input, appendingTo: &output)
            case .zstd(let compressor): try compressor.compress(input, appendingTo: &output)
            case .snappy: try SnappyCodec.compress(input, appendingTo: &output)
            }
        } catch {
            output.moveWriterIndex(to: start)
            throw error
        }
    }

    /// Appends the compressed form of `input`'s readable bytes to `output`.
    ///
    /// - Parameters:
    ///   - input: The bytes to compress; its reader index is not moved.
    ///   - output: The buffer to append to; on error its writer index is left where it was.
    /// - Throws: As the `UnsafeRawBufferPointer` overload.
    public func compress(_ input: ByteBuffer, appendingTo output: inout ByteBuffer) throws(CompressionError) {
        try input.withUnsafeReadableBytes { (bytes) throws(CompressionError) in
            try self.compress(bytes, appendingTo: &output)
        }
    }
}

@available(*, unavailable)
extension Compressor: Sendable {}
