import KafkaBroker
import KafkaProtocol
import Logging
import NIOCore
import Testing
import TributaryTestSupport

/// ApiVersions and the version rules, through the router as the network layer calls it.
@Suite("Network: ApiVersions and request rules")
struct NetworkApiVersionsTests {
    private let connection = KafkaConnectionInfo(remoteAddress: nil, connectionNumber: 1)

    /// A request frame without its size prefix.
    private func frame<Request: KafkaRequestMessage>(_ request: Request, version: Int16, correlationId: Int32 = 42) throws -> ByteBuffer {
        try BrokerTestHarness.requestFrame(request, version: version, correlationId: correlationId)
    }

    /// A response frame's body (size prefix removed).
    private func responseFrame(_ outcome: KafkaFrameOutcome) throws -> ByteBuffer {
        guard case .respond(var buffer) = outcome else {
            Issue.record("expected a response, got \(outcome)")
            throw CancellationError()
        }
        let size = buffer.readInteger(as: Int32.self)
        #expect(size == Int32(buffer.readableBytes))
        return buffer
    }

    private func isClose(_ outcome: KafkaFrameOutcome) -> Bool {
        if case .close = outcome { return true }
        return false
    }

    @Test(arguments: [Int16(0), 1, 2, 3, 4])
    func everySupportedVersionListsTheAdvertisedRanges(version: Int16) async throws {
        try await BrokerTestHarness.withRouter { router in
            let request = ApiVersionsRequest(clientSoftwareName: "tributary-test", clientSoftwareVersion: "1.0")
            var response = try responseFrame(await router.respond(to: frame(request, version: version), on: connection))
            let (header, body) = try KafkaFrame.decodeResponse(ApiVersionsResponse.self, version: version, frame: &response)
            #expect(header.correlationId == 42)
            #expect(body.errorCode == 0)
            let ranges = Dictionary(uniqueKeysWithValues: body.apiKeys.map { ($0.apiKey, $0.minVersion...$0.maxVersion) })
            // The floors and ceilings librdkafka 2.0 checks to turn its features on.
            #expect(ranges[0] == 0...12)  // Produce: 0 for gzip/snappy/lz4, 3 for v2 batches, 7 for zstd
            #expect(ranges[1] == 4...12)  // Fetch (v13+ need topic ids)
            #expect(ranges[2] == 1...10)  // ListOffsets
            #expect(ranges[3] == 0...13)  // Metadata
            #expect(ranges[10] == 0...6)  // FindCoordinator
            #expect(ranges[11] == 0...9)  // JoinGroup
            #expect(ranges[17] == 0...1)  // SaslHandshake
            #expect(ranges[18] == 0...4)  // ApiVersions
            #expect(ranges[22] == 0...5)  // InitProducerId
            #expect(ranges[36] == 0...2)  // SaslAuthenticate
            #expect(ranges.count == KafkaAPIKey.allCases.count)
        }
    }

    @Test func tooNewVersionGetsV0UnsupportedVersionWithOwnRange() async throws {
        try await BrokerTestHarness.withRouter { router in
            // ApiVersions v7 from a future client: a flexible header we cannot parse, so only the
            // 8-byte prefix matters; the body is arbitrary.
            var request = ByteBuffer()
            request.writeInteger(Int16(18))
            request.writeInteger(Int16(7))
            request.writeInteger(Int32(99))
            request.writeBytes([0, 4, 0x61, 0x62, 0x63, 0x64, 0, 0xff, 0xfe])
            var response = try responseFrame(await router.respond(to: request, on: connection))
            let (header, body) = try KafkaFrame.decodeResponse(ApiVersionsResponse.self, version: 0, frame: &response)
            #expect(header.correlationId == 99)
            #expect(body.errorCode == KafkaErrorCode.unsupportedVersion.rawValue)
            #expect(body.apiKeys == [.init(apiKey: 18, minVersion: 0, maxVersion: 4)])
        }
    }

    @Test func unknownApiKeyCloses() async throws {
        try await BrokerTestHarness.withRouter { router in
            var request = ByteBuffer()
            request.writeInteger(Int16(57))  // UpdateFeatures: not spoken here
            request.writeInteger(Int16(0))
            request.writeInteger(Int32(1))
            request.writeInteger(Int16(-1))
            #expect(isClose(await router.respond(to: request, on: connection)))
        }
    }

    @Test func unsupportedVersionOfOtherApisCloses() async throws {
        try await BrokerTestHarness.withRouter { router in
            // Produce v2 is advertised (for librdkafka's feature checks) but refused, as Kafka 4 does.
            let produce = ProduceRequest(acks: 1, timeoutMs: 1000, topicData: [])
            let produceFrame = try frame(produce, version: 2)
            #expect(isClose(await router.respond(to: produceFrame, on: connection)))
            // Fetch v3: below the floor.
            let fetchFrame = try frame(FetchRequest(), version: 3)
            #expect(isClose(await router.respond(to: fetchFrame, on: connection)))
            // A version outside anything the protocol module knows.
            var request = ByteBuffer()
            request.writeInteger(Int16(3))
            request.writeInteger(Int16(99))
            request.writeInteger(Int32(1))
            #expect(isClose(await router.respond(to: request, on: connection)))
        }
    }

    @Test func malformedBodyOrShortFrameCloses() async throws {
        try await BrokerTestHarness.withRouter { router in
            var truncated = try frame(MetadataRequest(topics: [.init(name: "logs")]), version: 4)
            truncated.moveWriterIndex(to: truncated.writerIndex - 3)
            #expect(isClose(await router.respond(to: truncated, on: connection)))
            #expect(isClose(await router.respond(to: ByteBuffer(bytes: [0, 18, 0]), on: connection)))
            #expect(isClose(await router.respond(to: ByteBuffer(), on: connection)))
        }
    }
}
