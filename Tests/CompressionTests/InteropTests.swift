import TributaryTestSupport
import Compression
import Testing

/// Our output read by independent implementations, and theirs read by us, through subprocesses.
///
/// Tests skip (visibly) when a tool is missing; in CI gzip, lz4, zstd and python3 with `kafka`, `snappy`, `lz4`
/// and `zstandard` are installed.
@Suite struct InteropTests {
    static let hasGzip = ProcessRunner.executablePath("gzip") != nil
    static let hasLZ4 = ProcessRunner.executablePath("lz4") != nil
    static let hasZstd = ProcessRunner.executablePath("zstd") != nil
    static let hasPythonSnappy = ProcessRunner.pythonHasModules(["kafka.codec", "snappy"])
    static let hasPythonLZ4AndZstd = ProcessRunner.pythonHasModules(["lz4.frame", "zstandard"])

    /// 1 MiB of log text plus 100 kB of random bytes, so compressible and incompressible stretches and several
    /// blocks of every format cross the tools.
    static let sampleBytes: Result<[UInt8], any Error> = Result {
        var random = SplitMix64(seed: 0x1A7E_0F)
        return try LogCorpus.concatenated(bytes: 1 << 20) + random.bytes(100_000)
    }

    static func sample() throws -> [UInt8] {
        try sampleBytes.get()
    }

    /// Runs a tool and expects exit 0, returning stdout.
    private func run(_ program: String, _ arguments: [String], stdin: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
        let result = try ProcessRunner.run(program, arguments, stdin: stdin)
        #expect(result.succeeded, "\(program) \(arguments.joined(separator: " ")) exited \(result.exitCode): \(result.stderr)", sourceLocation: sourceLocation)
        return result.stdout
    }

    private func python(_ script: String, stdin: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
        let result = try ProcessRunner.python(script, stdin: stdin)
        #expect(result.succeeded, "python3 exited \(result.exitCode): \(result.stderr)", sourceLocation: sourceLocation)
        return result.stdout
    }

    // MARK: ours → theirs

    @Test("our gzip decodes with gzip -dc", .enabled(if: hasGzip, "gzip not on PATH"), arguments: [nil, 1, 9] as [Int?])
    func gzipToCLI(_ level: Int?) throws {
        let input = try Self.sample()
        let compressed = try Compressor(algorithm: .gzip, level: level).compress(input)
        #expect(try byteDifference(run("gzip", ["-dc"], stdin: compressed), input) == nil)
    }

    @Test("our lz4 frames decode with lz4 -dc", .enabled(if: hasLZ4, "lz4 not on PATH"), arguments: [nil, 3, 12] as [Int?])
    func lz4ToCLI(_ level: Int?) throws {
        let input = try Self.sample()
        let compressed = try Compressor(algorithm: .lz4, level: level).compress(input)
        #expect(try byteDifference(run("lz4", ["-dc"], stdin: compressed), input) == nil)
    }

    @Test("our zstd frames decode with zstd -dc", .enabled(if: hasZstd, "zstd not on PATH"), arguments: [nil, -5, 19] as [Int?])
    func zstdToCLI(_ level: Int?) throws {
        let input = try Self.sample()
        let compressed = try Compressor(algorithm: .zstd, level: level).compress(input)
        #expect(try byteDifference(run("zstd", ["-dc"], stdin: compressed), input) == nil)
    }

    @Test("our xerial snappy decodes with kafka.codec.snappy_decode", .enabled(if: hasPythonSnappy, "python3 lacks kafka/snappy"))
    func snappyXerialToKafkaPython() throws {
        let input = try Self.sample()
        let compressed = try Compressor(algorithm: .snappy).compress(input)
        let script = "import sys, kafka.codec as c; sys.stdout.buffer.write(c.snappy_decode(sys.stdin.buffer.read()))"
        #expect(try byteDifference(python(script, stdin: compressed), input) == nil)
    }

    @Test("each raw block inside our xerial framing decodes with snappy.decompress", .enabled(if: hasPythonSnappy, "python3 lacks snappy"))
    func snappyRawBlocksToPythonSnappy() throws {
        let input = try Self.sample()
        let compressed = try Compressor(algorithm: .snappy).compress(input)
        // Parse the framing independently of kafka.codec, and check every block holds at most 32 KiB.
        let script = """
            import sys, struct, snappy
            data = sys.stdin.buffer.read()
            assert data[:16] == b'\\x82SNAPPY\\x00' + struct.pack('>ii', 1, 1), data[:16]
            pos, out = 16, []
            while pos < len(data):
                (n,) = struct.unpack_from('>i', data, pos)
                block = snappy.decompress(data[pos + 4:pos + 4 + n])
                assert 0 < len(block) <= 32768, len(block)
                out.append(block)
                pos += 4 + n
            assert pos == len(data)
            sys.stdout.buffer.write(b''.join(out))
            """
        #expect(try byteDifference(python(script, stdin: compressed), input) == nil)
    }

    // MARK: theirs → ours

