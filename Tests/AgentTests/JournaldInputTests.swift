import Agent
import Foundation
import KafkaProtocol
import Logging
import NIOCore
import SystemdJournal
import Testing
import TributaryTestSupport

/// The journald input against real journal files (systemd-journal-remote), read through libsystemd.
@Suite(
    "Journald input", .serialized,
    .enabled(if: JournaldFixture.available, "systemd-journal-remote is not installed (scripts/install-deps.sh installs it)"))
struct JournaldInputTests {
    @Test func unitAndFieldMatchesShipOnlyMatchingEntriesAndTheCursorMovesPastTheRest() throws {
        let entries = JournaldFixture.entries(30)
        let harness = try JournaldInputHarness(configure: { $0.units = ["ssh.service"] }) { journal, _ in
            try JournaldFixture.write(entries, in: journal)
        }
        let ssh = entries.filter { $0.unit == "ssh.service" }
        #expect(harness.poll(untilEvents: ssh.count))
        #expect(harness.messages == ssh.map(\.message))
        // The newest entry is not ssh's: once everything sent is acknowledged the cursor is saved past it.
        let cursors = try JournaldFixture.cursors(in: harness.journalDirectory)
        #expect(entries.last?.unit != "ssh.service")
        #expect(harness.poll(until: { (try? harness.input.saveCursor()) != nil && harness.input.savedCursor == cursors.last }))
        #expect(harness.savedCursorText == (cursors.last ?? "") + "\n")
        // After a restart nothing is sent again, and new matching entries are.
        harness.restart(forgetSink: true)
        try JournaldFixture.write(JournaldFixture.entries(6, from: 30), in: harness.journalDirectory)
        let newSSH = JournaldFixture.entries(6, from: 30).filter { $0.unit == "ssh.service" }
        #expect(harness.poll(untilEvents: newSSH.count))
        #expect(harness.messages == newSSH.map(\.message))
        #expect(harness.input.statistics.gaps == 0)

        // Units AND a FIELD=value match (matches on different fields are ANDed, on the same field ORed).
        let both = try JournaldInputHarness(configure: {
            $0.units = ["ssh.service", "cron.service"]
            $0.matches = ["PRIORITY=3"]
        }) { journal, _ in try JournaldFixture.write(entries, in: journal) }
        let expected = entries.filter { ($0.unit == "ssh.service" || $0.unit == "cron.service") && $0.priority == 3 }
        #expect(!expected.isEmpty)
        #expect(both.poll(untilEvents: expected.count))
        #expect(both.poll(until: { both.input.statistics.linesAcknowledged == expected.count }))
        #expect(both.messages == expected.map(\.message))
    }

    /// `events` as the shipper encodes them (host `web-1`), read back: key, value, timestamp and headers.
    static func encodedRecords(_ events: [LineEvent], key: RecordKeyChoice) throws
        -> [(key: String?, value: [UInt8], timestamp: Int64, headers: [String: String])]
    {
        var encoder = RecordEncoder(host: "web-1", key: key)
        let builder = try RecordBatchBuilder(compression: .lz4)
        for event in events { encoder.append(event, to: builder) }
        let batch = try RecordBatch(bytes: try builder.finish())
        var records: [(key: String?, value: [UInt8], timestamp: Int64, headers: [String: String])] = []
        _ = try batch.forEachRecord { record in
            var headers: [String: String] = [:]
            for header in record.headers {
                headers[String(decoding: header.key, as: UTF8.self)] = header.value.map { String(decoding: $0, as: UTF8.self) }
            }
            records.append((
                record.key.map { String(decoding: $0, as: UTF8.self) }, record.value.map { Array($0) } ?? [],
                record.timestamp, headers))
            return true
        }
        return records
    }

    @Test func binaryMessagesArriveUntouchedWithContractHeaders() throws {
        let entries = JournaldFixture.entries(14)
        let harness = try JournaldInputHarness { journal, _ in try JournaldFixture.write(entries, in: journal) }
        #expect(harness.poll(untilEvents: entries.count))
        #expect(harness.messages == entries.map(\.message))
        #expect(entries.contains { String(validating: $0.message, as: UTF8.self) == nil })  // binary ones included
        let cursors = try JournaldFixture.cursors(in: harness.journalDirectory)

        let records = try Self.encodedRecords(harness.sink.events, key: .source)
        #expect(records.count == entries.count)
        for ((record, entry), cursor) in zip(zip(records, entries), cursors) {
            #expect(record.value == entry.message)
            #expect(record.key == "journald")
            #expect(record.timestamp == Int64(entry.realtime / 1000))
            #expect(record.headers["host"] == "web-1")
            #expect(record.headers["source"] == "journald")
            #expect(record.headers["origin"] == "web-1:\(cursor)")
            #expect(record.headers["unit"] == entry.unit)
            #expect(record.headers["priority"] == String(entry.priority))
            #expect(record.headers["pid"] == entry.pid.map { String($0) })
            #expect(record.headers["identifier"] == entry.identifier)
            #expect(record.headers["truncated"] == nil)
        }
    }

