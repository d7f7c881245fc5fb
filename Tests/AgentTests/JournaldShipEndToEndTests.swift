import Foundation
import Testing
import TributaryTestSupport

/// `tributary-agent` with a journald input on a directory of journal files, shipping to a real `tributary broker`
/// process, read back with kcat; and an agent whose libsystemd cannot be loaded, still shipping its file input.
@Suite("Journald ship end to end", .serialized)
final class JournaldShipEndToEndTests {
    let directory: TemporaryDirectory
    let journal: String
    let state: String

    init() throws {
        directory = try TemporaryDirectory(prefix: "journald-e2e")
        journal = "\(directory.path)/journal"
        state = "\(directory.path)/state"
        for path in [journal, state, "\(directory.path)/logs"] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
    }

    deinit { directory.remove() }

    func writeConfig(broker: ShipBroker, inputs: String) throws -> String {
        let config = "\(directory.path)/agent.yaml"
        try Data("""
            brokers: ["\(broker.bootstrap)"]
            host: test-host
            state_dir: \(state)
            compression: lz4
            linger: 5ms
            shutdown_timeout: 5s
            inputs:
            \(inputs)
            """.utf8).write(to: URL(fileURLWithPath: config))
        return config
    }

    /// Text-only entries (kcat prints one record per line), `count` from number `first`.
    static func textEntries(_ count: Int, from first: Int) -> [JournaldFixture.Entry] {
        JournaldFixture.entries(count, from: first).map { entry in
            var entry = entry
            if String(validating: entry.message, as: UTF8.self) == nil { entry.message = Array("text \(entry.realtime)".utf8) }
            return entry
        }
    }

    /// Waits until the topic holds at least `count` records.
    func waitForRecords(_ broker: ShipBroker, topic: String, count: Int, agent: ShipAgent) -> [ShippedRecordCopy] {
        var records: [ShippedRecordCopy] = []
        _ = ShipWait.until(seconds: 30) {
            records = ShipKcat.records(bootstrap: broker.bootstrap, topic: topic)
            return records.count >= count
        }
        #expect(records.count >= count, "\(records.count) of \(count) records; agent stderr: \(agent.stderr.suffix(2000))")
        return records
    }

    @Test(.enabled(if: JournaldFixture.available, "systemd-journal-remote is not installed (scripts/install-deps.sh installs it)"))
    func journalEntriesShipWithHeadersAndARestartSendsNothingTwice() throws {
        let broker = try ShipBroker(dataDirectory: "\(directory.path)/broker", logDirectory: directory.path)
        defer { broker.stop() }
        var entries = Self.textEntries(50, from: 0)
        try JournaldFixture.write(entries, in: journal)
        let config = try writeConfig(broker: broker, inputs: """
              - { type: journald, topic: journal, directory: "\(journal)", start_at: beginning }
            """)
        var agent = try ShipAgent(config: config, stderrPath: "\(directory.path)/agent-stderr-1")
        var records = waitForRecords(broker, topic: "journal", count: entries.count, agent: agent)
        // Appended while the agent runs: it follows the journal.
        let more = Self.textEntries(20, from: 50)
        try JournaldFixture.write(more, in: journal)
        entries += more
        records = waitForRecords(broker, topic: "journal", count: entries.count, agent: agent)
        #expect(agent.terminate() == 0)
        let cursors = try JournaldFixture.cursors(in: journal)
        #expect(records.map(\.value) == entries.map { String(decoding: $0.message, as: UTF8.self) })
        for ((record, entry), cursor) in zip(zip(records, entries), cursors) {
            #expect(record.headers["host"] == "test-host")
            #expect(record.headers["source"] == "journald")
            #expect(record.origin == "test-host:\(cursor)")
            #expect(record.headers["unit"] == entry.unit)
            #expect(record.headers["priority"] == String(entry.priority))
            #expect(record.headers["pid"] == entry.pid.map { String($0) })
            #expect(record.headers["identifier"] == entry.identifier)
        }
        let saved = try String(contentsOfFile: "\(state)/journald-journal.cursor", encoding: .utf8)
        #expect(saved == (cursors.last ?? "") + "\n", "cursor of the last entry saved at shutdown")

        // Restart with new entries written while the agent was down: only those are shipped.
        let later = Self.textEntries(15, from: 70)
        try JournaldFixture.write(later, in: journal)
        entries += later
        agent = try ShipAgent(config: config, stderrPath: "\(directory.path)/agent-stderr-2")
        records = waitForRecords(broker, topic: "journal", count: entries.count, agent: agent)
        #expect(agent.terminate() == 0)
        records = ShipKcat.records(bootstrap: broker.bootstrap, topic: "journal")
        #expect(records.count == entries.count, "\(records.count) records for \(entries.count) entries")
        #expect(Set(records.map(\.origin)).count == records.count, "no entry shipped twice")
        #expect(records.map(\.value) == entries.map { String(decoding: $0.message, as: UTF8.self) })
    }

