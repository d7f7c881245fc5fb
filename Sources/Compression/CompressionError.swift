/// A failure to compress or decompress, with the algorithm and a precise description.
///
/// `detail` names what failed, the sizes involved and, where the C library reported the failure, the library's own
/// error name (for example zstd's `"Data corruption detected"` or zlib's `"invalid block type"`).
public struct CompressionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of failure.
    public enum Kind: String, Hashable, Sendable {
        /// The input is not valid data in the algorithm's format: truncated, corrupt, or garbage.
        case corruptInput
        /// Decompressing would produce more than the caller's `maxOutputBytes` (or compressing would exceed what a
        /// `ByteBuffer` can hold).
        case outputLimitExceeded
        /// The compression level is outside the algorithm's range, or the algorithm takes no level.
        case invalidLevel
        /// The C library failed for a reason unrelated to the input (for example it could not allocate memory).
        case libraryFailure
    }

    /// The class of failure.
    public var kind: Kind
    /// The algorithm that failed.
    public var algorithm: CompressionAlgorithm
    /// What failed, the sizes involved, and the C library's own error name where there is one.
    public var detail: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - kind: The class of failure.
    ///   - algorithm: The algorithm that failed.
    ///   - detail: What failed, the sizes involved, and the C library's own error name where there is one.
    public init(kind: Kind, algorithm: CompressionAlgorithm, detail: String) {
        self.kind = kind
        self.algorithm = algorithm
        self.detail = detail
    }

    /// `"<algorithm> <kind>: <detail>"`, for example `"zstd corruptInput: frame 1 at input offset 0: Unknown frame descriptor"`.
    public var description: String {
        "\(self.algorithm.rawValue) \(self.kind.rawValue): \(self.detail)"
    }
}
