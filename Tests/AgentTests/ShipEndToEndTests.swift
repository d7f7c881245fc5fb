import Foundation
import Testing
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `tributary-agent` shipping to a real `tributary broker` process, read back with kcat: rotations,
/// `kill -9` of the agent, a broker outage.
@Suite("Ship end to end", .serialized)
final class ShipEndToEndTests {
    let directory: TemporaryDirectory
    let logs: String
    var written: [String] = []
    var numbered = 0
    var samples: SampleLines

    init() throws {
        directory = try TemporaryDirectory(prefix: "ship-e2e")
        logs = "\(directory.path)/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(directory.path)/state", withIntermediateDirectories: true)
        samples = try SampleLines()
    }

    deinit { directory.remove() }

    func writeConfig(broker: ShipBroker, maxInFlight: String = "1MiB") throws -> String {
        let config = "\(directory.path)/agent.yaml"
        try Data("""
            brokers: ["\(broker.bootstrap)"]
            host: test-host
            state_dir: \(directory.path)/state
            compression: lz4
            linger: 5ms
            batch_bytes: 64KiB
            max_in_flight_bytes: \(maxInFlight)
            shutdown_timeout: 5s
            inputs:
              - { type: file, topic: app, paths: ["\(logs)/app.log*"], start_at: beginning }
            """.utf8).write(to: URL(fileURLWithPath: config))
        return config
    }

    func append(_ count: Int, to name: String = "app.log") throws {
        let lines = samples.take(count, numbered: &numbered)
        written += lines
        try LogWriter.append("\(logs)/\(name)", lines.map { $0 + "\n" }.joined())
    }

    /// Waits until every line written so far is in the topic (at least once).
    func waitForEverything(_ broker: ShipBroker, agent: ShipAgent, seconds: Double = 30) -> [ShippedRecordCopy] {
        var records: [ShippedRecordCopy] = []
        let expected = Set(written)
        _ = ShipWait.until(seconds: seconds) {
            records = ShipKcat.records(bootstrap: broker.bootstrap, topic: "app")
            return Set(records.map(\.value)).isSuperset(of: expected)
        }
        let complete = Set(records.map(\.value)).isSuperset(of: expected)
        #expect(
            complete,
            "missing \(expected.subtracting(records.map(\.value)).count) of \(expected.count) lines; agent stderr: \(agent.stderr.suffix(2000))")
        return records
    }

    @Test func rotationsShipEveryLineExactlyOnce() throws {
        let broker = try ShipBroker(dataDirectory: "\(directory.path)/broker", logDirectory: directory.path)
        defer { broker.stop() }
        let notify = try NotifySocket(path: "\(directory.path)/notify")
        let agent = try ShipAgent(
            config: try writeConfig(broker: broker), stderrPath: "\(directory.path)/agent-stderr",
            environment: ["NOTIFY_SOCKET": notify.path])
        #expect(notify.receive(seconds: 30) { $0.contains("READY=1") }.contains("READY=1"), "sd_notify READY=1 from the agent")
        try append(200)
        _ = waitForEverything(broker, agent: agent)
        for round in 0..<8 {
            switch round % 4 {
            case 0:  // rename + create: the renamed file is read to its end, the new one from its start
                _ = unlink("\(logs)/app.log.1")
                try append(100)
                try LogWriter.rename("\(logs)/app.log", "\(logs)/app.log.1")
                try append(100)
            case 1:  // copytruncate: the copy is the stream already read, the original starts again
                _ = unlink("\(logs)/app.log.1")
                try append(100)
                try LogWriter.copyTruncate("\(logs)/app.log", to: "\(logs)/app.log.1")
                try append(100)
            case 2:  // truncation in place, once everything was read
                _ = waitForEverything(broker, agent: agent)
                try LogWriter.truncate("\(logs)/app.log")
                try append(100)
            default:  // delete while open (read to its end) and recreate
                _ = unlink("\(logs)/app.log.1")
                try append(100)
                _ = unlink("\(logs)/app.log")
                try append(100)
            }
            _ = waitForEverything(broker, agent: agent)
        }
        let records = waitForEverything(broker, agent: agent)
        #expect(agent.terminate() == 0)
        #expect(records.count == written.count,
                "records \(records.count), lines written \(written.count); agent stderr: \(agent.stderr.suffix(6000))")
        let exact = records.map(\.value).sorted() == written.sorted()
        #expect(exact, "every line exactly as written, none twice")
        let first = try #require(records.first)
        #expect(first.headers["host"] == "test-host")
        #expect(first.headers["source"]?.hasPrefix("\(logs)/app.log") == true)
        #expect(first.origin.hasPrefix("test-host:"))
        #expect(Set(records.map(\.origin)).count == records.count, "one origin per line")
    }

    static func modificationTime(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mtim.tv_sec * 1_000_000_000 + info.st_mtim.tv_nsec
    }

    @Test func killNineRepeatedlyLosesNothingAndDuplicatesKeepTheirOrigin() throws {
        let broker = try ShipBroker(dataDirectory: "\(directory.path)/broker", logDirectory: directory.path)
        defer { broker.stop() }
        let config = try writeConfig(broker: broker)
        var agent = try ShipAgent(config: config, stderrPath: "\(directory.path)/agent-stderr-0")
        for run in 1...4 {
            let positions = "\(directory.path)/state/files-app.json"
            let before = Self.modificationTime(positions)
            try append(20000)
            // Kill while it ships: as soon as it saved positions over some of the new lines (it saves at most once
            // a second, so lines acknowledged since that save are read and sent again after the restart).
            #expect(ShipWait.until(seconds: 30) { Self.modificationTime(positions) != before })
            agent.kill9()
            if run == 2 { try LogWriter.rename("\(logs)/app.log", "\(logs)/app.log.\(run)") }
            try append(500)
            agent = try ShipAgent(config: config, stderrPath: "\(directory.path)/agent-stderr-\(run)")
        }
        let records = waitForEverything(broker, agent: agent)
        #expect(agent.terminate() == 0)
        var originOfValue: [String: String] = [:]
        var mismatched: [String] = []
        for record in records {
            if let origin = originOfValue[record.value] {
                if origin != record.origin { mismatched.append(record.value) }
            } else {
                originOfValue[record.value] = record.origin
            }
        }
        print("ship-e2e: kill -9 x4: \(records.count) records for \(written.count) lines (\(records.count - originOfValue.count) re-sent copies)")
        #expect(mismatched.isEmpty, "duplicates with another origin: \(mismatched.prefix(5))")
        let same = Set(records.map(\.value)) == Set(written)
        #expect(same, "every line, nothing else")
        #expect(Set(records.map(\.origin)).count == written.count, "one origin per line written")
    }

    @Test func brokerOutageKeepsMemoryBoundedAndLosesNothing() throws {
        let broker = try ShipBroker(dataDirectory: "\(directory.path)/broker", logDirectory: directory.path)
        defer { broker.stop() }
        let agent = try ShipAgent(config: try writeConfig(broker: broker), stderrPath: "\(directory.path)/agent-stderr")
        try append(1000)
        _ = waitForEverything(broker, agent: agent)
        let shippedBefore = ShipKcat.records(bootstrap: broker.bootstrap, topic: "app").count
        let baseline = try #require(agent.residentKiB)
        broker.stop()
        var peak = baseline
        // About 12 MB of lines while the broker is down: far more than the 1 MiB in-flight budget.
        for _ in 0..<12 {
            try append(8000)
            peak = max(peak, agent.residentKiB ?? 0)
        }
        // Reading stopped at the budget; memory stays there while the outage lasts.
        var samples = 0
        _ = ShipWait.until(seconds: 2) {
            peak = max(peak, agent.residentKiB ?? 0)
            samples += 1
            return false
        }
        print("ship-e2e: agent RSS \(baseline) KiB before the outage, peak \(peak) KiB while \(written.count - 1000) lines were appended during it")
        #expect(agent.process.isRunning, "the agent keeps running while the broker is down")
        #expect(peak - baseline < 24 * 1024, "RSS grew from \(baseline) KiB to \(peak) KiB during the outage")
        try broker.start()
        let records = waitForEverything(broker, agent: agent, seconds: 60)
        #expect(agent.terminate() == 0)
        #expect(records.count >= written.count)
        let same = Set(records.map(\.value)) == Set(written)
        #expect(same, "nothing lost (\(shippedBefore) shipped before the outage)")
    }
}
