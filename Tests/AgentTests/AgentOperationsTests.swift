import Foundation
import Testing
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The real `tributary-agent` shipping to a real `tributary broker`: `/metrics` counters proven against what
/// was written and read back with kcat, `/health`, descriptors under many requests, and SIGHUP reloads.
@Suite("Agent operations", .serialized)
final class AgentOperationsTests {
    let directory: TemporaryDirectory
    let logs: String
    var written: [String: [String]] = [:]
    var numbered = 0
    var samples: SampleLines

    init() throws {
        directory = try TemporaryDirectory(prefix: "agent-ops")
        logs = "\(directory.path)/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(directory.path)/state", withIntermediateDirectories: true)
        samples = try SampleLines()
    }

    deinit { directory.remove() }

    /// Writes the config; `inputs` are YAML flow mappings, one per input.
    @discardableResult
    func writeConfig(broker: ShipBroker, inputs: [String]) throws -> String {
        let config = "\(directory.path)/agent.yaml"
        try Data(("""
            brokers: ["\(broker.bootstrap)"]
            host: test-host
            state_dir: \(directory.path)/state
            compression: lz4
            linger: 5ms
            max_in_flight_bytes: 1MiB
            shutdown_timeout: 10s
            metrics: { listen: "127.0.0.1:0" }
            inputs:

            """ + inputs.map { "  - \($0)\n" }.joined()).utf8).write(to: URL(fileURLWithPath: config))
        return config
    }

    func fileInput(_ topic: String) -> String {
        "{ type: file, topic: \(topic), paths: [\"\(logs)/\(topic).log\"], start_at: beginning }"
    }

    /// Appends `count` distinct lines to `<topic>.log`; returns their bytes (newlines included).
    @discardableResult
    func append(_ count: Int, topic: String) throws -> Int {
        let lines = samples.take(count, numbered: &numbered)
        written[topic, default: []] += lines
        let text = lines.map { $0 + "\n" }.joined()
        try LogWriter.append("\(logs)/\(topic).log", text)
        return text.utf8.count
    }

    /// Waits until every line written to `topic` is in the topic; returns what kcat read.
    func waitForTopic(_ topic: String, _ broker: ShipBroker, _ agent: ShipAgent, seconds: Double = 30) -> [ShippedRecordCopy] {
        var records: [ShippedRecordCopy] = []
        let expected = Set(written[topic] ?? [])
        let complete = ShipWait.until(seconds: seconds) {
            records = ShipKcat.records(bootstrap: broker.bootstrap, topic: topic)
            return Set(records.map(\.value)).isSuperset(of: expected)
        }
        #expect(complete, "\(topic): missing \(expected.subtracting(records.map(\.value)).count) of \(expected.count) lines; agent stderr: \(agent.stderr.suffix(2000))")
        return records
    }

    /// Scrapes `/metrics` until `condition` holds (30 s at most); returns the last page.
    func scrape(_ port: Int, until condition: (PrometheusPage) -> Bool) throws -> PrometheusPage {
        var page: PrometheusPage?
        var failure: (any Error)?
        _ = ShipWait.until(seconds: 30) {
            do {
                let exchange = try HTTPExchange.get("/metrics", port: port)
                page = try PrometheusPage(parsing: exchange.body)
                failure = nil
            } catch {
                failure = error
                return false
            }
            return page.map(condition) ?? false
        }
        if let failure { throw failure }
        return try #require(page)
    }

    static func descriptorCount(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    @Test func countersMatchWhatWasShippedAndLagShowsAnOutage() throws {
        let broker = try ShipBroker(dataDirectory: "\(directory.path)/broker", logDirectory: directory.path)
        defer { broker.stop() }
        let firstBytes = try append(500, topic: "app")
        let agent = try ShipAgent(
            config: try writeConfig(broker: broker, inputs: [fileInput("app")]), stderrPath: "\(directory.path)/agent-stderr")
        let port = try #require(AgentMetricsPort.wait { agent.stderr }, "metrics port in the log: \(agent.stderr)")
        let app = ["name": "app", "type": "file", "topic": "app", "input": "0"]
        let lag = ["path": "\(logs)/app.log"]

        var page = try scrape(port) { $0.value("tributary_agent_input_lines_acknowledged_total", app) == 500 }
        #expect(page.value("tributary_agent_input_lines_read_total", app) == 500)
        #expect(page.value("tributary_agent_input_bytes_read_total", app) == Double(firstBytes))
        #expect(page.value("tributary_agent_input_lines_acknowledged_total", app) == 500)
        #expect(page.value("tributary_agent_input_bytes_acknowledged_total", app) == Double(firstBytes))
        #expect(page.value("tributary_agent_file_lag_bytes", lag) == 0)
        #expect((page.value("tributary_agent_producer_batches_acknowledged_total") ?? 0) >= 1)
        #expect(page.value("tributary_agent_producer_delivery_errors_total", ["outcome": "fatal"]) == 0)
        #expect(page.value("tributary_agent_open_files") == 1)
        let acknowledgedAt = try #require(page.value("tributary_agent_producer_last_acknowledgement_timestamp_seconds"))
        #expect(abs(acknowledgedAt - Date().timeIntervalSince1970) < 120, "last acknowledgement \(acknowledgedAt)")
        #expect(try HTTPExchange.get("/health", port: port).body == "ok\n")

        // Many requests (good, unknown, refused and malformed) leave no descriptor behind.
        let pid = agent.process.processIdentifier
        let before = Self.descriptorCount(pid)
        for index in 0..<300 {
            switch index % 4 {
            case 0: _ = try HTTPExchange.get("/metrics", port: port)
            case 1: _ = try HTTPExchange.get("/missing", port: port)
            case 2: _ = try HTTPExchange.send("DELETE /health HTTP/1.1\r\nHost: x\r\n\r\n", port: port)
            default: _ = try HTTPExchange.send("\u{1}\u{2} nonsense\r\n\r\n", port: port)
            }
        }
        var after = 0
        // A connection closed by the server may take a moment to be released on the agent's side.
        _ = ShipWait.until(seconds: 5) {
            after = Self.descriptorCount(pid)
            return after <= before
        }
        #expect(before > 0 && after <= before, "descriptors \(before) before 300 requests, \(after) after")

        // Broker down: reading goes on, acknowledgement does not, the lag is what was appended.
        broker.stop()
        let outageBytes = try append(300, topic: "app")
        page = try scrape(port) { $0.value("tributary_agent_input_bytes_read_total", app) == Double(firstBytes + outageBytes) }
        #expect(page.value("tributary_agent_input_lines_read_total", app) == 800)
        #expect(page.value("tributary_agent_input_lines_acknowledged_total", app) == 500)
        #expect(page.value("tributary_agent_input_bytes_acknowledged_total", app) == Double(firstBytes))
        #expect(page.value("tributary_agent_file_lag_bytes", lag) == Double(outageBytes))
        #expect((page.value("tributary_agent_input_in_flight_bytes", app) ?? 0) > 0)
        #expect((page.value("tributary_agent_producer_in_flight_bytes") ?? 0) > 0)
        #expect(page.value("tributary_agent_producer_last_acknowledgement_timestamp_seconds") == acknowledgedAt,
                "no acknowledgement during the outage")
        #expect(try HTTPExchange.get("/health", port: port).status == 200, "a broker outage is not a failure")

        // Broker back: everything acknowledged, lag 0, and kcat finds each line once.
        try broker.start()
        page = try scrape(port) { $0.value("tributary_agent_input_lines_acknowledged_total", app) == 800 }
        #expect(page.value("tributary_agent_input_bytes_acknowledged_total", app) == Double(firstBytes + outageBytes))
        #expect(page.value("tributary_agent_file_lag_bytes", lag) == 0)
        #expect(page.value("tributary_agent_input_lines_read_total", app) == 800)
        print("agent-ops: after the outage \(page.value("tributary_agent_producer_records_retried_total") ?? -1) records retried, \(page.value("tributary_agent_producer_delivery_errors_total", ["outcome": "retried"]) ?? -1) failed batches retried")
        let records = waitForTopic("app", broker, agent, seconds: 60)
        #expect(agent.terminate() == 0)
        #expect(records.map(\.value).sorted() == (written["app"] ?? []).sorted(), "every line exactly once")
    }

    @Test func sighupAddsAnInputKeepsTheOldConfigWhenInvalidAndShipsEveryLineOnce() throws {
        let broker = try ShipBroker(dataDirectory: "\(directory.path)/broker", logDirectory: directory.path)
        defer { broker.stop() }
        let config = try writeConfig(broker: broker, inputs: [fileInput("app")])
        let agent = try ShipAgent(config: config, stderrPath: "\(directory.path)/agent-stderr")
        let port = try #require(AgentMetricsPort.wait { agent.stderr }, "metrics port in the log: \(agent.stderr)")
        try append(300, topic: "app")
        _ = waitForTopic("app", broker, agent)

        // A second input; lines in flight on the first while the reload happens.
        try writeConfig(broker: broker, inputs: [fileInput("app"), fileInput("second")])
        try append(100, topic: "second")
        try append(3000, topic: "app")
        kill(agent.process.processIdentifier, SIGHUP)
        try append(200, topic: "app")
        #expect(ShipWait.until(seconds: 30) { agent.stderr.contains("config reloaded from \(config)") }, "\(agent.stderr.suffix(2000))")
        #expect(agent.stderr.contains("+ inputs[1]: file → second"), "the log says what changed")
        try append(50, topic: "second")
        _ = waitForTopic("second", broker, agent)
        _ = waitForTopic("app", broker, agent)
        var page = try scrape(port) { $0.value("tributary_agent_config_reloads_total", ["result": "ok"]) == 1 }
        #expect(page.value("tributary_agent_config_reloads_total", ["result": "error"]) == 0)

        // An invalid config: every error logged, the running config kept.
        try Data(try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "topic: second, paths", with: "topic: second, colour: blue, paths")
            .replacingOccurrences(of: "linger: 5ms", with: "linger: soon").utf8).write(to: URL(fileURLWithPath: config))
        kill(agent.process.processIdentifier, SIGHUP)
        #expect(ShipWait.until(seconds: 30) { agent.stderr.contains("SIGHUP: the config has 2 error(s); still running on the previous config") }, "\(agent.stderr.suffix(2000))")
        #expect(agent.stderr.contains("\(config):5: linger: \"soon\" is not a duration"), "\(agent.stderr.suffix(2000))")
        #expect(agent.stderr.contains("\(config):11: inputs[1].colour: unknown key"), "\(agent.stderr.suffix(2000))")
        try append(100, topic: "app")
        try append(20, topic: "second")
        let second = waitForTopic("second", broker, agent)
        let app = waitForTopic("app", broker, agent)
        page = try scrape(port) { page in
            page.value("tributary_agent_input_lines_acknowledged_total", ["name": "app"]) == Double(written["app"]?.count ?? 0)
                && page.value("tributary_agent_input_lines_acknowledged_total", ["name": "second"]) == 170
        }
        #expect(page.value("tributary_agent_config_reloads_total", ["result": "error"]) == 1)
        #expect(page.value("tributary_agent_config_reloads_total", ["result": "ok"]) == 1)
        #expect(page.value("tributary_agent_input_lines_read_total", ["name": "app"]) == Double(written["app"]?.count ?? 0),
                "counted across the reload, nothing read twice")
        #expect(try HTTPExchange.get("/health", port: port).status == 200)
        #expect(agent.terminate() == 0)
        #expect(app.map(\.value).sorted() == (written["app"] ?? []).sorted(), "app: every line exactly once across the reloads")
        #expect(second.map(\.value).sorted() == (written["second"] ?? []).sorted(), "second: every line exactly once")
    }
}
