import Foundation
import Testing
import TributaryTestSupport

/// `tributary kafka produce` against a real `tributary broker` process, read back with kcat.
@Suite("tributary kafka produce", .serialized)
struct KafkaProduceCommandTests {
    static var hasKcat: Bool { ProcessRunner.executablePath("kcat") != nil }

    static func consume(_ broker: TributaryBrokerChild, topic: String, format: String) throws -> String {
        let result = try TributaryProcess.run(
            executable: "timeout",
            ["60", "kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", format])
        #expect(result.status == 0, "kcat -C: \(result.stderr)")
        return result.stdoutString
    }

    @Test("each line is one record: \\n and \\r\\n stripped, a last unterminated line kept", .enabled(if: hasKcat))
    func linesBecomeRecords() throws {
        let broker = try TributaryBrokerChild()
        defer { broker.stop() }
        for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
            let input = "first line\r\nsecond line\n\nthird\ttabbed\r\nunterminated"
            let result = try TributaryProcess.run(
                ["kafka", "produce", "--brokers", broker.bootstrap, "--topic", "cli-\(codec)", "--compression", codec,
                 "--key", "web-1", "--linger-ms", "1"],
                stdin: Data(input.utf8))
            #expect(result.status == 0, "\(codec): \(result.stderr)")
            #expect(result.stderr.contains("5 of 5 records"), "\(codec): \(result.stderr)")
            let consumed = try Self.consume(broker, topic: "cli-\(codec)", format: "%k|%s\n")
            #expect(consumed == "web-1|first line\nweb-1|second line\nweb-1|\nweb-1|third\ttabbed\nweb-1|unterminated\n", "\(codec)")
        }
    }

    @Test("many lines across chunk boundaries arrive in order, byte-identical", .enabled(if: hasKcat))
    func manyLines() throws {
        let broker = try TributaryBrokerChild()
        defer { broker.stop() }
        let lines = (0..<50_000).map { "line \($0) " + String(repeating: "x", count: $0 % 97) }
        let input = lines.joined(separator: "\n") + "\n"
        let result = try TributaryProcess.run(
            ["kafka", "produce", "--brokers", broker.bootstrap, "--topic", "many", "--compression", "lz4"],
            stdin: Data(input.utf8))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.consume(broker, topic: "many", format: "%s\n") == input)
    }

    @Test("a record that cannot be delivered makes the exit status non-zero")
    func failureExitsNonZero() throws {
        let broker = try TributaryBrokerChild(arguments: ["--no-auto-create"])
        defer { broker.stop() }
        let result = try TributaryProcess.run(
            ["kafka", "produce", "--brokers", broker.bootstrap, "--topic", "missing", "--delivery-timeout-ms", "500"],
            stdin: Data("a\nb\n".utf8))
        #expect(result.status != 0)
        #expect(result.stderr.contains("missing"), "\(result.stderr)")
    }

    @Test("bad flags are refused with a message naming the flag")
    func badFlags() throws {
        let codec = try TributaryProcess.run(["kafka", "produce", "--topic", "t", "--compression", "brotli"])
        #expect(codec.status != 0)
        #expect(codec.stderr.contains("--compression"))
        let acks = try TributaryProcess.run(["kafka", "produce", "--topic", "t", "--acks", "2"])
        #expect(acks.status != 0)
        #expect(acks.stderr.contains("--acks"))
    }
}
