import Compression
import NIOCore

// Glue between record batches and the Compression target.

/// The per-algorithm decompressors of a `RecordBatchDecompressor`, each created on first use.
@usableFromInline
struct BatchDecompressorCodecs {
    private var gzip: Decompressor?
    private var snappy: Decompressor?
    private var lz4: Decompressor?
    private var zstd: Decompressor?

    @usableFromInline
    init() {}

    private mutating func decompressor(for algorithm: CompressionAlgorithm) -> Decompressor {
        func cached(_ slot: inout Decompressor?) -> Decompressor {
            if let decompressor = slot { return decompressor }
            let decompressor = Decompressor(algorithm: algorithm)
            slot = decompressor
            return decompressor
        }
        switch algorithm {
        case .gzip: return cached(&gzip)
        case .snappy: return cached(&snappy)
        case .lz4: return cached(&lz4)
        case .zstd: return cached(&zstd)
        }
    }

    /// Appends the decompressed form of `input` to `output`, at most `maxOutputBytes` bytes, showing `observe`
    /// each input byte once, in order.
    mutating func decompress(
        _ input: ByteBuffer, algorithm: CompressionAlgorithm, into output: inout ByteBuffer, maxOutputBytes: Int,
        observingInput observe: (UnsafeRawBufferPointer) -> Void
    ) throws(CompressionError) {
        let decompressor = decompressor(for: algorithm)
        try input.withUnsafeReadableBytes { (bytes) throws(CompressionError) -> Void in
            try decompressor.decompress(bytes, appendingTo: &output, maxOutputBytes: maxOutputBytes, observingInput: observe)
        }
    }
}

/// The compressor of a `RecordBatchBuilder`.
struct BatchCompressorCodec {
    let compressor: Compressor

    init(algorithm: CompressionAlgorithm, level: Int?) throws(CompressionError) {
        self.compressor = try Compressor(algorithm: algorithm, level: level)
    }

    /// Appends the compressed form of `input` to `output`.
    func compress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) throws(CompressionError) {
        try compressor.compress(input, appendingTo: &output)
    }
}
