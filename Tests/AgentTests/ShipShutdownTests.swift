import Foundation
import Testing
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM stops `tributary-agent` within `shutdown_timeout` (plus a margin) whatever the broker does: idle,
/// while shipping, after the broker was stopped with lines unacknowledged, and when no broker ever answered.
/// Each time the exit status is 0 and the positions saved cover exactly the lines the broker acknowledged.
/// (The bug this guards against: the signal sources were released early in release builds, so SIGTERM was
/// ignored for good; scripts/run.sh exercises the release binary the same way.)
@Suite("Ship shutdown", .serialized)
final class ShipShutdownTests {
    static let shutdownTimeoutSeconds = 2.0
    /// Startup of a debug build on a loaded machine, the drain and the exit.
    static let marginSeconds = 8.0

    let directory: TemporaryDirectory
    let logs: String
    let state: String
    var log: String { "\(logs)/app.log" }
    var written: [String] = []
    var numbered = 0
    var samples: SampleLines

    init() throws {
        directory = try TemporaryDirectory(prefix: "ship-shutdown")
        logs = "\(directory.path)/logs"
        state = "\(directory.path)/state"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        samples = try SampleLines()
    }

    deinit { directory.remove() }

    func startAgent(brokers: String, run: Int) throws -> ShipAgent {
        let config = "\(directory.path)/agent.yaml"
        try Data("""
            brokers: ["\(brokers)"]
            state_dir: \(state)
            linger: 5ms
            batch_bytes: 64KiB
            max_in_flight_bytes: 1MiB
            shutdown_timeout: \(Int(Self.shutdownTimeoutSeconds))s
            inputs:
              - { type: file, topic: app, paths: ["\(logs)/*.log"], start_at: beginning }
            """.utf8).write(to: URL(fileURLWithPath: config))
        return try ShipAgent(config: config, stderrPath: "\(directory.path)/agent-stderr-\(run)")
    }

    func append(_ count: Int) throws {
        let lines = samples.take(count, numbered: &numbered)
        written += lines
        try LogWriter.append(log, lines.map { $0 + "\n" }.joined())
    }

    var logSize: Int { (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? -1 }

    var savedOffset: Int? { ShipPositions.offsets(stateDirectory: state, input: "app")[log] }

    /// SIGTERM; expects exit 0 within the shutdown timeout plus the margin.
    func stop(_ agent: ShipAgent, _ when: String) {
        let outcome = agent.terminate(within: Self.shutdownTimeoutSeconds + Self.marginSeconds)
        #expect(outcome != nil, "\(when): still running \(Self.shutdownTimeoutSeconds + Self.marginSeconds) s after SIGTERM; stderr: \(agent.stderr.suffix(1500))")
        #expect(outcome?.status == 0, "\(when): exit status; stderr: \(agent.stderr.suffix(1500))")
        if let outcome { print("ship-shutdown: \(when): exit \(outcome.status) \(String(format: "%.2f", outcome.seconds)) s after SIGTERM") }
    }

    /// The lines before byte `offset` of the log, as written.
    func lines(before offset: Int) -> [String] {
        var bytes = 0
        return written.prefix { line in
            bytes += line.utf8.count + 1
            return bytes <= offset
        }
    }

    @Test func stopsWhenIdleAndWhileShipping() throws {
        let broker = try ShipBroker(dataDirectory: "\(directory.path)/broker", logDirectory: directory.path)
        defer { broker.stop() }
        try append(500)
        let idle = try startAgent(brokers: broker.bootstrap, run: 1)
        #expect(ShipWait.until(seconds: 30) { ShipKcat.records(bootstrap: broker.bootstrap, topic: "app").count >= 500 })
        stop(idle, "idle")
        #expect(savedOffset == logSize, "everything acknowledged is saved")

        try append(40_000)
        let shipping = try startAgent(brokers: broker.bootstrap, run: 2)
        let before = savedOffset ?? 0
        #expect(ShipWait.until(seconds: 30) { (self.savedOffset ?? 0) > before }, "it ships")
        stop(shipping, "while shipping")
        let offset = try #require(savedOffset)
        let stored = Set(ShipKcat.records(bootstrap: broker.bootstrap, topic: "app").map(\.value))
        let acknowledged = lines(before: offset)
        #expect(offset <= logSize)
        #expect(stored.isSuperset(of: acknowledged), "every line below the saved offset \(offset) is in the topic")
    }

    @Test func stopsWithinTheTimeoutAfterTheBrokerWentAway() throws {
        let broker = try ShipBroker(dataDirectory: "\(directory.path)/broker", logDirectory: directory.path)
        try append(300)
        let agent = try startAgent(brokers: broker.bootstrap, run: 1)
        #expect(ShipWait.until(seconds: 30) { self.savedOffset == self.logSize }, "the first lines are acknowledged")
        let acknowledged = logSize
        broker.stop()
        let readBefore = agent.bytesRead ?? 0
        try append(300)
        let appended = logSize - acknowledged
        // The agent read the new lines (they wait for the broker) before it is told to stop.
        #expect(ShipWait.until(seconds: 30) { (agent.bytesRead ?? 0) - readBefore >= appended })
        stop(agent, "broker stopped, \(appended) bytes unacknowledged")
        #expect(savedOffset == acknowledged, "positions stay at the last acknowledged line")
    }

    @Test func stopsWithinTheTimeoutWhenNoBrokerEverAnswered() throws {
        // A port nothing listens on: a broker's, once it stopped.
        let broker = try ShipBroker(dataDirectory: "\(directory.path)/broker", logDirectory: directory.path)
        broker.stop()
        try append(300)
        let agent = try startAgent(brokers: broker.bootstrap, run: 1)
        #expect(ShipWait.until(seconds: 30) { agent.stderr.contains("tailing \(self.log)") }, "it tails the log")
        let readBefore = agent.bytesRead ?? 0
        try append(300)
        let appended = logSize
        #expect(ShipWait.until(seconds: 30) { (agent.bytesRead ?? 0) - readBefore >= appended / 2 }, "it read the new lines")
        stop(agent, "no broker")
        #expect((savedOffset ?? 0) == 0, "nothing acknowledged, nothing saved as shipped")
    }
}