    @Test func messagesLongerThanMaxLineBytesShipInTruncatedPiecesAndTheCursorWaitsForTheLast() throws {
        var entries = JournaldFixture.entries(4)
        let long = Array(repeating: UInt8(ascii: "a"), count: 100) + Array(repeating: UInt8(ascii: "b"), count: 100)
            + Array(repeating: UInt8(ascii: "c"), count: 50)
        entries[1].message = long
        entries[2].message = Array(repeating: UInt8(ascii: "d"), count: 100)  // exactly the maximum: whole
        let harness = try JournaldInputHarness(autoAcknowledge: false, configure: { $0.maxLineBytes = 100 }) { journal, _ in
            try JournaldFixture.write(entries, in: journal)
        }
        #expect(harness.poll(untilEvents: 6))
        #expect(harness.messages == [entries[0].message, Array(long[0..<100]), Array(long[100..<200]),
                                     Array(long[200...]), entries[2].message, entries[3].message])
        #expect(harness.sink.events.map(\.truncated) == [false, true, true, true, false, false])
        #expect(harness.input.statistics.truncatedPieces == 3)
        #expect(harness.input.metricsSnapshot().counters.truncatedPieces == 3)
        #expect(harness.input.statistics.linesSent == 6, "each piece is an event, as for files")

        let cursors = try JournaldFixture.cursors(in: harness.journalDirectory)
        let records = try Self.encodedRecords(harness.sink.events, key: .host)
        #expect(records.map { $0.headers["origin"] } == ["web-1:\(cursors[0])", "web-1:\(cursors[1]):0", "web-1:\(cursors[1]):100",
                            "web-1:\(cursors[1]):200", "web-1:\(cursors[2])", "web-1:\(cursors[3])"])
        #expect(records.map { $0.headers["truncated"] } == [nil, "true", "true", "true", nil, nil])

        // The first entry and two of the three pieces acknowledged: the cursor stays on the first entry.
        harness.sink.acknowledge(where: { $0.value.readableBytesView.first != UInt8(ascii: "c") })
        try harness.input.saveCursor()
        #expect(harness.savedCursorText == cursors[0] + "\n")
        #expect(harness.input.statistics.linesAcknowledged == 5, "entry 1's last piece is not acknowledged yet")
        harness.sink.acknowledge()
        try harness.input.saveCursor()
        #expect(harness.savedCursorText == cursors[3] + "\n")
        #expect(harness.input.statistics.linesAcknowledged == 6)
        #expect(harness.input.statistics.bytesAcknowledged == entries.reduce(0) { $0 + $1.message.count })
        #expect(harness.input.inFlightBytes == 0)
    }

    @Test func theCursorIsSavedOnlyAfterAcknowledgementAndARestartResumesRightAfterIt() throws {
        let entries = JournaldFixture.entries(40)
        let harness = try JournaldInputHarness(autoAcknowledge: false) { journal, _ in
            try JournaldFixture.write(entries, in: journal)
        }
        #expect(harness.poll(untilEvents: entries.count))
        try harness.input.saveCursor()
        #expect(harness.savedCursorText == nil, "nothing acknowledged, nothing saved")

        // Acknowledge the first half out of order, with a hole: the cursor stops before the hole.
        let half = entries.count / 2
        harness.sink.acknowledge(where: { $0.endOffset <= UInt64(half) && $0.endOffset != 5 }, reversed: true)
        let cursors = try JournaldFixture.cursors(in: harness.journalDirectory)
        try harness.input.saveCursor()
        #expect(harness.savedCursorText == cursors[3] + "\n")
        harness.sink.acknowledge(where: { $0.endOffset == 5 })
        try harness.input.saveCursor()
        #expect(harness.savedCursorText == cursors[half - 1] + "\n")
        #expect(harness.input.statistics.linesAcknowledged == half)
        // What /metrics shows: the acknowledged half, MESSAGE bytes, nothing in flight for it.
        let metrics = harness.input.metricsSnapshot()
        let messageBytes = { (slice: ArraySlice<JournaldFixture.Entry>) in slice.reduce(0) { $0 + $1.message.count } }
        #expect(metrics.labels.type == "journald")
        #expect(metrics.counters.linesRead == entries.count)
        #expect(metrics.counters.bytesRead == messageBytes(entries[...]))
        #expect(metrics.counters.linesAcknowledged == half)
        #expect(metrics.counters.bytesAcknowledged == messageBytes(entries[..<half]))
        #expect(metrics.counters.journalGaps == 0)

        // A crash of the shipper: the unacknowledged half is read again after the restart, nothing else.
        harness.restart(forgetSink: true)
        harness.sink.autoAcknowledge = true
        #expect(harness.poll(untilEvents: entries.count - half))
        #expect(harness.poll(until: { harness.input.statistics.linesAcknowledged == entries.count - half }))
        #expect(harness.messages == entries[half...].map(\.message))
        #expect(harness.input.statistics.gaps == 0)
        #expect(harness.log.messages.contains { $0.message.contains("after the saved cursor \(cursors[half - 1])") })
        harness.restart(forgetSink: true)
        #expect(!harness.poll(untilEvents: 1, timeout: .milliseconds(300)), "nothing sent twice")
    }

    @Test(arguments: ["garbage;cursor", "s=0123456789abcdef0123456789abcdef;i=1;b=0123456789abcdef0123456789abcdef;m=1;t=1;x=1"])
    func aCursorTheJournalDoesNotKnowIsAGapAndReadingRestartsAtTheOldestEntry(cursor: String) throws {
        let entries = JournaldFixture.entries(9)
        let harness = try JournaldInputHarness { journal, state in
            try JournaldFixture.write(entries, in: journal)
            try Data((cursor + "\n").utf8).write(to: URL(fileURLWithPath: "\(state)/journald-journal.cursor"))
        }
        #expect(harness.poll(untilEvents: entries.count))
        #expect(harness.messages == entries.map(\.message))
        #expect(harness.input.statistics.gaps == 1)
        #expect(harness.input.metricsSnapshot().counters.journalGaps == 1)
        let warning = harness.log.messages.first { $0.level == .warning && $0.message.contains("gap") }
        #expect(warning?.message.contains("journald input journal") == true, "\(harness.log.messages)")
        #expect(warning?.message.contains(cursor) == true)
    }

    @Test func anUnusableCursorFileIsAGapToo() throws {
        let entries = JournaldFixture.entries(5)
        let harness = try JournaldInputHarness { journal, state in
            try JournaldFixture.write(entries, in: journal)
            try Data([0x00, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: "\(state)/journald-journal.cursor"))
        }
        #expect(harness.poll(untilEvents: entries.count))
        #expect(harness.input.statistics.gaps == 1)
        #expect(harness.log.messages.contains { $0.level == .warning && $0.message.contains("is unusable") })
    }

    @Test func theInFlightBudgetStopsReading() throws {
        let entries = JournaldFixture.entries(200)
        let harness = try JournaldInputHarness(autoAcknowledge: false, maxInFlightBytes: 2048) { journal, _ in
            try JournaldFixture.write(entries, in: journal)
        }
        var blocked = false
        #expect(harness.poll(until: {
            blocked = harness.input.poll().blockedByBudget
            return blocked
        }))
        let sent = harness.sink.events.count
        #expect(sent > 0 && sent < 30, "sent \(sent) of \(entries.count) within a 2 KiB budget")
        for _ in 0..<20 { harness.input.poll() }
        #expect(harness.sink.events.count == sent, "no more while nothing is acknowledged")
        #expect(harness.input.inFlightBytes >= 2048 && harness.input.inFlightBytes < 2048 + 512)
        // Acknowledging releases the budget: everything arrives, in order.
        #expect(harness.poll(until: {
            harness.sink.acknowledge()
            return harness.sink.events.count == entries.count
        }))
        #expect(harness.messages == entries.map(\.message))
    }

    @Test func aJournalThatCannotBeOpenedIsRetriedAndReadOnceItCanBe() throws {
        let harness = try JournaldInputHarness(retryInterval: .milliseconds(50), configure: {
            $0.directory = ($0.directory ?? "") + "/later"
        }) { _, _ in }
        let later = try #require(harness.input.configuration.directory)
        #expect(harness.poll(until: { !harness.log.errors(containing: "sd_journal_open_directory failed on journal directory \(later)").isEmpty }))
        #expect(harness.input.statistics.errors >= 1)
        let entries = JournaldFixture.entries(6)
        try FileManager.default.createDirectory(atPath: later, withIntermediateDirectories: true)
        try JournaldFixture.write(entries, in: later)
        #expect(harness.poll(untilEvents: entries.count))
        #expect(harness.messages == entries.map(\.message))
        #expect(harness.log.messages.contains { $0.message.contains("reading again in") })
    }

    @Test func aMissingLibsystemdMakesTheInputUnavailableWithAClearError() throws {
        let harness = try JournaldInputHarness(libraryName: "/nonexistent/libsystemd.so.0") { journal, _ in
            try JournaldFixture.write(JournaldFixture.entries(3), in: journal)
        }
        #expect(!harness.input.isReading)
        let reason = try #require(harness.input.unavailableReason)
        #expect(reason.contains("journald input unavailable: /nonexistent/libsystemd.so.0 could not be loaded"))
        #expect(harness.log.errors(containing: "could not be loaded").count == 1)
        #expect(harness.input.poll().eventsSent == 0)
        #expect(harness.input.statistics.errors == 1)
    }
}
