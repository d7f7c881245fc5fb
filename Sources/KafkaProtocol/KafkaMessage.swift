public import NIOCore

/// A Kafka request or response body: one type per message, one value per decoded message.
///
/// Conforming types are generated from Apache Kafka's JSON message definitions by
/// `scripts/gen-kafka-messages.py` (see `Sources/KafkaProtocol/Messages/`). A value holds the
/// union of the fields of every version; `encode(into:version:)` writes those present in the chosen
/// version and `init(from:version:)` reads them, leaving absent fields at their JSON defaults.
///
/// The header (`KafkaRequestHeader`, `KafkaResponseHeader`) and the 4-byte frame size are not part
/// of the message; `KafkaFrame` and `KafkaRequest.decode(frame:)` deal with those.
public protocol KafkaMessage: Hashable, Sendable {
    /// The API this message belongs to; a request and its response share it.
    static var apiKey: KafkaAPIKey { get }
    /// Every version this implementation can encode and decode.
    static var validVersions: ClosedRange<Int16> { get }
    /// The first version using the flexible encoding (compact lengths, tagged fields), or `nil`.
    static var firstFlexibleVersion: Int16? { get }

    /// Appends the message body in the wire format of `version`.
    ///
    /// On a throw nothing is appended (the writer index is put back).
    ///
    /// - Throws: `KafkaEncodingError` if `version` is not in `validVersions`, if a field that
    ///   `version` cannot carry has a non-default value and is not ignorable, if a field is `nil`
    ///   where `version` does not allow null, or if a string or array is too long for the encoding.
    func encode(into buffer: inout ByteBuffer, version: Int16) throws(KafkaEncodingError)

    /// Reads a message body in the wire format of `version`, consuming exactly its bytes.
    ///
    /// Bytes and records fields are slices of `buffer` (no copy). Trailing bytes after the body are
    /// left in `buffer`; callers that own a whole frame check for them (`KafkaRequest.decode(frame:)`
    /// does). On a throw the reader index is put back.
    ///
    /// - Throws: `KafkaDecodingError` whose context names the message, version and field path, such
    ///   as `ProduceRequest v9: topicData.partitionData.records`; `.unsupportedVersion` if `version`
    ///   is not in `validVersions`.
    init(from buffer: inout ByteBuffer, version: Int16) throws(KafkaDecodingError)
}

/// A request message, tied to the type of its response.
public protocol KafkaRequestMessage: KafkaMessage {
    /// The response a broker sends back, in the same version as the request.
    associatedtype Response: KafkaResponseMessage
}

/// A response message.
public protocol KafkaResponseMessage: KafkaMessage {}

extension KafkaMessage {
    /// Whether `version` of this message uses the flexible encoding.
    @inlinable
    public static func isFlexible(version: Int16) -> Bool {
        guard let first = Self.firstFlexibleVersion else { return false }
        return version >= first
    }
}

/// A tagged field (KIP-482) that the decoder did not know: its tag and raw payload.
///
/// Decoders keep these, in wire order, in each struct's `unknownTaggedFields`; encoders write them
/// back merged in tag order with the known tagged fields, so a proxy or a newer peer's fields
/// survive a decode/encode round trip.
public struct KafkaTaggedField: Hashable, Sendable {
    /// The field's tag.
    public var tag: UInt32
    /// The field's payload, without the tag and size prefix (a slice of the decoded buffer).
    public var data: ByteBuffer

    /// Creates a tagged field with `tag` and raw `data`.
    public init(tag: UInt32, data: ByteBuffer) {
        self.tag = tag
        self.data = data
    }
}
