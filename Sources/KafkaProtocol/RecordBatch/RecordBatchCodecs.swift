import Compression
import NIOCore

// Glue between record batches and the Compression target.
//
// PLACEHOLDER until branch `compression` is merged: compressed batches are rejected.

/// The per-algorithm decompressors of a `RecordBatchDecompressor`, created on first use.
@usableFromInline
struct BatchDecompressorCodecs {
    @usableFromInline
    init() {}

    mutating func decompress(
        _ input: ByteBuffer, algorithm: CompressionAlgorithm, into output: inout ByteBuffer, maxOutputBytes: Int
    ) throws(KafkaDecodingError) {
        throw KafkaDecodingError(.decompressionFailed, detail: "\(algorithm) is not available yet")
    }
}

/// The compressor of a `RecordBatchBuilder`.
struct BatchCompressorCodec {
    let algorithm: CompressionAlgorithm

    init(algorithm: CompressionAlgorithm, level: Int?) {
        self.algorithm = algorithm
    }

    mutating func compress(_ input: ByteBuffer, into output: inout ByteBuffer) {
        preconditionFailure("\(algorithm) is not available yet")
    }
}
