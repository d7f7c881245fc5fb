import TributaryTestSupport
import Foundation
import KafkaProtocol
import NIOCore
import Testing

/// Hostile input: random bytes, and mutations and truncations of valid encodings, fed to every
/// message decoder in every version and to `KafkaRequest.decode(frame:)`. The decoders must return
/// or throw `KafkaDecodingError` (typed throws makes any other error impossible), never trap; on a
/// throw the reader index is back where it was; what decodes must re-encode and decode to the same
/// value. The seed is printed and named in every failure; set `KAFKA_PROTOCOL_FUZZ_SEED` to replay
/// and `KAFKA_PROTOCOL_FUZZ_SCALE` to run longer.
@Suite("Messages: hostile input never traps")
struct MessageFuzzTests {
    static let seed: UInt64 = {
        SplitMix64.testSeed(environmentVariable: "KAFKA_PROTOCOL_FUZZ_SEED")
    }()

    /// Multiplies the iteration counts for a longer soak (`KAFKA_PROTOCOL_FUZZ_SCALE=50`); default 1
    /// keeps the suite at a couple of seconds in debug builds.
    static let scale = max(1, Int(ProcessInfo.processInfo.environment["KAFKA_PROTOCOL_FUZZ_SCALE"] ?? "") ?? 1)

    /// Per message version: this many random inputs and this many mutations of the sample.
    static let randomInputs = 8 * scale
    static let mutations = 24 * scale

    @Test("message bodies: random bytes and mutated samples, every message and version")
    func bodies() {
        print("MessageFuzzTests.bodies seed \(Self.seed) (KAFKA_PROTOCOL_FUZZ_SEED=\(Self.seed) to replay)")
        var rng = SplitMix64(seed: Self.seed)
        var decoded = 0
        for type in allSampledMessageTypes {
            decoded += Self.fuzzBody(type, rng: &rng)
        }
        // Some mutations (a changed integer, say) still decode; make sure the success path ran too.
        #expect(decoded > 100, "seed \(Self.seed)")
    }

