public import Compression

/// The compression codec of a record batch: bits 0-2 of the batch attributes.
///
/// The raw value is the codec id on the wire.
public enum KafkaCompression: Int16, CaseIterable, Hashable, Sendable {
    /// Records are stored as they are.
    case none = 0
    /// gzip (RFC 1952).
    case gzip = 1
    /// Snappy; the Java client writes xerial framing.
    case snappy = 2
    /// The LZ4 frame format.
    case lz4 = 3
    /// Zstandard (needs Produce v7+ / Fetch v10+ on the wire; any version on disk).
    case zstd = 4

    /// The codec that implements this compression, or `nil` for `.none`.
    @inlinable
    public var algorithm: CompressionAlgorithm? {
        switch self {
        case .none: return nil
        case .gzip: return .gzip
        case .snappy: return .snappy
        case .lz4: return .lz4
        case .zstd: return .zstd
        }
    }

    /// The Kafka codec id for `algorithm`; `nil` means `.none`.
    @inlinable
    public init(_ algorithm: CompressionAlgorithm?) {
        switch algorithm {
        case nil: self = .none
        case .gzip?: self = .gzip
        case .snappy?: self = .snappy
        case .lz4?: self = .lz4
        case .zstd?: self = .zstd
        }
    }
}
