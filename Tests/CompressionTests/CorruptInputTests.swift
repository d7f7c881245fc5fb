import TributaryTestSupport
import Compression
import Foundation
import Testing

/// Truncated, random and mutated input: always an error or bounded output; never a trap or a hang.
@Suite struct CorruptInputTests {
    /// The base seed; set `TRIBUTARY_FUZZ_SEED` to replay or explore. Every failure message names the seed.
    static let baseSeed: UInt64 = ProcessInfo.processInfo.environment["TRIBUTARY_FUZZ_SEED"].flatMap { UInt64($0) }
        ?? 0x7B1B_0042

    /// The first bytes each format starts with, so random tails reach past the magic check.
    static func magic(_ algorithm: CompressionAlgorithm) -> [UInt8] {
        switch algorithm {
        case .gzip: return [0x1F, 0x8B, 0x08, 0x00]
        case .lz4: return [0x04, 0x22, 0x4D, 0x18]
        case .zstd: return [0x28, 0xB5, 0x2F, 0xFD]
        case .snappy: return [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]
        }
    }

    /// A small valid input: log text, and for snappy enough to span several 32 KiB xerial blocks.
    static func sample(_ algorithm: CompressionAlgorithm) throws -> [UInt8] {
        if algorithm == .snappy {
            // Repetitive, so ~100 KiB compresses to a few KiB and every prefix stays cheap to try.
            let line = Array("2026-01-01 00:00:00 host-a sshd[4242]: Accepted publickey for deploy\n".utf8)
            return Array((0..<1500).lazy.flatMap { _ in line })
        }
        return Array(try LogCorpus.files()[0].bytes.prefix(3000))
    }

    /// Checks one decompression of untrusted bytes: a corrupt/limit error with the output untouched, or success
    /// within the limit. Returns the output on success.
    @discardableResult
    private func checkBounded(
        _ decompressor: Decompressor, _ input: [UInt8], maxOutputBytes: Int, context: @autoclosure () -> String
    ) -> [UInt8]? {
        do {
            let output = try decompressor.decompress(input, maxOutputBytes: maxOutputBytes)
            if output.count > maxOutputBytes {
                Issue.record("\(context()): \(output.count) bytes exceed the \(maxOutputBytes)-byte limit")
            }
            return output
        } catch {
            if error.kind != .corruptInput && error.kind != .outputLimitExceeded {
                Issue.record("\(context()): unexpected \(error)")
            }
            if error.detail.isEmpty { Issue.record("\(context()): error without detail") }
            return nil
        }
    }

    @Test("every prefix of a valid input is an error, or (at a valid boundary) the right output", arguments: CompressionAlgorithm.allCases)
    func truncation(_ algorithm: CompressionAlgorithm) throws {
        let input = try Self.sample(algorithm)
        let compressed = try Compressor(algorithm: algorithm).compress(input)
        // Prefix lengths that are complete streams, with the output they must give.
        var valid: [Int: [UInt8]] = [compressed.count: input]
        if algorithm == .snappy {
            var offset = 16
            var produced = 0
            valid[16] = []
            while offset < compressed.count {
                offset += 4 + compressed[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
                produced = min(produced + 32 * 1024, input.count)
                valid[offset] = Array(input.prefix(produced))
            }
            #expect(valid.count == 5, "expected 4 blocks, got \(valid.count - 1)")
        }
        let decompressor = Decompressor(algorithm: algorithm)
        for length in 0...compressed.count {
            let prefix = Array(compressed.prefix(length))
            let output = checkBounded(decompressor, prefix, maxOutputBytes: input.count, context: "\(algorithm) prefix \(length)")
            if let expected = valid[length] {
                #expect(byteDifference(output, expected) == nil, "\(algorithm) prefix \(length) of \(compressed.count) is complete")
            } else if let output {
                Issue.record("\(algorithm) prefix \(length) of \(compressed.count) decoded to \(output.count) bytes instead of failing")
            }
        }
    }

    @Test("seeded random garbage, bare and behind the format's magic", arguments: CompressionAlgorithm.allCases)
    func randomGarbage(_ algorithm: CompressionAlgorithm) {
        let seed = Self.baseSeed &+ UInt64(CompressionAlgorithm.allCases.firstIndex(of: algorithm)!)
        var random = SplitMix64(seed: seed)
        let decompressor = Decompressor(algorithm: algorithm)
        let magic = Self.magic(algorithm)
        for index in 0..<600 {
            var garbage = random.bytes(Int.random(in: 0...700, using: &random))
            if index % 2 == 1 { garbage = magic + garbage }
            checkBounded(
                decompressor, garbage, maxOutputBytes: 64 * 1024,
                context: "\(algorithm) garbage case \(index) (seed \(seed), \(garbage.count) bytes)"
            )
        }
    }

    @Test("seeded single-byte mutations of valid data", arguments: CompressionAlgorithm.allCases)
    func mutations(_ algorithm: CompressionAlgorithm) throws {
        let seed = Self.baseSeed &+ 0x1000 &+ UInt64(CompressionAlgorithm.allCases.firstIndex(of: algorithm)!)
        var random = SplitMix64(seed: seed)
        let input = try Self.sample(algorithm)
        let compressed = try Compressor(algorithm: algorithm).compress(input)
        let decompressor = Decompressor(algorithm: algorithm)
        var errors = 0
        for index in 0..<600 {
            var mutated = compressed
            let position = Int.random(in: 0..<mutated.count, using: &random)
            mutated[position] ^= UInt8.random(in: 1...255, using: &random)
            // Sometimes a second byte, so length fields and payload are hit together.
            if index % 4 == 0 {
                mutated[Int.random(in: 0..<mutated.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            }
            let output = checkBounded(
                decompressor, mutated, maxOutputBytes: input.count + 100,
                context: "\(algorithm) mutation case \(index) at byte \(position) (seed \(seed))"
            )
            if output == nil { errors += 1 }
        }
        // lz4/zstd/snappy frames as we write them carry no checksum, so only gzip (CRC-32) must catch nearly all.
        if algorithm == .gzip { #expect(errors > 550, "only \(errors) of 600 gzip mutations detected (seed \(seed))") }
        // The decompressor still works afterwards.
        #expect(try byteDifference(decompressor.decompress(compressed, maxOutputBytes: input.count), input) == nil)
    }
}
