import KafkaBroker
import KafkaProtocol
import Logging
import NIOCore
import Testing
import TributaryTestSupport

/// Random and mutated request frames through the router: it must answer or close, never trap, and
/// keep serving well-formed requests afterwards.
@Suite("Network: fuzzed request frames", .timeLimit(.minutes(1)))
struct NetworkFuzzTests {
    @Test func randomAndMutatedFramesNeverTrap() async throws {
        let seed = SplitMix64.testSeed()
        // Printed up front: a crash (not a failed expectation) would otherwise lose the seed.
        print("network fuzz: seed \(seed) (TRIBUTARY_TEST_SEED=\(seed) repeats this run)")
        var random = SplitMix64(seed: seed)
        try await BrokerTestHarness.withRouter { router in
            let connection = KafkaConnectionInfo(remoteAddress: nil, connectionNumber: 1)
            var valid: [ByteBuffer] = []
            func frame<Request: KafkaRequestMessage>(_ request: Request, _ version: Int16) throws -> ByteBuffer {
                var buffer = try KafkaFrame.encodeRequest(
                    request, header: KafkaRequestHeader(apiKey: Request.apiKey, apiVersion: version, correlationId: 1, clientId: "fuzz"))
                buffer.moveReaderIndex(forwardBy: 4)
                return buffer
            }
            valid.append(try frame(ApiVersionsRequest(clientSoftwareName: "f", clientSoftwareVersion: "1"), 3))
            valid.append(try frame(MetadataRequest(topics: [.init(name: "fuzz")]), 4))
            valid.append(try frame(MetadataRequest(topics: [.init(name: "fuzz")]), 12))
            valid.append(try frame(
                ProduceRequest(acks: 1, timeoutMs: 100, topicData: [.init(name: "fuzz", partitionData: [.init(index: 0, records: try BrokerHandlersTests.batch(["x", "y"]))])]), 7))
            valid.append(try frame(BrokerHandlersTests.fetch(topic: "fuzz", offset: 0), 11))
            valid.append(try frame(CreateTopicsRequest(topics: [.init(name: "t", numPartitions: 2, replicationFactor: 1)]), 5))
            valid.append(try frame(ListOffsetsRequest(topics: [.init(name: "fuzz", partitions: [.init(partitionIndex: 0, timestamp: -1)])]), 6))
            for iteration in 0..<3000 {
                var input: ByteBuffer
                if iteration % 4 == 0 {
                    input = ByteBuffer(bytes: random.bytes(Int(random.next() % 64)))
                } else {
                    input = valid[Int(random.next() % UInt64(valid.count))]
                    var bytes = Array(input.readableBytesView)
                    for _ in 0..<(1 + Int(random.next() % 4)) where !bytes.isEmpty {
                        switch random.next() % 3 {
                        case 0: bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
                        case 1: bytes.removeLast(Int(random.next() % UInt64(bytes.count)))
                        default: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: Int(random.next() % UInt64(bytes.count)))
                        }
                    }
                    input = ByteBuffer(bytes: bytes)
                }
                // A mutated Fetch may ask for a long poll: cancel it after 50 ms (Fetch honours cancellation).
                let request = input
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { _ = await router.respond(to: request, on: connection) }
                    group.addTask { try? await Task.sleep(for: .milliseconds(50)) }
                    await group.next()
                    group.cancelAll()
                }
            }
            // Still serving.
            guard case .respond = await router.respond(to: valid[0], on: connection) else {
                Issue.record("router stopped answering ApiVersions, seed \(seed)")
                return
            }
        }
    }
}