    @Test("gzip -c output (and concatenated members) decodes", .enabled(if: hasGzip, "gzip not on PATH"))
    func gzipFromCLI() throws {
        let input = try Self.sample()
        let decompressor = Decompressor(algorithm: .gzip)
        let compressed = try run("gzip", ["-c", "-n"], stdin: input)
        #expect(try byteDifference(decompressor.decompress(compressed, maxOutputBytes: input.count), input) == nil)
        let second = try run("gzip", ["-c", "-1"], stdin: Array(input.prefix(1000)))
        #expect(try byteDifference(decompressor.decompress(compressed + second, maxOutputBytes: input.count + 1000), input + input.prefix(1000)) == nil)
    }

    @Test("lz4 -c frames (4 MiB blocks, also linked blocks with checksums) decode", .enabled(if: hasLZ4, "lz4 not on PATH"))
    func lz4FromCLI() throws {
        let input = try Self.sample()
        let decompressor = Decompressor(algorithm: .lz4)
        let compressed = try run("lz4", ["-c"], stdin: input)
        #expect(try byteDifference(decompressor.decompress(compressed, maxOutputBytes: input.count), input) == nil)
        let linked = try run("lz4", ["-c", "-9", "-BD", "-BX", "-B4"], stdin: input)
        #expect(try byteDifference(decompressor.decompress(linked, maxOutputBytes: input.count), input) == nil)
        #expect(try byteDifference(decompressor.decompress(compressed + linked, maxOutputBytes: 2 * input.count), input + input) == nil)
    }

    @Test("zstd -c frames (and concatenated frames, with checksum) decode", .enabled(if: hasZstd, "zstd not on PATH"))
    func zstdFromCLI() throws {
        let input = try Self.sample()
        let decompressor = Decompressor(algorithm: .zstd)
        let compressed = try run("zstd", ["-c", "-q"], stdin: input)
        #expect(try byteDifference(decompressor.decompress(compressed, maxOutputBytes: input.count), input) == nil)
        let checked = try run("zstd", ["-c", "-q", "-19", "--check"], stdin: Array(input.prefix(50_000)))
        #expect(try byteDifference(decompressor.decompress(compressed + checked, maxOutputBytes: input.count + 50_000), input + input.prefix(50_000)) == nil)
    }

    @Test("kafka.codec.snappy_encode xerial output decodes", .enabled(if: hasPythonSnappy, "python3 lacks kafka/snappy"))
    func snappyXerialFromKafkaPython() throws {
        let input = try Self.sample()
        let script = "import sys, kafka.codec as c; sys.stdout.buffer.write(c.snappy_encode(sys.stdin.buffer.read(), xerial_compatible=True))"
        let compressed = try python(script, stdin: input)
        #expect(compressed.starts(with: [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]))
        #expect(try byteDifference(Decompressor(algorithm: .snappy).decompress(compressed, maxOutputBytes: input.count), input) == nil)
    }

    @Test("snappy.compress raw block decodes", .enabled(if: hasPythonSnappy, "python3 lacks snappy"))
    func snappyRawFromPythonSnappy() throws {
        let input = try Self.sample()
        let compressed = try python("import sys, snappy; sys.stdout.buffer.write(snappy.compress(sys.stdin.buffer.read()))", stdin: input)
        #expect(try byteDifference(Decompressor(algorithm: .snappy).decompress(compressed, maxOutputBytes: input.count), input) == nil)
    }

    @Test("python lz4.frame and zstandard variants decode (checksums, linked blocks, streamed, no sizes)",
          .enabled(if: hasPythonLZ4AndZstd, "python3 lacks lz4/zstandard"))
    func lz4AndZstdFromPython() throws {
        let input = try Self.sample()
        // One process writes four length-prefixed variants.
        let script = """
            import sys, struct, lz4.frame, zstandard
            data = sys.stdin.buffer.read()
            outs = [
                lz4.frame.compress(data, block_linked=True, content_checksum=True, block_checksum=True, store_size=False),
                lz4.frame.compress(data, compression_level=10, block_size=lz4.frame.BLOCKSIZE_MAX256KB, store_size=True),
                zstandard.ZstdCompressor(level=3, write_checksum=True, write_content_size=False).compress(data),
                (lambda c: c.compress(data[:1000000]) + c.compress(data[1000000:]) + c.flush())(
                    zstandard.ZstdCompressor(level=1).compressobj()),
            ]
            for o in outs:
                sys.stdout.buffer.write(struct.pack('>I', len(o)) + o)
            """
        let output = try python(script, stdin: input)
        var offset = 0
        var variants: [[UInt8]] = []
        while offset + 4 <= output.count {
            let length = output[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            variants.append(Array(output[offset + 4..<offset + 4 + length]))
            offset += 4 + length
        }
        try #require(variants.count == 4)
        let lz4 = Decompressor(algorithm: .lz4)
        let zstd = Decompressor(algorithm: .zstd)
        #expect(try byteDifference(lz4.decompress(variants[0], maxOutputBytes: input.count), input) == nil, "lz4 linked + checksums, no size")
        #expect(try byteDifference(lz4.decompress(variants[1], maxOutputBytes: input.count), input) == nil, "lz4 HC 256 KiB blocks with size")
        #expect(try byteDifference(zstd.decompress(variants[2], maxOutputBytes: input.count), input) == nil, "zstd checksum, no size")
        #expect(try byteDifference(zstd.decompress(variants[3], maxOutputBytes: input.count), input) == nil, "zstd streamed in two pieces, no size")
    }
}
