import NIOCore

/// Cuts the byte stream from a broker into response frames (4-byte big-endian size, then the
/// frame); each frame goes on as a slice without its size prefix.
///
/// A negative size or one above `maximumFrameBytes` is an error as soon as the 4 size bytes are in,
/// so a corrupt or hostile size never makes the client buffer that much.
struct KafkaResponseFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    /// Largest frame accepted, without the size prefix.
    let maximumFrameBytes: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return .needMoreData }
        guard size >= 0, Int(size) <= self.maximumFrameBytes else {
            throw KafkaResponseFrameError(size: size, maximum: self.maximumFrameBytes)
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        guard let frame = buffer.readSlice(length: Int(size)) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    /// A partial frame at EOF is dropped: the requests it would answer fail as disconnected.
    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try self.decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// A response size prefix that is negative or above the configured maximum.
struct KafkaResponseFrameError: Error, CustomStringConvertible {
    let size: Int32
    let maximum: Int

    var description: String {
        self.size < 0
            ? "response frame size \(self.size) is negative"
            : "response frame of \(self.size) bytes exceeds the maximum of \(self.maximum) bytes"
    }
}
