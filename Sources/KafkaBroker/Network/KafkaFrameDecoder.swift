public import NIOCore

/// Cuts a TCP byte stream into Kafka frames: a 4-byte big-endian size, then that many bytes.
///
/// Each decoded message is one frame *without* its size prefix, as `KafkaRequest.decode(frame:)`
/// expects. The size is checked as soon as its 4 bytes are in: a negative size or one above
/// ``maximumFrameBytes`` throws ``KafkaFrameDecoderError`` before any byte of the body is waited
/// for, so a hostile size never makes the broker buffer (or allocate) that much.
public struct KafkaFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = ByteBuffer

    /// Kafka's `socket.request.max.bytes` default: 100 MiB.
    public static let defaultMaximumFrameBytes = 100 * 1024 * 1024

    /// Kafka's `sasl.server.max.receive.size` default: 512 KiB.
    public static let defaultUnauthenticatedMaximumFrameBytes = 512 * 1024

    /// The largest frame body accepted, in bytes.
    public let maximumFrameBytes: Int
    /// A lower limit while `session` has not authenticated (SASL), if any.
    public let unauthenticatedLimit: (maximum: Int, session: KafkaConnectionSession)?

    /// Creates a decoder accepting frames of at most `maximumFrameBytes` bytes (without the
    /// prefix), and at most `unauthenticatedLimit.maximum` while its session is not authenticated.
    public init(
        maximumFrameBytes: Int = KafkaFrameDecoder.defaultMaximumFrameBytes,
        unauthenticatedLimit: (maximum: Int, session: KafkaConnectionSession)? = nil
    ) {
        precondition(maximumFrameBytes >= 0, "maximumFrameBytes must not be negative")
        self.maximumFrameBytes = maximumFrameBytes
        self.unauthenticatedLimit = unauthenticatedLimit
    }

    /// Reads one frame if all of it is buffered; the reader index moves only when it does.
    ///
    /// - Throws: ``KafkaFrameDecoderError`` for a negative or too large size prefix.
    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try self.readFrame(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    /// At EOF a partial frame is dropped: the peer went away mid-request, nothing can answer it.
    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        while try self.decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// The channel-free core of ``decode(context:buffer:)``: the next frame body, or `nil` (and
    /// nothing consumed) while it is incomplete.
    ///
    /// - Throws: ``KafkaFrameDecoderError`` as soon as the 4 size bytes are readable and invalid.
    public func readFrame(from buffer: inout ByteBuffer) throws(KafkaFrameDecoderError) -> ByteBuffer? {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return nil }
        guard size >= 0 else { throw KafkaFrameDecoderError.negativeFrameSize(size) }
        guard Int(size) <= self.maximumFrameBytes else {
            throw KafkaFrameDecoderError.frameTooLarge(size: Int(size), maximum: self.maximumFrameBytes)
        }
        if let limit = self.unauthenticatedLimit, Int(size) > limit.maximum, limit.session.authenticatedUser == nil {
            throw KafkaFrameDecoderError.frameTooLargeBeforeAuthentication(size: Int(size), maximum: limit.maximum)
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(size))!
    }
}

/// Why a byte stream is not a sequence of Kafka frames; the connection is closed.
public enum KafkaFrameDecoderError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The size prefix is negative.
    case negativeFrameSize(Int32)
    /// The size prefix is larger than the configured maximum (`socket.request.max.bytes`).
    case frameTooLarge(size: Int, maximum: Int)
    /// The size prefix is larger than what an unauthenticated connection may send (`sasl.server.max.receive.size`).
    case frameTooLargeBeforeAuthentication(size: Int, maximum: Int)

    public var description: String {
        switch self {
        case .negativeFrameSize(let size): "frame size \(size) is negative"
        case .frameTooLarge(let size, let maximum): "frame size \(size) exceeds the maximum of \(maximum) bytes"
        case .frameTooLargeBeforeAuthentication(let size, let maximum):
            "frame size \(size) exceeds the maximum of \(maximum) bytes before SASL authentication"
        }
    }
}
