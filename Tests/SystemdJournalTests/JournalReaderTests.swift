import NIOCore
import SystemdJournal
import Testing
import TributaryTestSupport

/// Every event of a non-following reader.
func events(_ configuration: JournalReaderConfiguration) async throws -> [JournalReadEvent] {
    var events: [JournalReadEvent] = []
    for try await event in JournalReader(configuration: configuration) { events.append(event) }
    return events
}

/// The batches among `events`.
func batches(_ events: [JournalReadEvent]) -> [JournalBatch] {
    events.compactMap { if case .entries(let batch) = $0 { batch } else { nil } }
}

@Suite("SystemdJournal: the async reader (dedicated thread, batches, backpressure)")
struct JournalReaderTests {
    @Test("batches cut at maxBatchEntries carry every entry's timestamp, cursor and captured fields")
    func batchesCarryEntries() async throws {
        try await withTemporaryDirectory { directory in
            let expected = try JournalFixtures.entries("basic")
            try JournalFixtures.journal("basic", in: directory)
            var configuration = JournalReaderConfiguration(source: .directory(directory), follow: false)
            configuration.maxBatchEntries = 4
            let batches = batches(try await events(configuration))
            #expect(batches.map(\.count) == [4, 4, 1])
            let records = batches.flatMap { $0 }
            #expect(records.count == expected.count)
            let cursors = try readAll(SystemdJournal(directory: directory)).map(\.cursor)
            #expect(records.map(\.cursorString) == cursors)
            #expect(batches.last?.lastCursor == cursors.last)
            for (record, want) in zip(records, expected) {
                #expect(record.realtimeMicroseconds == want.realtime)
                #expect(record.realtimeMilliseconds == Int64(want.realtime / 1000))
                #expect(record.message.map { Array(buffer: $0) } == want.value("MESSAGE"))  // byte-exact, 100 KiB too
                for field in JournalReaderConfiguration.defaultCapturedFields {
                    #expect(record.value(ofField: field).map { Array(buffer: $0) } == want.value(field), "\(field)")
                }
                #expect(record.unit == want.value("_SYSTEMD_UNIT").map { String(decoding: $0, as: UTF8.self) })
                #expect(record.priority == want.value("PRIORITY").flatMap { Int(String(decoding: $0, as: UTF8.self)) })
                #expect(record.pid == want.value("_PID").flatMap { Int(String(decoding: $0, as: UTF8.self)) })
                #expect(record.value(ofField: "_TRANSPORT") == nil)  // not captured
            }
        }
    }

    @Test("batches are also cut at maxBatchBytes")
    func batchBytes() async throws {
        try await withTemporaryDirectory { directory in
            try JournalFixtures.journal("basic", in: directory)
            var configuration = JournalReaderConfiguration(source: .directory(directory), follow: false)
            configuration.maxBatchBytes = 1
            #expect(batches(try await events(configuration)).map(\.count) == Array(repeating: 1, count: 9))

            configuration.maxBatchBytes = 1024
            let cut = batches(try await events(configuration))
            #expect(cut.reduce(0) { $0 + $1.count } == 9)
            #expect(cut.count > 1)
            // A batch is handed over once it reaches the limit, so every batch but the last one did.
            #expect(cut.dropLast().allSatisfy { $0.byteCount >= 1024 })
        }
    }

    @Test("matches and a start cursor through the reader configuration")
    func matchesAndCursor() async throws {
        try await withTemporaryDirectory { directory in
            try JournalFixtures.journal("basic", in: directory)
            let ssh = try JournalMatches(units: ["ssh.service"])
            var configuration = JournalReaderConfiguration(source: .directory(directory), matches: ssh, follow: false)
            let all = batches(try await events(configuration)).flatMap { $0 }
            #expect(all.map(\.unit) == Array(repeating: "ssh.service", count: 4))

            configuration.start = .cursor(all[1].cursorString, ifMissing: .head)
            let resumed = try await events(configuration)
            #expect(batches(resumed).flatMap { $0 }.map(\.cursorString) == all[2...].map(\.cursorString))
            #expect(resumed.count == 1)  // no gap event
        }
    }

    @Test("an unknown start cursor yields a cursorNotFound event first, then the entries from the head")
    func gapEvent() async throws {
        try await withTemporaryDirectory { directory in
            try JournalFixtures.journal("basic", in: directory)
            let configuration = JournalReaderConfiguration(
                source: .directory(directory), start: .cursor("s=0;i=1", ifMissing: .head), follow: false)
            let events = try await events(configuration)
            guard case .cursorNotFound(let cursor, let reason, let restartedAt)? = events.first else {
                Issue.record("first event is not cursorNotFound: \(String(describing: events.first))")
                return
            }
            #expect(cursor == "s=0;i=1")
            #expect(reason == .malformed || reason == .notFound)
            #expect(restartedAt == .head)
            #expect(batches(events).reduce(0) { $0 + $1.count } == 9)
        }
    }

    @Test("start at the tail reads none of the existing entries")
    func startAtTail() async throws {
        try await withTemporaryDirectory { directory in
            try JournalFixtures.journal("basic", in: directory)
            let configuration = JournalReaderConfiguration(source: .directory(directory), start: .tail, follow: false)
            #expect(try await events(configuration).isEmpty)
        }
    }

    @Test("a journal that cannot be opened fails the sequence with the call and directory")
    func openFailure() async throws {
        let configuration = JournalReaderConfiguration(source: .directory("/nonexistent/journal"), follow: false)
        await #expect(throws: JournalError.callFailed(
            call: "sd_journal_open_directory", journal: "journal directory /nonexistent/journal", errno: 2)
        ) {
            _ = try await events(configuration)
        }
    }
}
