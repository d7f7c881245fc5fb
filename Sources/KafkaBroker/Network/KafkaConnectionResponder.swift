public import NIOCore

/// What the network layer should do after one request frame.
public enum KafkaFrameOutcome: Sendable {
    /// Send this response frame (size prefix included), then read the next request.
    case respond(ByteBuffer)
    /// Send nothing (Produce with acks=0) and read the next request.
    case noResponse
    /// Send `response` if given, then close the connection; `reason` is logged.
    case close(reason: String, response: ByteBuffer? = nil)
}

/// A peer connection as the request handlers see it.
public struct KafkaConnectionInfo: Sendable, CustomStringConvertible {
    /// The client's address, if known.
    public var remoteAddress: SocketAddress?
    /// A number unique per connection within one listener, for logs.
    public var connectionNumber: UInt64
    /// State kept across the connection's requests (SASL authentication).
    public let session: KafkaConnectionSession

    /// Creates connection info; `session` defaults to a fresh, unauthenticated one.
    public init(remoteAddress: SocketAddress?, connectionNumber: UInt64, session: KafkaConnectionSession = .init()) {
        self.remoteAddress = remoteAddress
        self.connectionNumber = connectionNumber
        self.session = session
    }

    public var description: String {
        "#\(connectionNumber) \(remoteAddress.map { "\($0)" } ?? "unknown peer")"
    }
}

/// Answers request frames; the network layer calls it once per frame, one frame at a time per
/// connection, and writes the outcomes in order.
///
/// Implementations may suspend for as long as a request needs (a Fetch long poll, an fsync);
/// only the connection that sent the request waits.
public protocol KafkaFrameResponder: Sendable {
    /// Handles one frame (without its size prefix) received on `connection`.
    func respond(to frame: ByteBuffer, on connection: KafkaConnectionInfo) async -> KafkaFrameOutcome
}
