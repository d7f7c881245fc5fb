public import KafkaProtocol

/// Why a storage operation failed: the Kafka error code a request handler answers with, and a
/// message saying exactly what was wrong (for the response's error message and the log).
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The code to put in the response (`INVALID_TOPIC_EXCEPTION`, `OFFSET_OUT_OF_RANGE`, ...).
    public var code: KafkaErrorCode
    /// What happened, with the names and numbers involved.
    public var message: String

    /// Creates an error with `code` and `message`.
    public init(_ code: KafkaErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `NAME: message`, e.g. `OFFSET_OUT_OF_RANGE: offset 9 is outside 0...5 of logs-0`.
    public var description: String { "\(code.name): \(message)" }

    /// A `KAFKA_STORAGE_ERROR` for a failed system call on `path`.
    static func io(_ operation: String, path: String, errno code: Int32) -> StorageError {
        StorageError(.kafkaStorageError, "\(operation) \(path): \(systemErrorDescription(code)) (errno \(code))")
    }
}
