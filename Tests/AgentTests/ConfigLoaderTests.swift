import Agent
import Foundation
import Testing
import TributaryTestSupport

/// Strict config validation: every error names file, line and key path and says what is wrong; all at once.
@Suite("Agent config")
struct ConfigLoaderTests {
    static let valid = """
        brokers: ["127.0.0.1:9092", "[::1]:9093"]
        host: web-1
        state_dir: /var/lib/tributary-agent
        compression: zstd
        linger: 20ms
        batch_bytes: 512KiB
        max_in_flight_bytes: 8MiB
        sasl: { mechanism: SCRAM-SHA-256, username: agent, password: secret }
        metrics: { listen: "127.0.0.1:9464" }
        inputs:
          - type: file
            topic: syslog
            paths: ["/var/log/syslog", "/var/log/*.log"]
            exclude: ["*.gz"]
            start_at: beginning
            key: source
            max_line_bytes: 64KiB
            multiline: { start_pattern: '^\\d{4}-', flush_timeout: 2s }
          - type: journald
            topic: journal
            units: ["ssh.service"]
            matches: ["PRIORITY=3", "_SYSTEMD_UNIT=cron.service"]
        """

    static func parse(_ text: String) throws(ConfigurationError) -> AgentConfiguration {
        try AgentConfigurationLoader.parse(text, file: "agent.yaml", defaultHost: "test-host")
    }

