import KafkaBroker
import Logging
import NIOCore
import Synchronization
import Testing
import TributaryTestSupport

/// The listener with a scripted responder: ordering, isolation between connections, shutdown.
@Suite("Network: listener", .timeLimit(.minutes(1)))
struct NetworkListenerTests {
    /// Echoes each frame; a frame starting with 0xFF waits until ``release()``.
    final class GatedEchoResponder: KafkaFrameResponder {
        private let gate: AsyncStream<Void>
        private let opener: AsyncStream<Void>.Continuation
        /// Continues when a gated request has arrived (so tests wait for it, not for time).
        let arrivals: AsyncStream<Void>
        private let arrived: AsyncStream<Void>.Continuation

        init() {
            (gate, opener) = AsyncStream.makeStream()
            (arrivals, arrived) = AsyncStream.makeStream()
        }

        func release() { opener.yield() }

        func respond(to frame: ByteBuffer, on connection: KafkaConnectionInfo) async -> KafkaFrameOutcome {
            if frame.getInteger(at: frame.readerIndex, as: UInt8.self) == 0xFF {
                arrived.yield()
                var iterator = gate.makeAsyncIterator()
                _ = await iterator.next()
            }
            var response = ByteBuffer()
            response.writeInteger(Int32(frame.readableBytes))
            response.writeImmutableBuffer(frame)
            return .respond(response)
        }
    }

    private func withListener(
        _ body: @Sendable (KafkaListener, GatedEchoResponder) async throws -> Void
    ) async throws {
        var logger = Logger(label: "test.listener")
        logger.logLevel = .critical
        let listener = try await KafkaListener.bind(configuration: .init(host: "127.0.0.1", port: 0), logger: logger)
        let responder = GatedEchoResponder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run(responder: responder) }
            try await body(listener, responder)
            listener.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    private static func frame(_ bytes: [UInt8]) -> [UInt8] {
        let size = UInt32(bytes.count)
        return [UInt8(size >> 24), UInt8(size >> 16 & 0xff), UInt8(size >> 8 & 0xff), UInt8(size & 0xff)] + bytes
    }

    @Test func slowRequestDelaysOnlyItsOwnConnectionAndOrderIsKept() async throws {
        try await withListener { listener, responder in
            let port = listener.localAddress.port!
            let slow = try RawClient(port: port)
            let other = try RawClient(port: port)
            // Pipelined: a slow request, then a fast one, on the same connection.
            try slow.send(Self.frame([0xFF, 1]) + Self.frame([2, 2]))
            var arrivals = responder.arrivals.makeAsyncIterator()
            _ = await arrivals.next()
            // Another connection is answered while the slow one waits.
            try other.send(Self.frame([3, 3, 3]))
            #expect(try await BrokerTestHarness.blocking { other.receiveFrame() } == [3, 3, 3])
            responder.release()
            // The slow connection's answers arrive in request order.
            #expect(try await BrokerTestHarness.blocking { slow.receiveFrame() } == [0xFF, 1])
            #expect(try await BrokerTestHarness.blocking { slow.receiveFrame() } == [2, 2])
        }
    }

    @Test func gracefulShutdownAnswersTheRequestInFlightThenCloses() async throws {
        var logger = Logger(label: "test.listener")
        logger.logLevel = .critical
        let listener = try await KafkaListener.bind(configuration: .init(host: "127.0.0.1", port: 0), logger: logger)
        let responder = GatedEchoResponder()
        let client = try RawClient(port: listener.localAddress.port!)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run(responder: responder) }
            try client.send(Self.frame([0xFF, 9]))
            var arrivals = responder.arrivals.makeAsyncIterator()
            _ = await arrivals.next()
            listener.triggerGracefulShutdown()
            responder.release()
            #expect(try await BrokerTestHarness.blocking { client.receiveFrame() } == [0xFF, 9])
            #expect(try await BrokerTestHarness.blocking { client.waitUntilClosed() })
            try await group.waitForAll()  // run() returns
        }
        #expect(throws: (any Error).self) { try RawClient(port: listener.localAddress.port!) }
    }

    @Test func oversizedFrameClosesOnlyThatConnection() async throws {
        try await withListener { listener, _ in
            let port = listener.localAddress.port!
            let bad = try RawClient(port: port)
            let good = try RawClient(port: port)
            try bad.send([0x7f, 0xff, 0xff, 0xff])
            #expect(try await BrokerTestHarness.blocking { bad.waitUntilClosed() })
            try good.send(Self.frame([4]))
            #expect(try await BrokerTestHarness.blocking { good.receiveFrame() } == [4])
        }
    }
}
