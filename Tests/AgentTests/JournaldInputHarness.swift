import Agent
import Foundation
import Logging
import NIOCore
import SystemdJournal
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Journal files for the journald tests, written with systemd-journal-remote from export-format entries made
/// here: three units, text and binary messages, one kernel entry without unit or pid.
enum JournaldFixture {
    /// Whether the tests can make journal files (systemd-journal-remote is installed).
    static var available: Bool { JournalExport.journalRemote != nil }

    /// One fixture entry.
    struct Entry {
        var unit: String?
        var priority: Int
        var pid: Int?
        var identifier: String
        var message: [UInt8]
        var realtime: UInt64

        var exportFields: [(String, [UInt8])] {
            var fields: [(String, [UInt8])] = [("_HOSTNAME", Array("web-1".utf8))]
            if let unit { fields.append(("_SYSTEMD_UNIT", Array(unit.utf8))) }
            fields.append(("PRIORITY", Array(String(priority).utf8)))
            if let pid { fields.append(("_PID", Array(String(pid).utf8))) }
            fields.append(("SYSLOG_IDENTIFIER", Array(identifier.utf8)))
            fields.append(("MESSAGE", message))
            return fields
        }
    }

    static let units = ["ssh.service", "cron.service", "nginx.service"]
    static let baseRealtime: UInt64 = 1_764_000_000_000_000

    /// `count` entries from number `first`: units in turn, priority 3 every fourth entry, every fifth message
    /// binary (invalid UTF-8, NUL, newline, CR), every seventh a kernel entry without unit and pid.
    static func entries(_ count: Int, from first: Int = 0) -> [Entry] {
        (first..<(first + count)).map { number in
            let message: [UInt8] = number % 5 == 2
                ? [0xFF, 0xFE] + Array("binary \(number)".utf8) + [0x00, 0x0A, 0x41, 0x0D]
                : Array("entry \(number) from the journal".utf8)
            let kernel = number % 7 == 6
            return Entry(
                unit: kernel ? nil : units[number % units.count], priority: number % 4 == 3 ? 3 : 6,
                pid: kernel ? nil : 800 + number, identifier: kernel ? "kernel" : "app\(number % units.count)",
                message: message, realtime: baseRealtime + UInt64(number) * 1_500_001)
        }
    }

    /// Writes `entries` into `<directory>/<file>.journal` (created or appended to).
    static func write(_ entries: [Entry], in directory: String, file: String = "system") throws {
        let export = entries.flatMap { JournalExport.entry(realtime: $0.realtime, fields: $0.exportFields) }
        try JournalExport.convert(export, to: "\(directory)/\(file).journal")
    }

    /// The cursors of every entry of the journal in `directory`, in order (read directly through libsystemd).
    static func cursors(in directory: String) throws -> [String] {
        let journal = try SystemdJournal(directory: directory)
        defer { journal.close() }
        var cursors: [String] = []
        while let entry = try journal.next() { cursors.append(try entry.cursor()) }
        return cursors
    }
}

/// A journald input over a temporary directory of journal files with an in-memory sink, polled by the test.
final class JournaldInputHarness {
    let directory: TemporaryDirectory
    let journalDirectory: String
    let stateDirectory: String
    let log = CapturedLog()
    let inbox = AcknowledgementInbox()
    let sink: InMemorySink
    var configuration: JournaldInputConfiguration
    let maxInFlightBytes: Int
    let libraryName: String?
    let retryInterval: Duration
    var input: JournaldInput

    init(
        autoAcknowledge: Bool = true, maxInFlightBytes: Int = 16 << 20, libraryName: String? = nil,
        retryInterval: Duration = .seconds(10),
        configure: (inout JournaldInputConfiguration) -> Void = { _ in },
        prepare: (_ journalDirectory: String, _ stateDirectory: String) throws -> Void
    ) throws {
        let directory = try TemporaryDirectory(prefix: "agent-journald")
        self.directory = directory
        journalDirectory = "\(directory.path)/journal"
        stateDirectory = "\(directory.path)/state"
        try FileManager.default.createDirectory(atPath: journalDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        try prepare(journalDirectory, stateDirectory)
        var configuration = JournaldInputConfiguration(topic: "journal")
        configuration.directory = journalDirectory
        configuration.startAt = .beginning
        configure(&configuration)
        self.configuration = configuration
        self.maxInFlightBytes = maxInFlightBytes
        self.libraryName = libraryName
        self.retryInterval = retryInterval
        sink = InMemorySink(acknowledgements: inbox, autoAcknowledge: autoAcknowledge)
        input = Self.makeInput(configuration, stateDirectory, sink, inbox, maxInFlightBytes, log, libraryName, retryInterval)
    }

    private static func makeInput(
        _ configuration: JournaldInputConfiguration, _ stateDirectory: String, _ sink: InMemorySink,
        _ inbox: AcknowledgementInbox, _ maxInFlightBytes: Int, _ log: CapturedLog, _ libraryName: String?,
        _ retryInterval: Duration
    ) -> JournaldInput {
        JournaldInput(
            configuration: configuration, inputIndex: 0, stateDirectory: stateDirectory, sink: sink,
            acknowledgements: inbox, maxInFlightBytes: maxInFlightBytes, logger: log.logger, libraryName: libraryName,
            retryInterval: retryInterval)
    }

    /// Stops the input (saving its cursor) and starts a new one over the same state, as a restart would.
    func restart(forgetSink: Bool = false) {
        input.shutdown()
        if forgetSink { sink.reset() }
        input = Self.makeInput(configuration, stateDirectory, sink, inbox, maxInFlightBytes, log, libraryName, retryInterval)
    }

    /// Polls until `condition` holds or `timeout` passes; returns whether it held.
    @discardableResult
    func poll(until condition: () -> Bool, timeout: Duration = .seconds(10)) -> Bool {
        repeatPolling({ input.poll() }, until: condition, timeout: timeout)
    }

    /// Polls until `count` events arrived in total.
    @discardableResult
    func poll(untilEvents count: Int, timeout: Duration = .seconds(10)) -> Bool {
        poll(until: { sink.events.count >= count }, timeout: timeout)
    }

    /// The message bytes of every event received.
    var messages: [[UInt8]] { sink.events.map { Array($0.value.readableBytesView) } }

    /// The saved cursor file's text, nil when there is none.
    var savedCursorText: String? { try? String(contentsOfFile: input.cursorPath, encoding: .utf8) }

    deinit {
        input.shutdown()
        directory.remove()
    }
}
