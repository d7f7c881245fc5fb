import TributaryTestSupport
import Compression
import NIOCore
import Testing

/// Decompression bombs and lying length fields: errors, never unbounded allocation.
@Suite struct BoundsTests {
    static let oneMiB = 1 << 20

    /// Decompresses into a fresh buffer and returns the error and the buffer (whose capacity shows what was allocated).
    private func attempt(
        _ algorithm: CompressionAlgorithm, _ input: [UInt8], maxOutputBytes: Int
    ) -> (error: CompressionError?, output: ByteBuffer, elapsed: Duration) {
        let decompressor = Decompressor(algorithm: algorithm)
        var output = ByteBuffer()
        var caught: CompressionError? = nil
        let elapsed = ContinuousClock().measure {
            do throws(CompressionError) {
                _ = try input.withUnsafeBytes { raw in
                    Result { () throws(CompressionError) -> Int in
                        try decompressor.decompress(raw, appendingTo: &output, maxOutputBytes: maxOutputBytes)
                    }
                }.get()
            } catch {
                caught = error
            }
        }
        return (caught, output, elapsed)
    }

    /// Expects `.outputLimitExceeded`, an untouched output, and at most `nextPowerOf2(limit + 1)` bytes allocated.
    private func expectBombStopped(
        _ algorithm: CompressionAlgorithm, _ compressed: [UInt8], _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let (error, output, elapsed) = attempt(algorithm, compressed, maxOutputBytes: Self.oneMiB)
        #expect(error?.kind == .outputLimitExceeded, "\(what): \(String(describing: error))", sourceLocation: sourceLocation)
        #expect(output.readableBytes == 0, "\(what): output must be untouched", sourceLocation: sourceLocation)
        #expect(output.capacity <= 2 * Self.oneMiB, "\(what): allocated \(output.capacity) bytes", sourceLocation: sourceLocation)
        #expect(elapsed < .seconds(2), "\(what): took \(elapsed)", sourceLocation: sourceLocation)
    }

    @Test("64 MiB of zeros, compressed by us, stops at a 1 MiB limit", arguments: CompressionAlgorithm.allCases)
    func ourBomb(_ algorithm: CompressionAlgorithm) throws {
        let zeros = [UInt8](repeating: 0, count: 64 << 20)
        let compressed = try Compressor(algorithm: algorithm, level: algorithm == .snappy ? nil : 1).compress(zeros)
        #expect(compressed.count < 4 << 20)
        expectBombStopped(algorithm, compressed, "\(algorithm) bomb of \(compressed.count) bytes")
    }

