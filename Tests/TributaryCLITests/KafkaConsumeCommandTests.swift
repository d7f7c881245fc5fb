import Foundation
import Testing
import TributaryTestSupport

/// `tributary kafka consume` against a real `tributary broker` process, with kcat producing.
@Suite("tributary kafka consume", .serialized, .enabled(if: ProcessRunner.executablePath("kcat") != nil, "kcat is not installed"))
struct KafkaConsumeCommandTests {
    /// Runs `tributary kafka consume` (under `timeout`, so a hang fails instead of blocking the run).
    static func consume(_ arguments: [String], broker: TributaryBrokerChild) throws -> TributaryProcess.Result {
        let tributary = TributaryProcess.productsDirectory.appendingPathComponent("tributary").path
        return try TributaryProcess.run(
            executable: "timeout", ["60", tributary, "kafka", "consume", "--brokers", broker.bootstrap] + arguments)
    }

    /// Produces `input` with `kcat -P` (one record per line) plus `extra` flags.
    static func produce(_ input: [UInt8], topic: String, broker: TributaryBrokerChild, extra: [String] = []) throws {
        let result = try TributaryProcess.run(
            executable: "timeout", ["60", "kcat", "-P", "-b", broker.bootstrap, "-t", topic, "-p", "0"] + extra,
            stdin: Data(input))
        #expect(result.status == 0, "kcat -P: \(result.stderr)")
    }

    @Test("value format prints each value's bytes and a newline, then exits at the end")
    func valueFormat() throws {
        let broker = try TributaryBrokerChild()
        defer { broker.stop() }
        var lines: [[UInt8]] = (0..<50).map { Array("line \($0) with some text".utf8) }
        lines[7] = [0xFF, 0xFE, 0x41, 0x00, 0x42]  // not UTF-8, with a NUL: printed as is
        try Self.produce(lines.flatMap { $0 + [0x0A] }, topic: "syslog", broker: broker)
        let result = try Self.consume(["--topic", "syslog", "--exit-at-end"], broker: broker)
        #expect(result.status == 0, "\(result.stderr)")
        #expect([UInt8](result.stdout) == lines.flatMap { $0 + [0x0A] })

        let counted = try Self.consume(["--topic", "syslog", "--count", "3"], broker: broker)
        #expect(counted.stdoutString == "line 0 with some text\nline 1 with some text\nline 2 with some text\n")
        let fromOffset = try Self.consume(["--topic", "syslog", "--partition", "0", "--from", "48", "--exit-at-end"], broker: broker)
        #expect(fromOffset.stdoutString == "line 48 with some text\nline 49 with some text\n")
        let fromEnd = try Self.consume(["--topic", "syslog", "--from", "end", "--exit-at-end"], broker: broker)
        #expect(fromEnd.status == 0 && fromEnd.stdout.isEmpty, "\(fromEnd.stderr)")
    }

    @Test("json format: topic, partition, offset, timestamp, key, headers, value; invalid UTF-8 escaped")
    func jsonFormat() throws {
        let broker = try TributaryBrokerChild()
        defer { broker.stop() }
        let input: [UInt8] = Array("host-a:plain \"quoted\"\\\n".utf8) + Array("host-b:".utf8) + [0x62, 0xFF, 0x63, 0x0A]
        try Self.produce(input, topic: "app", broker: broker, extra: ["-K:", "-H", "source=/var/log/app.log"])
        let result = try Self.consume(["--topic", "app", "--format", "json", "--exit-at-end"], broker: broker)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdoutString.split(separator: "\n")
        #expect(lines.count == 2)
        let objects = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        guard objects.count == 2 else { return }
        #expect(objects[0]["topic"] as? String == "app")
        #expect(objects[0]["partition"] as? Int == 0)
        #expect(objects[0]["offset"] as? Int == 0)
        #expect(objects[1]["offset"] as? Int == 1)
        #expect((objects[0]["timestamp"] as? Int ?? 0) > 1_600_000_000_000)
        #expect(objects[0]["key"] as? String == "host-a")
        #expect(objects[0]["value"] as? String == "plain \"quoted\"\\")
        #expect(objects[0]["headers"] as? [[String]] == [["source", "/var/log/app.log"]])
        #expect(objects[1]["key"] as? String == "host-b")
        #expect(objects[1]["value"] as? String == "b\\xffc", "the invalid byte is shown as \\xff: \(lines[1])")
    }

    @Test("--group commits what was printed: a second run continues after it")
    func groupCommits() throws {
        let broker = try TributaryBrokerChild()
        defer { broker.stop() }
        let lines = (0..<10).map { "event \($0)" }
        try Self.produce(Array(lines.joined(separator: "\n").utf8) + [0x0A], topic: "events", broker: broker)
        let first = try Self.consume(["--topic", "events", "--group", "readers", "--count", "4"], broker: broker)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdoutString == lines[0..<4].map { $0 + "\n" }.joined())
        let second = try Self.consume(["--topic", "events", "--group", "readers", "--exit-at-end"], broker: broker)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdoutString == lines[4...].map { $0 + "\n" }.joined())
        let third = try Self.consume(["--topic", "events", "--group", "readers", "--exit-at-end"], broker: broker)
        #expect(third.status == 0 && third.stdout.isEmpty, "everything was committed: \(third.stdoutString)")
    }

    @Test("bad flags are refused with a message naming the flag")
    func badFlags() throws {
        let broker = try TributaryBrokerChild()
        defer { broker.stop() }
        let format = try Self.consume(["--topic", "t", "--format", "xml"], broker: broker)
        #expect(format.status != 0 && format.stderr.contains("--format"))
        let from = try Self.consume(["--topic", "t", "--from", "yesterday"], broker: broker)
        #expect(from.status != 0 && from.stderr.contains("--from"))
    }
}
