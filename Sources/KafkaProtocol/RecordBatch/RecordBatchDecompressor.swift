public import Compression
public import NIOCore

/// Reusable decompression state for record batches: one codec per algorithm, created on first
/// use, and an output buffer reused when no record of the previous batch is still held.
///
/// - Important: Not `Sendable`: use one per decoding task.
public final class RecordBatchDecompressor {
    /// Output buffers larger than this are not kept between batches.
    @usableFromInline
    static let retainedCapacityLimit = 8 << 20

    @usableFromInline
    internal var codecs = BatchDecompressorCodecs()
    @usableFromInline
    internal var output: ByteBuffer?

    /// Creates an empty decompressor; codecs are set up when first needed.
    public init() {}

    /// Decompresses `input` (a batch's bytes after `recordsCount`) into a buffer holding exactly
    /// the decompressed bytes.
    ///
    /// - Parameter maxOutputBytes: the most bytes decompression may produce.
    /// - Throws: `KafkaDecodingError.decompressionFailed` naming the codec, for corrupt input and
    ///   for output over `maxOutputBytes`.
    public func decompress(
        _ input: ByteBuffer, algorithm: CompressionAlgorithm, maxOutputBytes: Int
    ) throws(KafkaDecodingError) -> ByteBuffer {
        try decompress(input, algorithm: algorithm, maxOutputBytes: maxOutputBytes, observingInput: { _ in })
    }

    /// Decompresses as `decompress(_:algorithm:maxOutputBytes:)` does, showing `observe` each input byte once, in
    /// order (lz4: block by block, as each is decoded, while it is in cache).
    public func decompress(
        _ input: ByteBuffer, algorithm: CompressionAlgorithm, maxOutputBytes: Int,
        observingInput observe: (UnsafeRawBufferPointer) -> Void
    ) throws(KafkaDecodingError) -> ByteBuffer {
        // Taking the retained buffer out leaves it uniquely referenced unless records of an earlier
        // batch still point into it; then `clear()` and the writes below copy-on-write instead.
        var buffer = output ?? ByteBuffer()
        output = nil
        buffer.clear()
        // Typical log batches compress 5-10x; start there and let the codec grow the buffer.
        let (estimate, overflow) = input.readableBytes.multipliedReportingOverflow(by: 8)
        buffer.reserveCapacity(min(max(maxOutputBytes, 0), max(4096, overflow ? Int.max : estimate)))
        do {
            try codecs.decompress(
                input, algorithm: algorithm, into: &buffer, maxOutputBytes: maxOutputBytes, observingInput: observe)
        } catch {
            throw KafkaDecodingError(
                .decompressionFailed, context: "RecordBatch.records(\(algorithm))", detail: "\(error)")
        }
        if buffer.capacity <= Self.retainedCapacityLimit {
            output = buffer
        }
        return buffer
    }
}

@available(*, unavailable)
extension RecordBatchDecompressor: Sendable {}
