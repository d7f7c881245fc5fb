import Foundation
import Testing
import TributaryTestSupport

/// Runs the built `tributary` executable, as a user would.
@Suite("tributary batch")
struct BatchCommandTests {
    static let lines: [String] = {
        var lines = (0..<5000).map { "2026-11-25T12:00:00Z web-1 sshd[\($0)]: Accepted publickey for user\($0 % 7) port \(40000 + $0)" }
        lines.append("")  // an empty line is an empty record
        lines.append("tail with\r")  // \r\n terminator is stripped
        lines.append("ünïcödé \u{1F600} and bytes")
        return lines
    }()

    @Test("encode then dump gives back every line, for every codec", arguments: ["none", "gzip", "snappy", "lz4", "zstd"])
    func roundTrip(codec: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let input = Self.lines.joined(separator: "\n") + "\n"
        let encoded = try TributaryProcess.run(
            ["batch", "encode", "--compression", codec, "--max-batch-bytes", "65536", "-o", "\(dir.path)/b.log"],
            stdin: Data(input.utf8))
        #expect(encoded.status == 0, "\(encoded.stderr)")
        let dumped = try TributaryProcess.run(["batch", "dump", "--print-data", "\(dir.path)/b.log"])
        #expect(dumped.status == 0, "\(dumped.stderr)")
        let out = dumped.stdoutString.split(separator: "\n", omittingEmptySubsequences: false)
        let values = out.filter { $0.hasPrefix("| offset: ") }.map { line -> String in
            String(line[line.range(of: " payload: ")!.upperBound...])
        }
        let expected = Self.lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        #expect(values == expected)
        #expect(out.contains { $0.contains("compresscodec: \(codec)") })
        #expect(dumped.stdoutString.contains("records: \(expected.count) "))
        #expect(out.filter { $0.hasPrefix("baseOffset: ") }.count > 1, "64 KiB batches should cut the input into several")
        if codec == "none" {  // uncompressed, a batch's size is what --max-batch-bytes bounds
            let sizes = out.filter { $0.hasPrefix("baseOffset: ") }.compactMap { line -> Int? in
                guard let range = line.range(of: " size: ") else { return nil }
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            }
            #expect(!sizes.isEmpty && sizes.allSatisfy { $0 <= 65536 }, "batch sizes \(sizes)")
        }
    }

    @Test("a file cut inside a batch is reported with its position, exit 1")
    func truncatedFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = "\(dir.path)/b.log"
        let encoded = try TributaryProcess.run(
            ["batch", "encode", "--compression", "lz4", "--max-batch-bytes", "65536", "-o", path],
            stdin: Data((Self.lines.joined(separator: "\n")).utf8))
        #expect(encoded.status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes.removeLast(10)
        try bytes.write(to: URL(fileURLWithPath: path))
        let dumped = try TributaryProcess.run(["batch", "dump", path])
        #expect(dumped.status == 1)
        #expect(dumped.stderr.contains("\(path): byte "))
        #expect(dumped.stderr.contains("file ends inside a batch"))
    }

    @Test("a flipped byte is a CRC error naming file and position, exit 1")
    func corruptByte() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = "\(dir.path)/b.log"
        _ = try TributaryProcess.run(["batch", "encode", "-o", path], stdin: Data("one\ntwo\nthree\n".utf8))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 3] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))
        let dumped = try TributaryProcess.run(["batch", "dump", path])
        #expect(dumped.status == 1)
        #expect(dumped.stderr.contains("\(path): byte 0:"))
        #expect(dumped.stderr.lowercased().contains("crc") || dumped.stderr.contains("checksum"))
    }

    @Test("a missing file is a clear error")
    func missingFile() throws {
        let result = try TributaryProcess.run(["batch", "dump", "/nonexistent/b.log"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot open /nonexistent/b.log: No such file or directory"))
    }

    @Test("bad flags are rejected with usage")
    func badFlags() throws {
        let result = try TributaryProcess.run(["batch", "encode", "--compression", "brotli"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("brotli"))
    }
}
