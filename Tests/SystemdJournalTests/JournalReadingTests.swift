import SystemdJournal
import Testing
import TributaryTestSupport

/// Reads every entry of `journal` from its current position: (realtime, cursor, sorted rendered fields).
func readAll(_ journal: SystemdJournal) throws -> [(realtime: UInt64, cursor: String, fields: [String])] {
    var result: [(UInt64, String, [String])] = []
    while let entry = try journal.next() {
        var fields: [String] = []
        try entry.forEachField { field in
            fields.append(ExportEntry.render(String(decoding: field.name, as: UTF8.self), Array(field.value)))
            return true
        }
        result.append((try entry.realtimeMicroseconds(), try entry.cursor(), fields.sorted()))
    }
    return result
}

@Suite("SystemdJournal: reading journal files made by systemd-journal-remote")
struct JournalReadingTests {
    @Test("every entry comes back with its realtime timestamp, a cursor and exactly its fields")
    func readsAllEntries() async throws {
        try await withTemporaryDirectory { directory in
            let expected = try JournalFixtures.entries("basic")
            try JournalFixtures.journal("basic", in: directory)
            let journal = try SystemdJournal(directory: directory)
            try journal.setDataThreshold(0)
            let read = try readAll(journal)
            #expect(read.count == expected.count)
            #expect(expected.count == 9)
            for (entry, want) in zip(read, expected) {
                #expect(entry.realtime == want.realtime)
                #expect(entry.fields == want.payloadFields)
                // libsystemd cursors name the realtime timestamp in hex ("t=...").
                #expect(entry.cursor.contains("t=\(String(want.realtime, radix: 16))"))
            }
            #expect(Set(read.map(\.cursor)).count == read.count)
        }
    }

    @Test("convenience accessors: MESSAGE, _SYSTEMD_UNIT, PRIORITY, _PID, SYSLOG_IDENTIFIER")
    func convenienceAccessors() async throws {
        try await withTemporaryDirectory { directory in
            let expected = try JournalFixtures.entries("basic")
            try JournalFixtures.journal("basic", in: directory)
            let journal = try SystemdJournal(directory: directory)
            try journal.setDataThreshold(0)
            var index = 0
            while let entry = try journal.next() {
                let want = expected[index]
                #expect(try entry.message() == want.value("MESSAGE"))
                #expect(try entry.unit() == want.value("_SYSTEMD_UNIT").map { String(decoding: $0, as: UTF8.self) })
                #expect(try entry.priority() == want.value("PRIORITY").flatMap { Int(String(decoding: $0, as: UTF8.self)) })
                #expect(try entry.pid() == want.value("_PID").flatMap { Int(String(decoding: $0, as: UTF8.self)) })
                #expect(
                    try entry.syslogIdentifier()
                        == want.value("SYSLOG_IDENTIFIER").map { String(decoding: $0, as: UTF8.self) })
                index += 1
            }
            #expect(index == expected.count)
        }
    }

    @Test("binary MESSAGE fields come back byte-exact, including one over libsystemd's 64 KiB default threshold")
    func binaryMessagesAreExact() async throws {
        try await withTemporaryDirectory { directory in
            let expected = try JournalFixtures.entries("basic")
            let binary = expected.indices.filter { index in
                let message = expected[index].value("MESSAGE") ?? []
                return message.contains { $0 < 0x20 || $0 >= 0x7F }
            }
            #expect(binary.count == 3)  // NUL/0xff/newline/CR, 100 KiB binary, UTF-8
            try JournalFixtures.journal("basic", in: directory)
            let journal = try SystemdJournal(directory: directory)
            try journal.setDataThreshold(0)
            var messages: [[UInt8]?] = []
            while let entry = try journal.next() { messages.append(try entry.message()) }
            for index in binary { #expect(messages[index] == expected[index].value("MESSAGE")) }
        }
    }

    @Test("a 1 MiB compressed binary MESSAGE comes back whole with threshold 0")
    func dataThreshold() async throws {
        try await withTemporaryDirectory { directory in
            var generator = SplitMix64(seed: 0x6a6f_7572_6e61_6c)
            // Compressible (so journal-remote compresses it, which is when the threshold applies) and binary.
            let block = generator.bytes(4096)
            let message = (0..<256).flatMap { index in block.map { $0 ^ UInt8(truncatingIfNeeded: index) } }
            let export = JournalExport.entry(
                realtime: 1_764_000_100_000_000, fields: [("MESSAGE", message), ("PRIORITY", Array("6".utf8))])
            try JournalExport.convert(export, to: "\(directory)/large.journal")

            let whole = try SystemdJournal(directory: directory)
            try whole.setDataThreshold(0)
            let entry = try #require(try whole.next())
            #expect(try entry.message() == message)
            #expect(try entry.withValue(ofField: "MESSAGE") { $0?.count } == message.count)

        }
    }

    @Test("an entry used after the journal moved throws instead of reading another entry")
    func staleEntryThrows() async throws {
        try await withTemporaryDirectory { directory in
            try JournalFixtures.journal("basic", in: directory)
            let journal = try SystemdJournal(directory: directory)
            let first = try #require(try journal.next())
            _ = try first.cursor()
            _ = try #require(try journal.next())
            #expect(throws: JournalError.entryNoLongerCurrent(journal: journal.name)) { try first.cursor() }
            journal.close()
            #expect(throws: JournalError.closed(journal: journal.name)) { try journal.next() }
        }
    }

    @Test("opening exactly one file, and reading backwards with previous()")
    func filesAndPrevious() async throws {
        try await withTemporaryDirectory { directory in
            let expected = try JournalFixtures.entries("basic")
            let path = try JournalFixtures.journal("basic", in: directory)
            let journal = try SystemdJournal(files: [path])
            try journal.seekTail()
            var backwards: [UInt64] = []
            while let entry = try journal.previous() { backwards.append(try entry.realtimeMicroseconds()) }
            #expect(backwards == expected.map(\.realtime).reversed())
        }
    }
}
