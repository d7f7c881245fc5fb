@testable import Agent
import Testing
import TributaryTestSupport

/// The ring of events handed to the producer: tokens in order, acknowledgements in any order.
@Suite("Pending events")
struct PendingEventsTests {
    static func event(_ sequence: UInt64) -> AckToken {
        AckToken(input: 0, slot: 0, sequence: sequence, bytes: 1)
    }

    @Test func tokensIncreaseAndEachEventIsRemovedOnceInAnyOrder() {
        let seed = SplitMix64.testSeed()
        var rng = SplitMix64(seed: seed)
        var pending = PendingEvents(firstToken: 1)
        var tokens: [UInt64: UInt64] = [:]
        for sequence in UInt64(0)..<20_000 {
            let token = pending.append(Self.event(sequence))
            #expect(token == sequence + 1)
            tokens[token] = sequence
        }
        #expect(pending.count == 20_000)
        var order = Array(tokens.keys)
        for index in order.indices.reversed() {
            order.swapAt(index, Int(rng.next() % UInt64(index + 1)))
        }
        for (removed, token) in order.enumerated() {
            #expect(pending.remove(token: token)?.sequence == tokens[token], "seed \(seed)")
            #expect(pending.remove(token: token) == nil, "a token is removed only once")
            #expect(pending.count == order.count - removed - 1)
        }
        #expect(pending.isEmpty)
        #expect(pending.append(Self.event(0)) == 20_001, "tokens keep increasing after the ring emptied")
    }

    @Test func unknownTokensAreIgnored() {
        var pending = PendingEvents(firstToken: 1)
        #expect(pending.remove(token: 0) == nil)
        #expect(pending.remove(token: 1) == nil)
        _ = pending.append(Self.event(0))
        _ = pending.append(Self.event(1))
        #expect(pending.remove(token: 3) == nil)
        #expect(pending.remove(token: 2)?.sequence == 1)
        #expect(pending.count == 1)
        #expect(pending.remove(token: 1)?.sequence == 0)
        #expect(pending.isEmpty)
    }
}
