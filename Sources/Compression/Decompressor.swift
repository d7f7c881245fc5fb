import NIOCore

/// A reusable, bounded decompressor for one algorithm.
///
/// It owns the C library's decompression context and reuses it across calls. Every call takes a hard limit on the
/// output: declared sizes (zstd and LZ4 frame content sizes, snappy's uncompressed length) are checked against it
/// before any allocation, and streaming decoders are handed at most the remaining budget plus one probe byte, so
/// a decompression bomb stops after `maxOutputBytes + 1` bytes. zstd's window (memory the streaming decoder reserves
/// up front) is limited to the power of two holding `maxOutputBytes`, at least 8 MiB and at most 128 MiB.
///
/// Accepted input:
/// - gzip: one or more concatenated gzip members (as gzip(1) and Java's `GZIPInputStream` read them);
/// - lz4: one or more concatenated LZ4 frames (skippable frames are skipped);
/// - zstd: one or more concatenated zstd frames (skippable frames are skipped);
/// - snappy: xerial framing (recognised by its magic) or one raw snappy block.
///
/// - Important: Not `Sendable`: use one decompressor per task or thread.
public final class Decompressor {
    /// The algorithm this decompressor reads.
    public let algorithm: CompressionAlgorithm

    private enum Backend {
        case gzip(GzipInflater)
        case lz4(LZ4FrameDecompressor)
        case zstd(ZstdDecompressor)
        case snappy
    }

    private let backend: Backend

    /// Creates a decompressor and its C context.
    ///
    /// - Parameter algorithm: The format to read.
    public init(algorithm: CompressionAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .gzip: self.backend = .gzip(GzipInflater())
        case .lz4: self.backend = .lz4(LZ4FrameDecompressor())
        case .zstd: self.backend = .zstd(ZstdDecompressor())
        case .snappy: self.backend = .snappy
        }
    }

    /// Appends the decompressed form of `input` to `output`, writing at most `maxOutputBytes` bytes.
    ///
    /// The output buffer grows in steps bounded by the remaining budget (plus one probe byte); `ByteBuffer` rounds
    /// its capacity up to a power of two.
    /// - Parameters:
    ///   - input: The complete compressed data (all of it must be consumed: trailing garbage is an error).
    ///   - output: The buffer to append to; on error its writer index is left where it was.
    ///   - maxOutputBytes: The most bytes this call may append; must not be negative.
    /// - Returns: The number of bytes appended.
    /// - Throws: `.outputLimitExceeded` if the data declares or decodes to more than `maxOutputBytes`;
    ///   `.corruptInput` if it is empty, truncated, corrupt or followed by garbage; `.libraryFailure` if the
    ///   C library fails for another reason (such as memory).
    @discardableResult
    public func decompress(
        _ input: UnsafeRawBufferPointer,
        appendingTo output: inout ByteBuffer,
        maxOutputBytes: Int
    ) throws(CompressionError) -> Int {
        try decompress(input, appendingTo: &output, maxOutputBytes: maxOutputBytes, observingInput: { _ in })
    }

    /// Decompresses as `decompress(_:appendingTo:maxOutputBytes:)` does, showing `observe` every input byte once,
    /// in order: lz4 block by block as each is decoded (so a checksum of the compressed bytes reads them while
    /// they are in cache), the other codecs all at once up front.
    ///
    /// - Returns: The number of bytes appended.
    /// - Throws: As `decompress(_:appendingTo:maxOutputBytes:)`; `observe` has then seen a prefix of `input`.
    @discardableResult
    public func decompress(
        _ input: UnsafeRawBufferPointer,
        appendingTo output: inout ByteBuffer,
        maxOutputBytes: Int,
        observingInput observe: (UnsafeRawBufferPointer) -> Void
    ) throws(CompressionError) -> Int {
        let start = output.writerIndex
        var budget = DecompressionBudget(maxOutputBytes: maxOutputBytes, output: output)
        do throws(CompressionError) {
            switch self.backend {
            case .lz4(let decompressor):
                try decompressor.decompress(input, appendingTo: &output, budget: &budget, observingInput: observe)
            case .gzip(let inflater):
                observe(input)
                try inflater.decompress(input, appendingTo: &output, budget: &budget)
            case .zstd(let decompressor):
                observe(input)
                try decompressor.decompress(input, appendingTo: &output, budget: &budget)
            case .snappy:
                observe(input)
                try SnappyCodec.decompress(input, appendingTo: &output, budget: &budget)
            }
        } catch {
            output.moveWriterIndex(to: start)
            throw error
        }
        assert(output.writerIndex - start == budget.produced)
        return budget.produced
    }

    /// Appends the decompressed form of `input`'s readable bytes to `output`, writing at most `maxOutputBytes` bytes.
    ///
    /// - Parameters:
    ///   - input: The complete compressed data; its reader index is not moved.
    ///   - output: The buffer to append to; on error its writer index is left where it was.
    ///   - maxOutputBytes: The most bytes this call may append; must not be negative.
    /// - Returns: The number of bytes appended.
    /// - Throws: As the `UnsafeRawBufferPointer` overload.
    @discardableResult
    public func decompress(
        _ input: ByteBuffer,
        appendingTo output: inout ByteBuffer,
        maxOutputBytes: Int
    ) throws(CompressionError) -> Int {
        try input.withUnsafeReadableBytes { (bytes) throws(CompressionError) -> Int in
            try self.decompress(bytes, appendingTo: &output, maxOutputBytes: maxOutputBytes)
        }
    }
}

@available(*, unavailable)
extension Decompressor: Sendable {}
