import Foundation

/// A small, seedable random number generator for reproducible property and fuzz tests
/// (SplitMix64, as in apple/swift-argument-parser's `Examples/roll/SplitMix64.swift`).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator; the same seed gives the same sequence.
    public init(seed: UInt64) { self.state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// `count` random bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = next()
            for _ in 0..<8 where index < count {
                result[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return result
    }

    /// A seed from the environment variable `name` if set (to replay a failure), else a fresh random one.
    /// Tests print the seed they use so a failure can be replayed.
    public static func testSeed(environmentVariable name: String = "TRIBUTARY_TEST_SEED") -> UInt64 {
        if let text = ProcessInfo.processInfo.environment[name], let seed = UInt64(text) {
            return seed
        }
        return UInt64.random(in: 0...UInt64.max)
    }
}
