import KafkaProtocol
import NIOCore
import Testing

/// Frames written by hand from the Kafka protocol guide and the JSON definitions, byte by byte.
@Suite("Messages: golden bytes written from the spec")
struct MessageGoldenTests {
    @Test("ApiVersions v3 request: header v2 (int16 client id + tags), compact client software name/version")
    func apiVersionsV3Request() throws {
        let header = KafkaRequestHeader(apiKey: .apiVersions, apiVersion: 3, correlationId: 7, clientId: "tributary")
        let request = ApiVersionsRequest(clientSoftwareName: "tributary-agent", clientSoftwareVersion: "0.1.0")
        let expected = wire("""
            00 00 00 2b
            00 12 | 00 03 | 00 00 00 07 | 00 09 'tributary' | 00
            10 'tributary-agent' | 06 '0.1.0' | 00
            """)
        let frame = try KafkaFrame.encodeRequest(request, header: header)
        #expect(frame.bytes == expected)

        var body = try #require(stripSizePrefix(frame))
        let decoded = try KafkaRequest.decode(frame: &body)
        #expect(decoded.header == header)
        #expect(decoded.request == .apiVersions(request))
        #expect(decoded.header.headerVersion == 2)
    }

    @Test("ApiVersions v0 request: header v1, empty body")
    func apiVersionsV0Request() throws {
        let header = KafkaRequestHeader(apiKey: .apiVersions, apiVersion: 0, correlationId: 1, clientId: nil)
        let frame = try KafkaFrame.encodeRequest(ApiVersionsRequest(), header: header)
        #expect(frame.bytes == wire("00 00 00 0a | 00 12 | 00 00 | 00 00 00 01 | ff ff"))
    }

    @Test("Metadata v4 request: int32 array count, int16 strings, AllowAutoTopicCreation")
    func metadataV4Request() throws {
        let header = KafkaRequestHeader(apiKey: .metadata, apiVersion: 4, correlationId: 1, clientId: "c")
        let request = MetadataRequest(
            topics: [.init(name: "logs"), .init(name: "app")], allowAutoTopicCreation: false)
        let expected = wire("""
            00 00 00 1b
            00 03 | 00 04 | 00 00 00 01 | 00 01 'c'
            00 00 00 02 | 00 04 'logs' | 00 03 'app' | 00
            """)
        let frame = try KafkaFrame.encodeRequest(request, header: header)
        #expect(frame.bytes == expected)
        var body = try #require(stripSizePrefix(frame))
        let decoded = try KafkaRequest.decode(frame: &body)
        #expect(decoded.request == .metadata(request))
        #expect(decoded.header.clientId == "c")
    }