    /// The issues of an invalid config (none if it parses).
    static func issues(_ text: String) -> [String] {
        do {
            _ = try parse(text)
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    static let minimal = """
        brokers: ["b:9092"]
        inputs: [{ type: file, topic: t, paths: ["/x/*.log"] }]
        """

    @Test func aValidConfigLoadsWithItsValues() throws {
        let config = try Self.parse(Self.valid)
        #expect(config.brokers.map(\.description) == ["127.0.0.1:9092", "[::1]:9093"])
        #expect(config.host == "web-1")
        #expect(config.compression == .zstd)
        #expect(config.linger == .milliseconds(20))
        #expect(config.batchBytes == 512 * 1024)
        #expect(config.maxInFlightBytes == 8 << 20)
        #expect(config.sasl?.mechanism == .scramSHA256)
        #expect(config.metricsListen?.port == 9464)
        guard case .file(let file) = config.inputs.first, case .journald(let journal) = config.inputs.last else {
            Issue.record("inputs not read")
            return
        }
        #expect(file.startAt == .beginning && file.key == .source && file.maxLineBytes == 64 * 1024)
        #expect(file.multiline?.flushTimeout == .seconds(2))
        #expect(file.multiline?.startPattern.matches(Array("2024-01".utf8)) == true)
        #expect(journal.units == ["ssh.service"] && journal.matches.count == 2)
        #expect(journal.name == journal.topic && journal.startAt == .end)
    }

    @Test func journaldInputsTakeANameStartAtAndMaxLineBytes() throws {
        let config = try Self.parse("""
            brokers: ["b:1"]
            inputs:
              - { type: journald, topic: j, name: ssh, units: [ssh.service], start_at: beginning, max_line_bytes: 64KiB }
              - { type: journald, topic: j }
            """)
        guard case .journald(let first) = config.inputs.first, case .journald(let second) = config.inputs.last else {
            Issue.record("inputs not read")
            return
        }
        #expect(first.name == "ssh" && first.startAt == .beginning && first.maxLineBytes == 64 << 10)
        #expect(second.name == "j" && second.startAt == .end && second.maxLineBytes == 1 << 20)
    }

    @Test func defaultsApply() throws {
        let config = try Self.parse(Self.minimal)
        #expect(config.host == "test-host")
        #expect(config.compression == .lz4)
        #expect(config.stateDirectory == "/var/lib/tributary-agent")
        guard case .file(let file) = config.inputs.first else { return }
        #expect(file.startAt == .end && file.key == .host && file.maxLineBytes == 1 << 20 && file.name == "t")
    }

    /// One bad value per case: the expected message (file:line: key path: what).
    static let errorCases: [(String, String)] = [
        ("brokers: [\"b:9092\"]\ncompresion: lz4\ninputs: []", "agent.yaml:2: compresion: unknown key"),
        ("inputs: [{ type: file, topic: t, paths: [\"/x\"] }]", "agent.yaml:1: brokers: missing"),
        ("brokers: [\"nohost\"]\ninputs: [{ type: file, topic: t, paths: [\"/x\"] }]", "agent.yaml:1: brokers[0]: \"nohost\" is not host:port"),
        ("brokers: [\"b:0\"]\ninputs: [{ type: file, topic: t, paths: [\"/x\"] }]", "brokers[0]: \"b:0\" is not host:port with a port 1...65535"),
        ("brokers: [\"b:1\"]\ncompression: brotli\ninputs: [{ type: file, topic: t, paths: [\"/x\"] }]",
         "agent.yaml:2: compression: \"brotli\" is not one of \"none\", \"gzip\", \"snappy\", \"lz4\", \"zstd\""),
        ("brokers: [\"b:1\"]\nlinger: 5\ninputs: [{ type: file, topic: t, paths: [\"/x\"] }]", "agent.yaml:2: linger: \"5\" is not a duration"),
        ("brokers: [\"b:1\"]\nbatch_bytes: lots\ninputs: [{ type: file, topic: t, paths: [\"/x\"] }]", "agent.yaml:2: batch_bytes: \"lots\" is not a size"),
        ("brokers: [\"b:1\"]\nmax_in_flight_bytes: 2KiB\nbatch_bytes: 4KiB\ninputs: [{ type: file, topic: t, paths: [\"/x\"] }]",
         "max_in_flight_bytes: must be at least batch_bytes (4096)"),
        ("brokers: [\"b:1\"]\nstate_dir: relative/dir\ninputs: [{ type: file, topic: t, paths: [\"/x\"] }]", "agent.yaml:2: state_dir: must be an absolute path"),
        ("brokers: [\"b:1\"]\ninputs:\n  - type: file\n    topic: t\n    paths: [\"/x\"]\n    start_at: middle",
         "agent.yaml:6: inputs[0].start_at: \"middle\" is not one of \"beginning\", \"end\""),
        ("brokers: [\"b:1\"]\ninputs:\n  - type: file\n    topic: \"has space\"\n    paths: [\"/x\"]",
         "agent.yaml:4: inputs[0].topic: \"has space\" may only contain letters, digits, '.', '_' and '-'"),
        ("brokers: [\"b:1\"]\ninputs:\n  - type: file\n    topic: t\n    paths: [\"logs/*.log\"]",
         "inputs[0].paths[0]: \"logs/*.log\" must be an absolute path or glob"),
        ("brokers: [\"b:1\"]\ninputs:\n  - type: file\n    topic: t", "agent.yaml:3: inputs[0].paths: missing"),
        ("brokers: [\"b:1\"]\ninputs:\n  - type: file\n    topic: t\n    paths: [\"/x\"]\n    key: ip", "agent.yaml:6: inputs[0].key: \"ip\" is not one of \"host\", \"source\", \"none\""),
        ("brokers: [\"b:1\"]\ninputs:\n  - type: file\n    topic: t\n    paths: [\"/x\"]\n    max_line_bytes: 10",
         "agent.yaml:6: inputs[0].max_line_bytes: 10 is out of range 64...268435456 bytes"),
        ("brokers: [\"b:1\"]\ninputs:\n  - type: file\n    topic: t\n    paths: [\"/x\"]\n    multiline: { start_pattern: \"(open\" }",
         "agent.yaml:6: inputs[0].multiline.start_pattern: invalid pattern \"(open\": missing closing parenthesis at offset 5"),
        ("brokers: [\"b:1\"]\ninputs:\n  - type: file\n    topic: t\n    paths: [\"/x\"]\n    multiline: { flush_timeout: 1s }",
         "inputs[0].multiline.start_pattern: missing"),
        ("brokers: [\"b:1\"]\ninputs:\n  - type: file\n    topic: t\n    paths: [\"/x\"]\n    max_open_files: many",
         "agent.yaml:6: inputs[0].max_open_files: expected an integer, got \"many\""),
        ("brokers: [\"b:1\"]\ninputs:\n  - type: file\n    topic: t\n    paths: [\"/x\"]\n    tail: true",
         "agent.yaml:6: inputs[0].tail: unknown key"),
        ("brokers: [\"b:1\"]\ninputs:\n  - type: stdin\n    topic: t", "agent.yaml:3: inputs[0].type: \"stdin\" is not one of \"file\", \"journald\""),
        ("brokers: [\"b:1\"]\ninputs:\n  - type: journald\n    topic: j\n    matches: [\"lower=x\"]",
         "inputs[0].matches[0]: field \"lower\" must be upper-case letters, digits and '_'"),
        ("brokers: [\"b:1\"]\ninputs:\n  - type: journald\n    topic: j\n    directory: journal", "inputs[0].directory: must be an absolute path"),
        ("brokers: [\"b:1\"]\ninputs:\n  - { type: file, topic: t, paths: [\"/a\"] }\n  - { type: file, topic: t, paths: [\"/b\"] }",
         "agent.yaml:4: inputs[1].name: \"t\" is already the name of inputs[0]"),
        ("brokers: [\"b:1\"]\ninputs:\n  - { type: journald, topic: j }\n  - { type: journald, topic: j, units: [a.service] }",
         "agent.yaml:4: inputs[1].name: \"j\" is already the name of inputs[0] (journald inputs keep their cursor by name"),
        ("brokers: [\"b:1\"]\ninputs:\n  - { type: journald, topic: j, max_line_bytes: 10 }",
         "inputs[0].max_line_bytes: "),
        ("brokers: [\"b:1\"]\ninputs:\n  - { type: journald, topic: j, start_at: now }",
         "inputs[0].start_at: \"now\" is not one of \"beginning\", \"end\""),
        ("brokers: [\"b:1\"]\nsasl: { mechanism: GSSAPI, username: u, password: p }\ninputs: [{ type: file, topic: t, paths: [\"/x\"] }]",
         "agent.yaml:2: sasl.mechanism: \"GSSAPI\" is not one of \"PLAIN\", \"SCRAM-SHA-256\", \"SCRAM-SHA-512\""),
        ("brokers: [\"b:1\"]\nsasl: { mechanism: PLAIN, username: u }\ninputs: [{ type: file, topic: t, paths: [\"/x\"] }]",
         "agent.yaml:2: sasl: missing password or password_file"),
        ("brokers: [\"b:1\"]\ntls: { ca_file: /nonexistent/ca.pem }\ninputs: [{ type: file, topic: t, paths: [\"/x\"] }]",
         "agent.yaml:2: tls.ca_file: cannot read /nonexistent/ca.pem"),
        ("brokers: [\"b:1\"]\nmetrics: { listen: nowhere }\ninputs: [{ type: file, topic: t, paths: [\"/x\"] }]",
         "agent.yaml:2: metrics.listen: \"nowhere\" is not host:port"),
        ("brokers: [\"b:1\"]\ninputs: {}", "agent.yaml:2: inputs: expected a list of inputs, got a mapping"),
        ("brokers: [b:1\n", "agent.yaml: not valid YAML"),
        ("", "agent.yaml: the config is empty"),
    ]

    @Test(arguments: errorCases)
    func eachErrorNamesItsKeyAndWhatIsWrong(_ text: String, _ expected: String) {
        let issues = Self.issues(text)
        #expect(issues.contains { $0.contains(expected) }, "got \(issues)")
    }

    @Test func everyErrorIsReportedAtOnceInDocumentOrder() {
        let issues = Self.issues("""
            brokers: ["x"]
            compression: fast
            inputs:
              - type: file
                topic: "a b"
                paths: ["/x"]
                start_at: later
              - type: journald
                topic: j
                units: 3
            extra: 1
            """)
        #expect(issues.count == 6, "\(issues)")
        let lines = issues.compactMap { Int($0.split(separator: ":")[1]) }
        #expect(lines == [1, 2, 5, 7, 10, 11])
    }

    static var agentBinary: String { TributaryProcess.productsDirectory.appendingPathComponent("tributary-agent").path }

    @Test func checkConfigThroughTheBinaryPrintsASummaryAndExitsZero() throws {
        let directory = try TemporaryDirectory(prefix: "agent-config")
        defer { directory.remove() }
        let path = "\(directory.path)/agent.yaml"
        try Data(Self.valid.utf8).write(to: URL(fileURLWithPath: path))
        let result = try TributaryProcess.run(executable: Self.agentBinary, ["--config", path, "--check-config"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutString.contains("\(path): OK"))
        #expect(result.stdoutString.contains("inputs[0]: file → syslog"))
    }

    @Test func checkConfigThroughTheBinaryPrintsEveryErrorAndExitsOne() throws {
        let directory = try TemporaryDirectory(prefix: "agent-config")
        defer { directory.remove() }
        let path = "\(directory.path)/agent.yaml"
        try Data("brokers: [\"b:1\"]\nlinger: soon\ninputs:\n  - { type: file, topic: t, paths: [\"/x\"], start_at: middle }\n".utf8)
            .write(to: URL(fileURLWithPath: path))
        let result = try TributaryProcess.run(executable: Self.agentBinary, ["--config", path, "--check-config"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(path):2: linger: \"soon\" is not a duration"), "\(result.stderr)")
        #expect(result.stderr.contains("\(path):4: inputs[0].start_at: \"middle\" is not one of"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func theShippedExampleConfigIsValid() throws {
        // agent-config/agent.yaml, found from this source file's location.
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = repository.appendingPathComponent("agent-config/agent.yaml").path
        let result = try TributaryProcess.run(executable: Self.agentBinary, ["--config", path, "--check-config"])
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// The hand-written command line (no ArgumentParser): help exits 0, usage errors exit 64 and say what is wrong.
    @Test(arguments: [
        (["--help"], Int32(0), "USAGE: tributary-agent --config <config>"),
        (["--check-config"], Int32(64), "Missing expected argument '--config <config>'"),
        (["--config"], Int32(64), "Missing value for '--config <config>'"),
        (["--config", "/x.yaml", "--verbose"], Int32(64), "Unknown option '--verbose'"),
        (["--config=/nonexistent/agent.yaml", "--check-config"], Int32(1), "/nonexistent/agent.yaml: config file does not exist"),
    ])
    func commandLineUsage(_ arguments: [String], _ status: Int32, _ expected: String) throws {
        let result = try TributaryProcess.run(executable: Self.agentBinary, arguments)
        #expect(result.status == status, "\(result.stderr)")
        #expect((result.stdoutString + result.stderr).contains(expected), "\(result.stdoutString) \(result.stderr)")
    }

    @Test func aMissingConfigFileIsNamed() throws {
        let result = try TributaryProcess.run(executable: Self.agentBinary, ["--config", "/nonexistent/agent.yaml", "--check-config"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("/nonexistent/agent.yaml: config file does not exist"))
    }
}