    @Test("64 MiB of zeros without a declared size (lz4, zstd streamed; raw snappy)",
          .enabled(if: InteropTests.hasPythonLZ4AndZstd && InteropTests.hasPythonSnappy, "python3 lacks lz4/zstandard/snappy"))
    func undeclaredBombs() throws {
        let script = """
            import sys, struct, lz4.frame, zstandard, snappy
            zeros = bytes(64 << 20)
            c = zstandard.ZstdCompressor(level=1).compressobj()
            outs = [lz4.frame.compress(zeros, store_size=False), c.compress(zeros) + c.flush(), snappy.compress(zeros)]
            for o in outs:
                sys.stdout.buffer.write(struct.pack('>I', len(o)) + o)
            """
        let result = try ProcessRunner.python(script)
        try #require(result.succeeded, "python3: \(result.stderr)")
        var bombs: [[UInt8]] = []
        var offset = 0
        while offset + 4 <= result.stdout.count {
            let length = result.stdout[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            bombs.append(Array(result.stdout[offset + 4..<offset + 4 + length]))
            offset += 4 + length
        }
        try #require(bombs.count == 3)
        expectBombStopped(.lz4, bombs[0], "lz4 frame without content size")
        expectBombStopped(.zstd, bombs[1], "zstd stream without content size")
        expectBombStopped(.snappy, bombs[2], "raw snappy block of 64 MiB")
    }

    // MARK: lying headers

    @Test("snappy varint claiming 2 GiB is refused before allocating, whatever the limit")
    func snappyLyingVarint() {
        let lie: [UInt8] = [0x80, 0x80, 0x80, 0x80, 0x08] + [UInt8](repeating: 0, count: 20)
        for limit in [Self.oneMiB, Int.max] {
            let (error, output, _) = attempt(.snappy, lie, maxOutputBytes: limit)
            #expect(error?.kind == .corruptInput, "limit \(limit): \(String(describing: error))")
            #expect(error?.detail.contains("2147483648") == true, "\(String(describing: error))")
            #expect(output.capacity == 0)
        }
        // A length snappy could reach but the data does not fill.
        var short = Array(try! Compressor(algorithm: .snappy).compress([UInt8](repeating: 7, count: 100)).dropFirst(16 + 4))
        short[0] = 101  // varint: 101 bytes, but the ops produce 100
        let (error, _, _) = attempt(.snappy, short, maxOutputBytes: Self.oneMiB)
        #expect(error?.kind == .corruptInput, "\(String(describing: error))")
    }

    @Test("xerial block lengths beyond the input or the limit are refused")
    func xerialLyingBlockLength() throws {
        let valid = try Compressor(algorithm: .snappy).compress([UInt8](repeating: 0x61, count: 40_000))
        var tooLong = valid
        tooLong[16] = 0x7F  // first block length now ~2 GiB
        let (error, output, _) = attempt(.snappy, tooLong, maxOutputBytes: Self.oneMiB)
        #expect(error?.kind == .corruptInput, "\(String(describing: error))")
        #expect(error?.detail.contains("remain") == true, "\(String(describing: error))")
        #expect(output.capacity == 0)

        var negative = valid
        negative[16] = 0xFF  // negative int32 in Java's eyes
        #expect(attempt(.snappy, negative, maxOutputBytes: Self.oneMiB).error?.kind == .corruptInput)

        // The second block's 7232 bytes do not fit a 35000-byte limit after the first block's 32768.
        let (limitError, limitOutput, _) = attempt(.snappy, valid, maxOutputBytes: 35_000)
        #expect(limitError?.kind == .outputLimitExceeded, "\(String(describing: limitError))")
        #expect(limitOutput.readableBytes == 0)
    }

    @Test("lz4 frame header declaring 1 TiB is refused before allocating; a size that lies low is corrupt")
    func lz4LyingContentSize() throws {
        let frame = try Compressor(algorithm: .lz4).compress([UInt8](repeating: 0x62, count: 5000))
        // Our frames: magic(4) FLG BD contentSize(8) HC; FLG has the content-size bit.
        #expect(frame[4] & 0x08 != 0)
        #expect(lz4HeaderChecksum(frame[4..<14]) == frame[14], "xxh32 helper must reproduce LZ4F's header checksum")

        var huge = frame
        withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { huge.replaceSubrange(6..<14, with: $0) }
        huge[14] = lz4HeaderChecksum(huge[4..<14])
        for limit in [Self.oneMiB, Int.max] {
            let (error, output, _) = attempt(.lz4, huge, maxOutputBytes: limit)
            #expect(error?.kind == .outputLimitExceeded, "limit \(limit): \(String(describing: error))")
            #expect(error?.detail.contains("1099511627776") == true, "\(String(describing: error))")
            #expect(output.capacity == 0)
        }

        // 1 GiB fits an unlimited budget, but a ~40-byte frame cannot expand that far: allocation stays small.
        var gib = frame
        withUnsafeBytes(of: UInt64(1 << 30).littleEndian) { gib.replaceSubrange(6..<14, with: $0) }
        gib[14] = lz4HeaderChecksum(gib[4..<14])
        let (gibError, gibOutput, _) = attempt(.lz4, gib, maxOutputBytes: Int.max)
        #expect(gibError?.kind == .corruptInput, "\(String(describing: gibError))")
        #expect(gibOutput.capacity <= 64 * 1024, "allocated \(gibOutput.capacity)")

        var low = frame
        withUnsafeBytes(of: UInt64(10).littleEndian) { low.replaceSubrange(6..<14, with: $0) }
        low[14] = lz4HeaderChecksum(low[4..<14])
        #expect(attempt(.lz4, low, maxOutputBytes: Self.oneMiB).error?.kind == .corruptInput)
        #expect(attempt(.lz4, low, maxOutputBytes: 10).error?.kind == .outputLimitExceeded)

        var badChecksum = frame
        badChecksum[14] ^= 0xFF
        #expect(attempt(.lz4, badChecksum, maxOutputBytes: Self.oneMiB).error?.kind == .corruptInput)
    }

    @Test("zstd frame declaring 1 TiB is refused before allocating; a size that lies low is corrupt")
    func zstdLyingContentSize() throws {
        // magic, FHD = single segment + 8-byte content size, size 2^40, then one last raw block of 1 byte.
        var frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE0]
        withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { frame += $0 }
        frame += [0x09, 0x00, 0x00, 0x41]
        for limit in [Self.oneMiB, Int.max] {
            let (error, output, _) = attempt(.zstd, frame, maxOutputBytes: limit)
            #expect(error?.kind == .outputLimitExceeded, "limit \(limit): \(String(describing: error))")
            #expect(error?.detail.contains("1099511627776") == true, "\(String(describing: error))")
            #expect(output.capacity == 0)
        }
        // 1 GiB fits an unlimited budget, but 17 bytes cannot expand that far (32768:1 at most): allocation stays small.
        var gib: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE0]
        withUnsafeBytes(of: UInt64(1 << 30).littleEndian) { gib += $0 }
        gib += [0x09, 0x00, 0x00, 0x41]
        let (gibError, gibOutput, _) = attempt(.zstd, gib, maxOutputBytes: Int.max)
        #expect(gibError?.kind == .corruptInput, "\(String(describing: gibError))")
        #expect(gibOutput.capacity <= (gib.count * 32768).nextPowerOfTwo, "allocated \(gibOutput.capacity)")
        // The same frame declaring 1 byte is valid; declaring 0 (with a 1-byte block) is not.
        var one: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE0]
        withUnsafeBytes(of: UInt64(1).littleEndian) { one += $0 }
        one += [0x09, 0x00, 0x00, 0x41]
        #expect(try Decompressor(algorithm: .zstd).decompress(one, maxOutputBytes: 1) == [0x41])
        var zero = one
        zero[5] = 0
        #expect(attempt(.zstd, zero, maxOutputBytes: Self.oneMiB).error?.kind == .corruptInput)
        // A second frame's declared size counts against what the first left over.
        #expect(attempt(.zstd, one + frame, maxOutputBytes: Self.oneMiB).error?.kind == .outputLimitExceeded)
    }

    /// A zstd frame without a content size whose header asks for a `2^windowLog`-byte window, holding "A".
    private func zstdFrame(windowLog: Int) -> [UInt8] {
        // magic, FHD 0 (no content size, not single segment), window descriptor (exponent windowLog - 10,
        // mantissa 0), then one last raw block of 1 byte.
        [0x28, 0xB5, 0x2F, 0xFD, 0x00, UInt8((windowLog - 10) << 3), 0x09, 0x00, 0x00, 0x41]
    }

    @Test("zstd frame asking for a window beyond the output limit is refused (not a 128 MiB reservation)")
    func zstdWindowBeyondLimit() throws {
        // The streaming decoder reserves the whole window before decoding a byte; libzstd's default accepts 2^27.
        let (error, output, _) = attempt(.zstd, zstdFrame(windowLog: 27), maxOutputBytes: Self.oneMiB)
        #expect(error?.kind == .outputLimitExceeded, "\(String(describing: error))")
        #expect(error?.detail.contains("window over 2^23") == true, "\(String(describing: error))")
        #expect(output.readableBytes == 0)
        // 2^24 is over the 2^23 floor at a 1 MiB limit, and within the limit derived from 16 MiB.
        #expect(attempt(.zstd, zstdFrame(windowLog: 24), maxOutputBytes: Self.oneMiB).error?.kind == .outputLimitExceeded)
        #expect(try Decompressor(algorithm: .zstd).decompress(zstdFrame(windowLog: 24), maxOutputBytes: 16 << 20) == [0x41])
        // The same decompressor takes each call's own limit.
        let decompressor = Decompressor(algorithm: .zstd)
        #expect(try decompressor.decompress(zstdFrame(windowLog: 27), maxOutputBytes: 128 << 20) == [0x41])
        #expect(throws: CompressionError.self) { try decompressor.decompress(zstdFrame(windowLog: 27), maxOutputBytes: 1 << 20) }
        // Above zstd's own default nothing is accepted, whatever the limit (libzstd's refusal: corrupt input).
        #expect(attempt(.zstd, zstdFrame(windowLog: 28), maxOutputBytes: Int.max).error?.kind == .corruptInput)
    }

    @Test("zstd windows up to 8 MiB (standard levels, streamed) decode under any output limit")
    func zstdWindowFloor() throws {
        for windowLog in [10, 21, 23] {
            #expect(try Decompressor(algorithm: .zstd).decompress(zstdFrame(windowLog: windowLog), maxOutputBytes: 1) == [0x41])
        }
        // A frame streamed by libzstd at level 19 (window 2^23, no content size) decodes with a 1 KiB limit.
        let streamed = try ProcessRunner.run("zstd", ["-19", "-c"], stdin: Array("hello zstd".utf8))
        try #require(streamed.succeeded, "zstd: \(streamed.stderr)")
        #expect(try Decompressor(algorithm: .zstd).decompress(Array(streamed.stdout), maxOutputBytes: 1024) == Array("hello zstd".utf8))
    }

    @Test("gzip ISIZE trailer lying high or low changes nothing but the first allocation")
    func gzipLyingTrailer() throws {
        let input = [UInt8](repeating: 0x63, count: 10_000)
        let member = try Compressor(algorithm: .gzip).compress(input)
        var high = member
        high.replaceSubrange(member.count - 4..<member.count, with: [0xFF, 0xFF, 0xFF, 0x7F])
        let (error, output, _) = attempt(.gzip, high, maxOutputBytes: Self.oneMiB)
        #expect(error?.kind == .corruptInput, "\(String(describing: error))")  // zlib checks ISIZE
        #expect(error?.detail.contains("incorrect length check") == true, "\(String(describing: error))")
        #expect(output.capacity <= 2 * Self.oneMiB)
        let (unlimitedError, unlimitedOutput, _) = attempt(.gzip, high, maxOutputBytes: Int.max)
        #expect(unlimitedError?.kind == .corruptInput)
        #expect(unlimitedOutput.capacity <= (member.count * 1032).nextPowerOfTwo, "allocated \(unlimitedOutput.capacity)")
        var low = member
        low.replaceSubrange(member.count - 4..<member.count, with: [1, 0, 0, 0])
        #expect(attempt(.gzip, low, maxOutputBytes: Self.oneMiB).error?.kind == .corruptInput)
    }
}

