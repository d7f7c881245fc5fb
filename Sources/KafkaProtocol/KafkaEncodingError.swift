/// Why a Kafka value could not be encoded in the requested version.
///
/// Encoders throw this type and nothing else. The rules follow Apache Kafka's Java code: a field the
/// version cannot carry may be dropped only if it still has its default value or is marked
/// `ignorable` in the JSON definition.
public struct KafkaEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of problem.
    public enum Kind: String, Hashable, Sendable {
        /// The version is outside the message's valid versions.
        case unsupportedVersion
        /// A field absent from this version has a non-default value and is not ignorable.
        case fieldNotInVersion
        /// A field is `nil` where this version does not allow null.
        case nullNotAllowed
        /// A string, bytes or array field is longer than its length prefix can express.
        case valueTooLong
        /// Tagged fields were set on a non-flexible version, or two share a tag.
        case invalidTaggedFields
        /// A header does not match the message it frames (API key or version).
        case headerMismatch
    }

    /// The class of problem.
    public var kind: Kind
    /// Where it happened, outermost first, such as `ProduceRequest v2: transactionalId`.
    public var context: String
    /// What exactly was wrong.
    public var detail: String

    /// Creates an error of `kind` at `context` with a human-readable `detail`.
    public init(_ kind: Kind, context: String = "", detail: String) {
        self.kind = kind
        self.context = context
        self.detail = detail
    }

    /// The same error with `outer` put in front of its context (`outer: context`).
    public func within(_ outer: String) -> KafkaEncodingError {
        var copy = self
        copy.context = context.isEmpty ? outer : "\(outer): \(context)"
        return copy
    }

    public var description: String {
        context.isEmpty ? "\(kind.rawValue): \(detail)" : "\(context): \(kind.rawValue): \(detail)"
    }
}
