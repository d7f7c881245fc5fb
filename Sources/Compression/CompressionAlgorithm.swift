/// A compression format backed by a system C library.
public enum CompressionAlgorithm: String, CaseIterable, Hashable, Sendable {
    /// RFC 1952 gzip framing over zlib's deflate (`zlib1g`).
    case gzip
    /// Snappy (`libsnappy`). Kafka's Java client writes xerial framing; raw blocks are accepted too.
    case snappy
    /// The LZ4 *frame* format (`liblz4`), as Kafka uses since message format v2.
    case lz4
    /// Zstandard frames (`libzstd`).
    case zstd
}