    @Test("Metadata v1+: a null topic array means all topics; v0 cannot say null")
    func metadataNullTopics() throws {
        var v1 = ByteBuffer()
        try MetadataRequest(topics: nil).encode(into: &v1, version: 1)
        #expect(v1.bytes == wire("ff ff ff ff"))
        var v0 = ByteBuffer()
        #expect {
            try MetadataRequest(topics: nil).encode(into: &v0, version: 0)
        } throws: { error in
            let error = error as! KafkaEncodingError
            return error.kind == .nullNotAllowed && error.context == "MetadataRequest v0: topics"
        }
        var input = ByteBuffer(bytes: wire("ff ff ff ff"))
        #expect {
            _ = try MetadataRequest(from: &input, version: 0)
        } throws: { error in
            (error as! KafkaDecodingError).kind == .invalidValue
        }
        #expect(input.readableBytes == 4)
    }

    @Test("Produce v9 request: compact everything, records as compact bytes, an unknown tagged field kept")
    func produceV9Request() throws {
        var records = ByteBuffer(bytes: [0x01, 0x02, 0x03])
        records.moveReaderIndex(forwardBy: 0)
        let request = ProduceRequest(
            transactionalId: nil, acks: -1, timeoutMs: 30_000,
            topicData: [.init(name: "t", partitionData: [.init(index: 0, records: records)])],
            unknownTaggedFields: [KafkaTaggedField(tag: 5, data: ByteBuffer(bytes: [0xab]))])
        let body = wire("""
            00 | ff ff | 00 00 75 30
            02 | 02 't' | 02 | 00 00 00 00 | 04 01 02 03 | 00 | 00
            01 | 05 01 ab
            """)
        var buffer = ByteBuffer()
        try request.encode(into: &buffer, version: 9)
        #expect(buffer.bytes == body)

        // Records come back as a slice of the input: no copy.
        var input = ByteBuffer(bytes: body)
        let decoded = try ProduceRequest(from: &input, version: 9)
        #expect(decoded == request)
        #expect(input.readableBytes == 0)
        let slice = try #require(decoded.topicData.first?.partitionData.first?.records)
        #expect(slice.bytes == [1, 2, 3])

        // Tagged fields cannot be expressed before v9.
        var v8 = ByteBuffer()
        #expect(throws: KafkaEncodingError.self) { try request.encode(into: &v8, version: 8) }
    }

    @Test("Produce v10 response: known tagged fields CurrentLeader (per partition) and NodeEndpoints (top level)")
    func produceV10ResponseTaggedFields() throws {
        let response = ProduceResponse(
            responses: [
                .init(name: "t", partitionResponses: [
                    .init(
                        index: 1, errorCode: 6, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1,
                        recordErrors: [], errorMessage: nil, currentLeader: .init(leaderId: 2, leaderEpoch: 5))
                ])
            ],
            throttleTimeMs: 0,
            nodeEndpoints: [.init(nodeId: 2, host: "b2", port: 9092, rack: nil)])
        let expected = wire("""
            00 00 00 4b
            00 00 00 2a | 00
            02 | 02 't' | 02
            00 00 00 01 | 00 06 | ff ff ff ff ff ff ff ff | ff ff ff ff ff ff ff ff | ff ff ff ff ff ff ff ff
            01 | 00
            01 | 00 09 | 00 00 00 02 00 00 00 05 00
            00
            00 00 00 00
            01 | 00 0e | 02 00 00 00 02 03 'b2' 00 00 23 84 00 00
            """)
        let frame = try KafkaFrame.encodeResponse(response, header: .init(correlationId: 42), version: 10)
        #expect(frame.bytes == expected)

        var body = try #require(stripSizePrefix(frame))
        let decoded = try KafkaFrame.decodeResponse(ProduceResponse.self, version: 10, frame: &body)
        #expect(decoded.header.correlationId == 42)
        #expect(decoded.response == response)

        // In v9 the tagged fields do not exist: their non-default values cannot be sent.
        #expect {
            _ = try KafkaFrame.encodeResponse(response, header: .init(correlationId: 42), version: 9)
        } throws: { error in
            (error as! KafkaEncodingError).context == "ProduceResponse v9: responses.partitionResponses.currentLeader"
        }
    }

    @Test("response header: v1 (tagged section) for flexible versions, but always v0 for ApiVersions")
    func responseHeaderRule() throws {
        #expect(KafkaResponseHeader.headerVersion(apiKey: .apiVersions, apiVersion: 3) == 0)
        #expect(KafkaResponseHeader.headerVersion(apiKey: .apiVersions, apiVersion: 4) == 0)
        #expect(KafkaResponseHeader.headerVersion(apiKey: .metadata, apiVersion: 8) == 0)
        #expect(KafkaResponseHeader.headerVersion(apiKey: .metadata, apiVersion: 9) == 1)
        #expect(KafkaRequestHeader.headerVersion(apiKey: .apiVersions, apiVersion: 3) == 2)
        #expect(KafkaRequestHeader.headerVersion(apiKey: .produce, apiVersion: 8) == 1)
        #expect(KafkaRequestHeader.headerVersion(apiKey: .produce, apiVersion: 9) == 2)
        #expect(KafkaRequestHeader.headerVersion(apiKey: .saslHandshake, apiVersion: 1) == 1)

        let apiVersions = ApiVersionsResponse(
            errorCode: 0, apiKeys: [.init(apiKey: 18, minVersion: 0, maxVersion: 4)], throttleTimeMs: 0)
        let frame = try KafkaFrame.encodeResponse(apiVersions, header: .init(correlationId: 7), version: 3)
        #expect(frame.bytes == wire("""
            00 00 00 13
            00 00 00 07
            00 00 | 02 | 00 12 00 00 00 04 00 | 00 00 00 00 | 00
            """))

        let metadata = MetadataResponse(throttleTimeMs: 0, brokers: [], clusterId: nil, controllerId: 1, topics: [])
        let metadataFrame = try KafkaFrame.encodeResponse(metadata, header: .init(correlationId: 7), version: 9)
        #expect(metadataFrame.bytes == wire("""
            00 00 00 15
            00 00 00 07 | 00
            00 00 00 00 | 01 | 00 | 00 00 00 01 | 01 | 80 00 00 00 | 00
            """))
        // (ClusterAuthorizedOperations is still in v9, versions 8-10, default INT32_MIN.)
    }

    @Test("ApiVersions UNSUPPORTED_VERSION answer: v0 body, error 35, ApiVersions' own range")
    func apiVersionsUnsupportedVersionAnswer() throws {
        // A client asks for ApiVersions v9, which does not exist (yet).
        var request = ByteBuffer(bytes: wire("00 12 | 00 09 | 00 00 01 00 | 00 01 'x' | 00 | 00"))
        var correlationId: Int32?
        do {
            _ = try KafkaRequest.decode(frame: &request)
        } catch {
            #expect(error.kind == .unsupportedVersion)
            #expect(error.requestHeaderPrefix == KafkaRequestHeaderPrefix(apiKey: 18, apiVersion: 9, correlationId: 256))
            correlationId = error.requestHeaderPrefix?.correlationId
        }
        let answer = ApiVersionsResponse(errorCode: 35, apiKeys: [.init(apiKey: 18, minVersion: 0, maxVersion: 4)])
        let frame = try KafkaFrame.encodeResponse(
            answer, header: .init(correlationId: try #require(correlationId)), version: 0)
        #expect(frame.bytes == wire("00 00 00 10 | 00 00 01 00 | 00 23 | 00 00 00 01 | 00 12 00 00 00 04"))
    }

    @Test("Metadata v13 (Kafka 4.0): top-level ErrorCode after the topics")
    func metadataV13ErrorCode() throws {
        let response = MetadataResponse(throttleTimeMs: 0, brokers: [], clusterId: nil, controllerId: 1, topics: [], errorCode: 41)
        var buffer = ByteBuffer()
        try response.encode(into: &buffer, version: 13)
        #expect(buffer.bytes == wire("00 00 00 00 | 01 | 00 | 00 00 00 01 | 01 | 00 29 | 00"))
        // Ignorable: dropped silently before v13.
        var v12 = ByteBuffer()
        try response.encode(into: &v12, version: 12)
        #expect(v12.bytes == wire("00 00 00 00 | 01 | 00 | 00 00 00 01 | 01 | 00"))
        #expect(ProduceRequest.validVersions == 0...12)
        #expect(MetadataRequest.validVersions == 0...13)
    }
}