    @Test(.enabled(if: JournaldFixture.available, "systemd-journal-remote is not installed (scripts/install-deps.sh installs it)"))
    func killNineLosesNoEntryAndCopiesKeepTheirOrigin() throws {
        let broker = try ShipBroker(dataDirectory: "\(directory.path)/broker", logDirectory: directory.path)
        defer { broker.stop() }
        let config = try writeConfig(broker: broker, inputs: """
              - { type: journald, topic: journal, directory: "\(journal)", start_at: beginning, units: [ssh.service, cron.service] }
            """)
        var entries: [JournaldFixture.Entry] = []
        for run in 0..<3 {
            let batch = Self.textEntries(200, from: run * 200)
            try JournaldFixture.write(batch, in: journal)
            entries += batch.filter { $0.unit == "ssh.service" || $0.unit == "cron.service" }
            let agent = try ShipAgent(config: config, stderrPath: "\(directory.path)/agent-stderr-kill-\(run)")
            _ = waitForRecords(broker, topic: "journal", count: entries.count, agent: agent)
            agent.kill9()
        }
        let records = ShipKcat.records(bootstrap: broker.bootstrap, topic: "journal")
        var originOfValue: [String: String] = [:]
        var mismatched: [String] = []
        for record in records {
            if let first = originOfValue[record.value], first != record.origin { mismatched.append(record.value) }
            originOfValue[record.value] = originOfValue[record.value] ?? record.origin
        }
        print("journald-e2e: kill -9 x3: \(records.count) records for \(entries.count) matching entries")
        #expect(mismatched.isEmpty, "copies with another origin: \(mismatched.prefix(5))")
        #expect(Set(records.map(\.value)) == Set(entries.map { String(decoding: $0.message, as: UTF8.self) }))
        #expect(Set(records.map(\.origin)).count == entries.count, "one origin per entry")
    }

    @Test func withoutLibsystemdTheAgentSaysWhyAndKeepsShippingFiles() throws {
        let broker = try ShipBroker(dataDirectory: "\(directory.path)/broker", logDirectory: directory.path)
        defer { broker.stop() }
        let logs = "\(directory.path)/logs"
        let config = try writeConfig(broker: broker, inputs: """
              - { type: journald, topic: journal, directory: "\(journal)", start_at: beginning }
              - { type: file, topic: app, paths: ["\(logs)/app.log"], start_at: beginning }
            """)
        let lines = (0..<100).map { "file line \($0)" }
        try LogWriter.append("\(logs)/app.log", lines.map { $0 + "\n" }.joined())
        let agent = try ShipAgent(
            config: config, stderrPath: "\(directory.path)/agent-stderr",
            environment: ["TRIBUTARY_AGENT_LIBSYSTEMD": "/nonexistent/libsystemd.so.0"])
        let records = waitForRecords(broker, topic: "app", count: lines.count, agent: agent)
        #expect(records.map(\.value) == lines)
        #expect(agent.process.isRunning)
        #expect(agent.terminate() == 0)
        let stderr = agent.stderr
        #expect(
            stderr.contains("journald input journal (inputs[0] → journal): journald input unavailable: /nonexistent/libsystemd.so.0 could not be loaded"),
            "\(stderr.suffix(2000))")
    }
}