extension Int {
    /// The smallest power of two at least this large (what `ByteBuffer` rounds capacities to).
    var nextPowerOfTwo: Int { self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}

/// The LZ4 frame header checksum: the second byte of XXH32 (seed 0) over the descriptor from FLG on.
func lz4HeaderChecksum(_ descriptor: ArraySlice<UInt8>) -> UInt8 {
    UInt8(truncatingIfNeeded: xxh32(Array(descriptor), seed: 0) >> 8)
}

/// XXH32, as specified in xxHash's `doc/xxhash_spec.md`.
func xxh32(_ input: [UInt8], seed: UInt32) -> UInt32 {
    let p1: UInt32 = 2_654_435_761, p2: UInt32 = 2_246_822_519, p3: UInt32 = 3_266_489_917
    let p4: UInt32 = 668_265_263, p5: UInt32 = 374_761_393
    func rotl(_ x: UInt32, _ r: UInt32) -> UInt32 { (x << r) | (x >> (32 - r)) }
    func lane(_ i: Int) -> UInt32 {
        UInt32(input[i]) | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2]) << 16 | UInt32(input[i + 3]) << 24
    }
    var index = 0
    var hash: UInt32
    if input.count >= 16 {
        var v = [seed &+ p1 &+ p2, seed &+ p2, seed, seed &- p1]
        while index + 16 <= input.count {
            for k in 0..<4 { v[k] = rotl(v[k] &+ lane(index + 4 * k) &* p2, 13) &* p1 }
            index += 16
        }
        hash = rotl(v[0], 1) &+ rotl(v[1], 7) &+ rotl(v[2], 12) &+ rotl(v[3], 18)
    } else {
        hash = seed &+ p5
    }
    hash &+= UInt32(truncatingIfNeeded: input.count)
    while index + 4 <= input.count {
        hash = rotl(hash &+ lane(index) &* p3, 17) &* p4
        index += 4
    }
    while index < input.count {
        hash = rotl(hash &+ UInt32(input[index]) &* p5, 11) &* p1
        index += 1
    }
    hash ^= hash >> 15
    hash &*= p2
    hash ^= hash >> 13
    hash &*= p3
    hash ^= hash >> 16
    return hash
}
