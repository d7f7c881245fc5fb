import NIOConcurrencyHelpers
import Testing

@testable import SystemdJournal

@Suite("SystemdJournal: the bounded handoff from the reader thread")
struct BlockingHandoffTests {
    /// Polls `condition` until it holds or `seconds` pass.
    func eventually(seconds: Int = 10, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition() {
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: .milliseconds(2))
        }
        return true
    }

    @Test("the producer never runs more than `capacity` elements ahead of the consumer, and order is kept")
    func backpressure() async throws {
        let capacity = 3
        let total = 200
        let pushed = NIOLockedValueBox(0)
        let handoff = BlockingHandoff<Int>(capacity: capacity, onCancel: {})
        try DedicatedThread.start(name: "test-producer") {
            for value in 0..<total {
                guard handoff.push(value) else { return }
                pushed.withLockedValue { $0 += 1 }
            }
            handoff.finish()
        }
        // Before anything is consumed, the producer fills the buffer and blocks.
        #expect(try await eventually { pushed.withLockedValue { $0 } == capacity })
        var received: [Int] = []
        while let value = try await handoff.next() {
            received.append(value)
            let ahead = pushed.withLockedValue { $0 } - received.count
            #expect(ahead <= capacity, "producer ran \(ahead) elements ahead")
        }
        #expect(received == Array(0..<total))
    }

    @Test("cancel() releases a producer blocked on a full buffer and ends the consumer")
    func cancelReleasesProducer() async throws {
        let handoff = BlockingHandoff<Int>(capacity: 1, onCancel: {})
        let result = NIOLockedValueBox<Bool?>(nil)
        try DedicatedThread.start(name: "test-producer") {
            _ = handoff.push(1)
            let accepted = handoff.push(2)  // blocks: the buffer is full (outside `result`'s lock)
            result.withLockedValue { $0 = accepted }
        }
        #expect(try await eventually { handoff.isBufferFull })
        #expect(result.withLockedValue { $0 } == nil)
        handoff.cancel()
        #expect(try await eventually { result.withLockedValue { $0 } == false })
        // What was buffered before the cancel is still handed out, then the sequence ends.
        #expect(try await handoff.next() == 1)
        #expect(try await handoff.next() == nil)
    }

    @Test("an error from the producer is thrown once after the buffered elements")
    func errorAfterElements() async throws {
        struct Broken: Error, Equatable {}
        let handoff = BlockingHandoff<Int>(capacity: 4, onCancel: {})
        #expect(handoff.push(7))
        handoff.finish(throwing: Broken())
        #expect(try await handoff.next() == 7)
        await #expect(throws: Broken()) { try await handoff.next() }
        #expect(try await handoff.next() == nil)
    }
}
