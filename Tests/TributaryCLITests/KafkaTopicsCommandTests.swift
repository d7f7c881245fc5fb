import Foundation
import Testing
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A `tributary broker` child process on 127.0.0.1 (port picked by the kernel) over a temporary
/// data directory; `stop()` sends SIGTERM and waits.
final class TributaryBrokerChild {
    let directory: TemporaryDirectory
    let process = Process()
    private(set) var port = 0

    /// `127.0.0.1:PORT`, for `--brokers`.
    var bootstrap: String { "127.0.0.1:\(self.port)" }

    /// Starts the broker with `arguments` appended and waits (at most 30 s) for its ready line.
    init(arguments: [String] = []) throws {
        self.directory = try TemporaryDirectory(prefix: "tributary-cli-broker")
        let stdoutPath = "\(self.directory.path)/stdout"
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        self.process.executableURL = TributaryProcess.productsDirectory.appendingPathComponent("tributary")
        self.process.arguments =
            ["broker", "--listen", "127.0.0.1:0", "--data", "\(self.directory.path)/data", "--log-level", "error"] + arguments
        self.process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        self.process.standardError = FileHandle.nullDevice
        self.process.standardInput = FileHandle.nullDevice
        try self.process.run()
        let prefix = "tributary broker: listening on 127.0.0.1:"
        let deadline = Date().addingTimeInterval(30)
        while self.port == 0 {
            let output = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }),
                let port = Int(line.dropFirst(prefix.count))
            {
                self.port = port
            } else if !self.process.isRunning || Date() > deadline {
                self.stop()
                throw TributaryBrokerChildError(output: output)
            } else {
                usleep(10_000)
            }
        }
    }

    /// Stops the broker (SIGTERM), waits for it and removes its data.
    func stop() {
        if self.process.isRunning {
            self.process.terminate()
            self.process.waitUntilExit()
        }
        self.directory.remove()
    }

    deinit {
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
    }
}

struct TributaryBrokerChildError: Error, CustomStringConvertible {
    let output: String
    var description: String { "tributary broker did not print its ready line; stdout: \(output)" }
}

/// `tributary kafka topics` against a real `tributary broker` process.
@Suite("tributary kafka topics", .serialized)
struct KafkaTopicsCommandTests {
    static func topics(_ arguments: [String], broker: TributaryBrokerChild) throws -> TributaryProcess.Result {
        try TributaryProcess.run(["kafka", "topics"] + arguments + ["--brokers", broker.bootstrap])
    }

    @Test("create, list, describe, alter and delete print what kafka-topics.sh prints")
    func lifecycle() throws {
        let broker = try TributaryBrokerChild(arguments: ["--no-auto-create"])
        defer { broker.stop() }

        let created = try Self.topics(["create", "syslog", "--partitions", "3", "--config", "retention.ms=3600000"], broker: broker)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdoutString == "Created topic syslog.\n")
        #expect(try Self.topics(["create", "nginx", "--partitions", "1"], broker: broker).status == 0)

        let listed = try Self.topics(["list"], broker: broker)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdoutString == "nginx\nsyslog\n")

        let described = try Self.topics(["describe", "syslog"], broker: broker)
        #expect(described.status == 0, "\(described.stderr)")
        #expect(described.stdoutString == """
            Topic: syslog\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=3600000
            \tTopic: syslog\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0
            \tTopic: syslog\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0
            \tTopic: syslog\tPartition: 2\tLeader: 0\tReplicas: 0\tIsr: 0

            """)

        let altered = try Self.topics(["alter", "syslog", "--config", "retention.bytes=1048576", "--config", "retention.ms=60000"], broker: broker)
        #expect(altered.status == 0, "\(altered.stderr)")
        #expect(altered.stdoutString == "Completed updating config for topic syslog.\n")
        let all = try Self.topics(["describe"], broker: broker).stdoutString
        #expect(all.contains("Topic: syslog\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.bytes=1048576,retention.ms=60000\n"))
        #expect(all.contains("Topic: nginx\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: \n"))

        let removed = try Self.topics(["alter", "syslog", "--delete-config", "retention.ms"], broker: broker)
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try Self.topics(["describe", "syslog"], broker: broker).stdoutString.contains("Configs: retention.bytes=1048576\n"))

        let deleted = try Self.topics(["delete", "nginx"], broker: broker)
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(deleted.stdoutString == "Deleted topic nginx.\n")
        #expect(try Self.topics(["list"], broker: broker).stdoutString == "syslog\n")
    }

    @Test("errors exit non-zero with the broker's message; --if-exists / --if-not-exists succeed quietly")
    func errors() throws {
        let broker = try TributaryBrokerChild(arguments: ["--no-auto-create"])
        defer { broker.stop() }
        #expect(try Self.topics(["create", "app", "--partitions", "2"], broker: broker).status == 0)

        let duplicate = try Self.topics(["create", "app", "--partitions", "2"], broker: broker)
        #expect(duplicate.status != 0)
        #expect(duplicate.stderr.contains("create topic \"app\""), "\(duplicate.stderr)")
        #expect(duplicate.stderr.contains("TOPIC_ALREADY_EXISTS"), "\(duplicate.stderr)")
        let quiet = try Self.topics(["create", "app", "--partitions", "2", "--if-not-exists"], broker: broker)
        #expect(quiet.status == 0 && quiet.stdoutString.isEmpty, "\(quiet.stderr)")

        let missing = try Self.topics(["delete", "missing"], broker: broker)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("UNKNOWN_TOPIC_OR_PARTITION"), "\(missing.stderr)")
        #expect(try Self.topics(["delete", "missing", "--if-exists"], broker: broker).status == 0)

        let describeMissing = try Self.topics(["describe", "missing"], broker: broker)
        #expect(describeMissing.status != 0)
        #expect(describeMissing.stderr.contains("describe topic \"missing\""), "\(describeMissing.stderr)")

        let badValue = try Self.topics(["alter", "app", "--config", "retention.ms=soon"], broker: broker)
        #expect(badValue.status != 0)
        #expect(badValue.stderr.contains("INVALID_CONFIG"), "\(badValue.stderr)")

        let badPair = try Self.topics(["create", "x", "--config", "retention.ms"], broker: broker)
        #expect(badPair.status != 0)
        #expect(badPair.stderr.contains("KEY=VALUE"), "\(badPair.stderr)")

        let nothing = try Self.topics(["alter", "app"], broker: broker)
        #expect(nothing.status != 0)
        #expect(nothing.stderr.contains("nothing to change"), "\(nothing.stderr)")
    }

    @Test("bad or unreachable --brokers fail with a clear message")
    func unreachableBrokers() throws {
        let invalid = try TributaryProcess.run(["kafka", "topics", "list", "--brokers", "localhost"])
        #expect(invalid.status != 0)
        #expect(invalid.stderr.contains("invalid broker address \"localhost\""), "\(invalid.stderr)")

        // A port that was just free: nothing listens there.
        let broker = try TributaryBrokerChild()
        let address = broker.bootstrap
        broker.stop()
        let unreachable = try TributaryProcess.run(["kafka", "topics", "list", "--brokers", address])
        #expect(unreachable.status != 0)
        #expect(unreachable.stderr.contains("no broker reachable (bootstrap servers \(address))"), "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("Connection refused"), "\(unreachable.stderr)")
    }
}