    static func fuzzBody<Message: SampledMessage>(_: Message.Type, rng: inout SplitMix64) -> Int {
        var decoded = 0
        for version in Message.validVersions {
            var encoded = ByteBuffer()
            try? Message.sample(version: version).encode(into: &encoded, version: version)
            let base = encoded.bytes
            var inputs: [[UInt8]] = []
            for _ in 0..<randomInputs {
                let count = Int.random(in: 0...min(96, base.count + 8), using: &rng)
                inputs.append((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
            }
            for _ in 0..<mutations {
                inputs.append(mutate(base, rng: &rng))
            }
            for input in inputs where decodeBody(Message.self, version: version, input: input) {
                decoded += 1
            }
        }
        return decoded
    }

    /// Decodes `input`; returns whether it decoded. Checks the invariants either way.
    static func decodeBody<Message: KafkaMessage>(_: Message.Type, version: Int16, input: [UInt8]) -> Bool {
        let where_ = "\(Message.self) v\(version), seed \(seed), input \(input.count) bytes"
        var buffer = ByteBuffer(bytes: input)
        let start = buffer.readerIndex
        let value: Message
        do {
            value = try Message(from: &buffer, version: version)
        } catch {
            #expect(buffer.readerIndex == start, "\(where_): reader index moved on \(error)")
            #expect(error.context.hasPrefix("\(Message.self) v\(version)"), "\(where_): \(error)")
            return false
        }
        #expect(buffer.readerIndex <= buffer.writerIndex)
        // What decodes re-encodes, and reads back as the same value.
        var again = ByteBuffer()
        do {
            try value.encode(into: &again, version: version)
            let reread = try Message(from: &again, version: version)
            #expect(reread == value, "\(where_): re-decoded value differs")
            #expect(again.readableBytes == 0, "\(where_): re-encoding not fully consumed")
        } catch {
            Issue.record("\(where_): decoded but does not round-trip: \(error)")
        }
        return true
    }

    @Test("request frames: mutated sample frames and random bodies behind a valid header prefix")
    func frames() {
        print("MessageFuzzTests.frames seed \(Self.seed) (KAFKA_PROTOCOL_FUZZ_SEED=\(Self.seed) to replay)")
        var rng = SplitMix64(seed: Self.seed ^ 0x5eed)
        for type in allSampledRequestTypes {
            Self.fuzzFrames(type, rng: &rng)
        }
        // Completely random frames, including unknown keys and versions.
        for _ in 0..<200 {
            let count = Int.random(in: 0...40, using: &rng)
            Self.decodeFrame((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
    }

    static func fuzzFrames<Request: SampledMessage & KafkaRequestMessage>(_: Request.Type, rng: inout SplitMix64) {
        for version in Request.validVersions {
            let header = KafkaRequestHeader(apiKey: Request.apiKey, apiVersion: version, correlationId: 77, clientId: "f")
            guard let frame = try? KafkaFrame.encodeRequest(Request.sample(version: version), header: header) else {
                Issue.record("\(Request.self) v\(version): sample does not encode")
                continue
            }
            let base = Array(frame.bytes.dropFirst(4))
            for _ in 0..<(mutations / 2) {
                decodeFrame(mutate(base, rng: &rng))
            }
            // A valid prefix, then random bytes: reaches the body decoders with garbage.
            for _ in 0..<(randomInputs / 2) {
                let count = Int.random(in: 0...64, using: &rng)
                decodeFrame(Array(base.prefix(8)) + (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
            }
        }
    }

    static func decodeFrame(_ input: [UInt8]) {
        var buffer = ByteBuffer(bytes: input)
        do {
            let (header, _) = try KafkaRequest.decode(frame: &buffer)
            #expect(buffer.readableBytes == 0, "seed \(seed)")
            #expect(header.correlationId == Int32(bitPattern: UInt32(input[4]) << 24 | UInt32(input[5]) << 16 | UInt32(input[6]) << 8 | UInt32(input[7])))
        } catch {
            #expect(buffer.readerIndex == 0, "seed \(seed): reader index moved on \(error)")
            #expect((error.requestHeaderPrefix != nil) == (input.count >= 8), "seed \(seed): \(error)")
        }
    }

    /// One random structural change to `bytes`.
    static func mutate(_ bytes: [UInt8], rng: inout SplitMix64) -> [UInt8] {
        var bytes = bytes
        guard !bytes.isEmpty else { return [UInt8.random(in: 0...255, using: &rng)] }
        let position = Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<7, using: &rng) {
        case 0:  // one byte
            bytes[position] = UInt8.random(in: 0...255, using: &rng)
        case 1:  // several bytes
            for _ in 0..<Int.random(in: 2...6, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
        case 2:  // truncation
            bytes.removeLast(bytes.count - position)
        case 3:  // a hostile int32 length or count
            let hostile: [UInt32] = [0x7fff_ffff, 0xffff_ffff, 0x8000_0000, 0x0001_0000, 0xffff_fffe]
            let value = hostile.randomElement(using: &rng)!
            for i in 0..<4 where position + i < bytes.count {
                bytes[position + i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(i)))
            }
        case 4:  // a hostile unsigned varint (compact length, tag, size)
            let hostile: [[UInt8]] = [[0xff, 0xff, 0xff, 0xff, 0x0f], [0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x80, 0x80, 0x80, 0x80]]
            for (i, byte) in hostile.randomElement(using: &rng)!.enumerated() where position + i < bytes.count {
                bytes[position + i] = byte
            }
        case 5:  // inserted bytes
            let inserted = (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            bytes.insert(contentsOf: inserted, at: position)
        default:  // a duplicated chunk
            let length = Int.random(in: 1...max(1, min(16, bytes.count - position)), using: &rng)
            bytes.insert(contentsOf: bytes[position..<(position + length)], at: position)
        }
        return bytes
    }
}
