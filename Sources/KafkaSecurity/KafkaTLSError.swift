/// A TLS setting that cannot be turned into a context; names the file at fault.
public struct KafkaTLSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, naming the file.
    public var message: String

    /// Creates an error with `message`.
    public init(_ message: String) { self.message = message }

    public var description: String { self.message }
}
