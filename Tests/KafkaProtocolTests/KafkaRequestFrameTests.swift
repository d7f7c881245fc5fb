import KafkaProtocol
import NIOCore
import Testing

@Suite("KafkaRequest: frame decoding and header handling")
struct KafkaRequestFrameTests {
    static let heartbeat = HeartbeatRequest(groupId: "g", generationId: 3, memberId: "m")

    static func heartbeatFrame(version: Int16 = 3) throws -> ByteBuffer {
        let header = KafkaRequestHeader(apiKey: .heartbeat, apiVersion: version, correlationId: 99, clientId: "c")
        let frame = try KafkaFrame.encodeRequest(heartbeat, header: header)
        return try #require(stripSizePrefix(frame))
    }

    @Test("every API's sample request decodes through KafkaRequest.decode(frame:) in every version")
    func everyRequestThroughTheFrameDecoder() throws {
        var count = 0
        for type in allSampledRequestTypes {
            count += try Self.frameRoundTrip(type)
        }
        #expect(allSampledRequestTypes.count == KafkaAPIKey.allCases.count)
        #expect(count > 100)
    }

    static func frameRoundTrip<Request: SampledMessage & KafkaRequestMessage>(_: Request.Type) throws -> Int {
        var count = 0
        for version in Request.validVersions {
            let value = Request.sample(version: version)
            let header = KafkaRequestHeader(
                apiKey: Request.apiKey, apiVersion: version, correlationId: Int32(version) * 1000 + 1,
                clientId: version % 2 == 0 ? "client-ü" : nil)
            let frame = try KafkaFrame.encodeRequest(value, header: header)
            var body = try #require(stripSizePrefix(frame))
            let decoded = try KafkaRequest.decode(frame: &body)
            #expect(decoded.header == header)
            #expect(decoded.request.apiKey == Request.apiKey)
            #expect(decoded.request.message as? Request == value, "\(Request.self) v\(version)")
            #expect(body.readableBytes == 0)
            var again = ByteBuffer()
            try decoded.request.encode(into: &again, version: version)
            // The frame ends with the body: re-encoding the decoded request gives those bytes.
            #expect(again.bytes == Array(frame.bytes.suffix(again.readableBytes)))
            #expect(frame.readableBytes == 4 + (header.headerVersion == 2 ? 9 : 8) + 2
                + (header.clientId?.utf8.count ?? 0) + again.readableBytes)
            count += 1
        }
        return count
    }

    @Test("KafkaRequest stays one pointer wide (indirect cases), cheap to pass through a pipeline")
    func requestEnumIsSmall() {
        #expect(MemoryLayout<KafkaRequest>.size <= 8)
    }

    @Test("unknown API key: invalidValue, with the correlation id readable")
    func unknownAPIKey() {
        var frame = ByteBuffer(bytes: wire("00 63 | 00 00 | 00 00 00 05 | ff ff"))
        #expect {
            _ = try KafkaRequest.decode(frame: &frame)
        } throws: { error in
            let error = error as! KafkaDecodingError
            return error.kind == .invalidValue
                && error.requestHeaderPrefix == KafkaRequestHeaderPrefix(apiKey: 99, apiVersion: 0, correlationId: 5)
        }
        #expect(frame.readableBytes == 10)
    }

    @Test("unsupported version of a known API: unsupportedVersion with API key, version and correlation id")
    func unsupportedVersion() {
        var frame = ByteBuffer(bytes: wire("00 00 | 00 0d | 00 00 00 06"))  // Produce v13
        #expect {
            _ = try KafkaRequest.decode(frame: &frame)
        } throws: { error in
            let error = error as! KafkaDecodingError
            return error.kind == .unsupportedVersion && error.requestHeaderPrefix?.correlationId == 6
                && error.requestHeaderPrefix?.apiKey == 0 && error.requestHeaderPrefix?.apiVersion == 13
        }
    }

    @Test("a frame shorter than the 8-byte prefix has no correlation id to offer")
    func shortFrame() {
        var frame = ByteBuffer(bytes: wire("00 12 00 03 00 00 00"))
        #expect {
            _ = try KafkaRequest.decode(frame: &frame)
        } throws: { error in
            let error = error as! KafkaDecodingError
            return error.kind == .truncated && error.requestHeaderPrefix == nil
        }
    }

    @Test("trailing bytes after the body are rejected, naming message and version")
    func trailingBytes() throws {
        var frame = try Self.heartbeatFrame()
        frame.writeInteger(UInt8(0))
        #expect {
            _ = try KafkaRequest.decode(frame: &frame)
        } throws: { error in
            let error = error as! KafkaDecodingError
            return error.kind == .trailingBytes && error.context == "HeartbeatRequest v3"
                && error.requestHeaderPrefix?.correlationId == 99
        }
    }

    @Test("a truncated body names message, version and field, and keeps the correlation id")
    func truncatedBody() throws {
        let full = try Self.heartbeatFrame()
        // Cut the null groupInstanceId (ff ff) and the last byte of memberId "m".
        var frame = full.getSlice(at: full.readerIndex, length: full.readableBytes - 3)!
        #expect {
            _ = try KafkaRequest.decode(frame: &frame)
        } throws: { error in
            let error = error as! KafkaDecodingError
            return error.kind == .invalidLength && error.context == "HeartbeatRequest v3: memberId"
                && error.requestHeaderPrefix?.correlationId == 99
        }
    }

    @Test("decoding errors name the nested field path")
    func nestedFieldPath() throws {
        // Produce v3: transactionalId null, acks, timeout, one topic "t", one partition, records length 100 (too long).
        var input = ByteBuffer(bytes: wire("ff ff | 00 01 | 00 00 00 10 | 00 00 00 01 | 00 01 't' | 00 00 00 01 | 00 00 00 00 | 00 00 00 64 01"))
        #expect {
            _ = try ProduceRequest(from: &input, version: 3)
        } throws: { error in
            let error = error as! KafkaDecodingError
            return error.kind == .invalidLength && error.context == "ProduceRequest v3: topicData.partitionData.records"
        }
    }

    @Test("a hostile array count is refused before any memory is reserved")
    func hostileArrayCount() {
        // Metadata v0 response claiming 2^31-1 brokers in 8 bytes.
        var input = ByteBuffer(bytes: wire("7f ff ff ff | 00 00 00 00"))
        #expect {
            _ = try MetadataResponse(from: &input, version: 0)
        } throws: { error in
            let error = error as! KafkaDecodingError
            return error.kind == .invalidLength && error.context == "MetadataResponse v0: brokers"
        }
    }

    @Test("request header round trip in v0, v1, v2; tagged fields only in v2")
    func requestHeaderVersions() throws {
        let header = KafkaRequestHeader(
            apiKey: .fetch, apiVersion: 12, correlationId: -5, clientId: "ü",
            unknownTaggedFields: [KafkaTaggedField(tag: 3, data: ByteBuffer(bytes: [9]))])
        var v2 = ByteBuffer()
        try header.encode(into: &v2)
        #expect(v2.bytes == wire("00 01 | 00 0c | ff ff ff fb | 00 02 c3 bc | 01 03 01 09"))
        #expect(try KafkaRequestHeader(from: &v2, headerVersion: 2) == header)

        var v1 = ByteBuffer()
        #expect(throws: KafkaEncodingError.self) { try header.encode(into: &v1, headerVersion: 1) }
        #expect(v1.readableBytes == 0)
        var plain = header
        plain.unknownTaggedFields = []
        try plain.encode(into: &v1, headerVersion: 1)
        #expect(try KafkaRequestHeader(from: &v1, headerVersion: 1) == plain)

        var v0 = ByteBuffer()
        try plain.encode(into: &v0, headerVersion: 0)
        #expect(v0.bytes == wire("00 01 | 00 0c | ff ff ff fb"))
        var expected = plain
        expected.clientId = nil
        #expect(try KafkaRequestHeader(from: &v0, headerVersion: 0) == expected)
    }

    @Test("encodeRequest refuses a header naming another API, and writes nothing")
    func headerMismatch() {
        var buffer = ByteBuffer()
        let header = KafkaRequestHeader(apiKey: .fetch, apiVersion: 3, correlationId: 1)
        #expect(throws: KafkaEncodingError.self) {
            try KafkaFrame.encodeRequest(Self.heartbeat, header: header, into: &buffer)
        }
        #expect(buffer.readableBytes == 0)
    }
}
