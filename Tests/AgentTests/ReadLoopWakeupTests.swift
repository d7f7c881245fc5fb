@testable import Agent
import Testing

/// The read loop's idle wait: ended early by a signal (an acknowledgement), otherwise by its timeout.
@Suite("Read loop wakeup")
struct ReadLoopWakeupTests {
    @Test func aSignalBeforeTheWaitEndsItAtOnceAndOnlyOnce() async {
        let wakeup = ReadLoopWakeup()
        wakeup.signal()
        let clock = ContinuousClock()
        let first = await clock.measure { await wakeup.wait(timeout: .seconds(30)) }
        #expect(first < .seconds(5), "a pending signal ends the wait at once (took \(first))")
        let second = await clock.measure { await wakeup.wait(timeout: .milliseconds(100)) }
        #expect(second >= .milliseconds(100), "the signal was used up: the next wait runs to its timeout (took \(second))")
    }

    @Test func aSignalDuringTheWaitEndsIt() async {
        let wakeup = ReadLoopWakeup()
        let clock = ContinuousClock()
        let signaller = Task {
            // Keep signalling until the waiter is gone: the first signal may come before the wait starts.
            while !Task.isCancelled {
                wakeup.signal()
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        let waited = await clock.measure { await wakeup.wait(timeout: .seconds(30)) }
        signaller.cancel()
        #expect(waited < .seconds(5), "took \(waited)")
    }

    @Test func anAcknowledgementSignalsTheInboxWakeupButAnEmptyBatchDoesNot() async {
        let wakeup = ReadLoopWakeup()
        let inbox = AcknowledgementInbox(wakeup: wakeup)
        inbox.acknowledge([AckToken]())
        let clock = ContinuousClock()
        let idle = await clock.measure { await wakeup.wait(timeout: .milliseconds(100)) }
        #expect(idle >= .milliseconds(100), "an empty batch is no acknowledgement (took \(idle))")
        inbox.acknowledge(AckToken(input: 0, slot: 0, sequence: 0, bytes: 1))
        let woken = await clock.measure { await wakeup.wait(timeout: .seconds(30)) }
        #expect(woken < .seconds(5), "took \(woken)")
    }

    @Test func drainingHandsOverEveryAcknowledgementOnceInOrder() {
        let inbox = AcknowledgementInbox()
        var taken: [AckToken] = []
        inbox.drain(into: &taken)
        #expect(taken.isEmpty)
        for round in 0..<3 {
            let tokens = (0..<(100 * (round + 1))).map { AckToken(input: 0, slot: round, sequence: UInt64($0), bytes: 1) }
            inbox.acknowledge(tokens.prefix(10))
            inbox.acknowledge(tokens.dropFirst(10))
            inbox.drain(into: &taken)
            #expect(taken == tokens, "round \(round)")
            inbox.drain(into: &taken)
            #expect(taken.isEmpty, "nothing twice")
        }
    }
}
