public import NIOCore

/// Whole Kafka frames: `int32 size`, header, body.
///
/// Stream framing (finding frame boundaries in a TCP stream, the maximum frame size) belongs to the
/// network layer in KafkaClient and KafkaBroker, which hands over one complete frame *without* its
/// size prefix. For convenience the encoders here write the size prefix too, so their output can be
/// sent as is.
public enum KafkaFrame {
    /// Encodes `request` with `header` as one frame: size prefix, header (version chosen by the API
    /// and version), body.
    ///
    /// - Throws: `KafkaEncodingError.headerMismatch` if `header.apiKey` is not `Request.apiKey`, or
    ///   any error of the header's or body's encoder (`header.apiVersion` is the body's version).
    public static func encodeRequest<Request: KafkaRequestMessage>(
        _ request: Request, header: KafkaRequestHeader, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(KafkaEncodingError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        try self.encodeRequest(request, header: header, into: &buffer)
        return buffer
    }

    /// Appends `request` with `header` as one frame to `buffer`; on a throw nothing is appended.
    public static func encodeRequest<Request: KafkaRequestMessage>(
        _ request: Request, header: KafkaRequestHeader, into buffer: inout ByteBuffer
    ) throws(KafkaEncodingError) {
        guard header.apiKey == Request.apiKey else {
            throw KafkaEncodingError(
                .headerMismatch, context: "\(Request.self)",
                detail: "header names API \(header.apiKey), the body is \(Request.apiKey)")
        }
        try self.writeFrame(into: &buffer) { (buffer) throws(KafkaEncodingError) in
            try header.encode(into: &buffer)
            try request.encode(into: &buffer, version: header.apiVersion)
        }
    }

    /// Encodes `response` in `version` with `header` as one frame: size prefix, header (v0 for
    /// ApiVersions and non-flexible versions, else v1), body.
    public static func encodeResponse<Response: KafkaResponseMessage>(
        _ response: Response, header: KafkaResponseHeader, version: Int16,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(KafkaEncodingError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        try self.encodeResponse(response, header: header, version: version, into: &buffer)
        return buffer
    }

    /// Appends `response` in `version` with `header` as one frame to `buffer`; on a throw nothing is
    /// appended.
    public static func encodeResponse<Response: KafkaResponseMessage>(
        _ response: Response, header: KafkaResponseHeader, version: Int16, into buffer: inout ByteBuffer
    ) throws(KafkaEncodingError) {
        let headerVersion = KafkaResponseHeader.headerVersion(apiKey: Response.apiKey, apiVersion: version)
        try self.writeFrame(into: &buffer) { (buffer) throws(KafkaEncodingError) in
            try header.encode(into: &buffer, headerVersion: headerVersion)
            try response.encode(into: &buffer, version: version)
        }
    }

    /// Decodes one response frame (without its size prefix) to a request of `Response`'s API sent in
    /// `version`. The caller knows both from its table of pending correlation ids.
    ///
    /// - Throws: `KafkaDecodingError` from the header or body, or `.trailingBytes` if the frame
    ///   holds more than one response.
    public static func decodeResponse<Response: KafkaResponseMessage>(
        _ type: Response.Type, version: Int16, frame: inout ByteBuffer
    ) throws(KafkaDecodingError) -> (header: KafkaResponseHeader, response: Response) {
        let start = frame.readerIndex
        do throws(KafkaDecodingError) {
            let headerVersion = KafkaResponseHeader.headerVersion(apiKey: Response.apiKey, apiVersion: version)
            let header = try KafkaResponseHeader(from: &frame, headerVersion: headerVersion)
            let response = try Response(from: &frame, version: version)
            try frame.checkKafkaFrameConsumed(context: "\(Response.self) v\(version)")
            return (header, response)
        } catch {
            frame.moveReaderIndex(to: start)
            throw error
        }
    }

    private static func writeFrame(
        into buffer: inout ByteBuffer, _ body: (inout ByteBuffer) throws(KafkaEncodingError) -> Void
    ) throws(KafkaEncodingError) {
        let start = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        do throws(KafkaEncodingError) {
            try body(&buffer)
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
        let size = buffer.writerIndex - start - 4
        guard size <= Int(Int32.max) else {
            buffer.moveWriterIndex(to: start)
            throw KafkaEncodingError(.valueTooLong, context: "frame", detail: "frame of \(size) bytes")
        }
        buffer.setInteger(Int32(size), at: start)
    }
}

extension KafkaRequest {
    /// Decodes one request frame (without its 4-byte size prefix): header, then the body of the
    /// API and version the header names.
    ///
    /// Every error thrown once the first 8 header bytes were read carries them in
    /// `KafkaDecodingError.requestHeaderPrefix`, so a broker can still answer: an API key this
    /// module does not know is `.invalidValue`, a version outside the API's valid versions is
    /// `.unsupportedVersion` (for ApiVersions the broker then answers with a v0 response carrying
    /// `UNSUPPORTED_VERSION`, as Kafka does). Bytes left after the body are `.trailingBytes`.
    /// On a throw the reader index is put back.
    public static func decode(
        frame: inout ByteBuffer
    ) throws(KafkaDecodingError) -> (header: KafkaRequestHeader, request: KafkaRequest) {
        let start = frame.readerIndex
        let prefix: KafkaRequestHeaderPrefix
        do throws(KafkaDecodingError) {
            prefix = try KafkaRequestHeaderPrefix(from: &frame)
        } catch {
            throw error.within("request frame")
        }
        do throws(KafkaDecodingError) {
            guard let apiKey = KafkaAPIKey(rawValue: prefix.apiKey) else {
                throw KafkaDecodingError(
                    .invalidValue, context: "request frame: requestApiKey", detail: "unknown API key \(prefix.apiKey)")
            }
            let type = apiKey.requestType
            guard type.validVersions.contains(prefix.apiVersion) else {
                throw KafkaDecodingError(
                    .unsupportedVersion, context: "request frame: requestApiVersion",
                    detail: "\(apiKey.name) version \(prefix.apiVersion) is outside "
                        + "\(type.validVersions.lowerBound)...\(type.validVersions.upperBound)")
            }
            let headerVersion = KafkaRequestHeader.headerVersion(apiKey: apiKey, apiVersion: prefix.apiVersion)
            let header: KafkaRequestHeader
            do throws(KafkaDecodingError) {
                header = try KafkaRequestHeader(prefix: prefix, apiKey: apiKey, from: &frame, headerVersion: headerVersion)
            } catch {
                throw error.within("RequestHeader v\(headerVersion)")
            }
            let request = try KafkaRequest.decodeBody(apiKey: apiKey, version: prefix.apiVersion, from: &frame)
            try frame.checkKafkaFrameConsumed(context: "\(type) v\(prefix.apiVersion)")
            return (header, request)
        } catch {
            frame.moveReaderIndex(to: start)
            var error = error
            error.requestHeaderPrefix = prefix
            throw error
        }
    }
}

extension ByteBuffer {
    /// Throws `.trailingBytes` if anything is left after a frame's body.
    func checkKafkaFrameConsumed(context: String) throws(KafkaDecodingError) {
        guard self.readableBytes == 0 else {
            throw KafkaDecodingError(
                .trailingBytes, context: context, detail: "\(self.readableBytes) bytes after the end of the message")
        }
    }
}

