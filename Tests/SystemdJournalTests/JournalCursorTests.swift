import SystemdJournal
import Testing
import TributaryTestSupport

@Suite("SystemdJournal: resuming from cursors, and gaps when a cursor is gone")
struct JournalCursorTests {
    @Test("resuming after each saved cursor returns exactly the entries after it")
    func resumeAfterEveryCursor() async throws {
        try await withTemporaryDirectory { directory in
            try JournalFixtures.journal("basic", in: directory)
            let all = try readAll(SystemdJournal(directory: directory))
            #expect(all.count == 9)
            for (index, saved) in all.enumerated() {
                // A new journal object, as after an agent restart.
                let journal = try SystemdJournal(directory: directory)
                #expect(try journal.seek(cursor: saved.cursor, ifMissing: .head) == .found)
                let rest = try readAll(journal)
                #expect(rest.map(\.cursor) == all[(index + 1)...].map(\.cursor))
            }
        }
    }

    @Test("resuming with matches continues after the saved entry among the matching ones")
    func resumeWithMatches() async throws {
        try await withTemporaryDirectory { directory in
            try JournalFixtures.journal("basic", in: directory)
            let filtered = try SystemdJournal(directory: directory)
            try filtered.addMatches(units: ["ssh.service"])
            let ssh = try readAll(filtered)
            #expect(ssh.count == 4)
            let journal = try SystemdJournal(directory: directory)
            try journal.addMatches(units: ["ssh.service"])
            #expect(try journal.seek(cursor: ssh[1].cursor, ifMissing: .tail) == .found)
            #expect(try readAll(journal).map(\.cursor) == ssh[2...].map(\.cursor))
        }
    }

    @Test("a malformed cursor is reported and reading restarts at the head or after the tail, as asked")
    func malformedCursor() async throws {
        try await withTemporaryDirectory { directory in
            try JournalFixtures.journal("basic", in: directory)
            let all = try readAll(SystemdJournal(directory: directory))
            let head = try SystemdJournal(directory: directory)
            #expect(try head.seek(cursor: "not a cursor", ifMissing: .head) == .malformed)
            #expect(try readAll(head).map(\.cursor) == all.map(\.cursor))

            let tail = try SystemdJournal(directory: directory)
            #expect(try tail.seek(cursor: "s=garbage", ifMissing: .tail) == .malformed)
            #expect(try tail.next() == nil)
        }
    }

    @Test("a cursor of another journal is not found; reading restarts at the head or after the tail, as asked")
    func unknownCursor() async throws {
        try await withTemporaryDirectory { directory in
            let other = "\(directory)/other"
            let basic = "\(directory)/basic"
            try JournalFixtures.journal("appended", in: other)
            try JournalFixtures.journal("basic", in: basic)
            let foreign = try #require(try readAll(SystemdJournal(directory: other)).first).cursor
            let all = try readAll(SystemdJournal(directory: basic))

            let head = try SystemdJournal(directory: basic)
            #expect(try head.seek(cursor: foreign, ifMissing: .head) == .notFound)
            #expect(try readAll(head).map(\.cursor) == all.map(\.cursor))

            let tail = try SystemdJournal(directory: basic)
            #expect(try tail.seek(cursor: foreign, ifMissing: .tail) == .notFound)
            #expect(try tail.next() == nil)
        }
    }

    @Test("a cursor whose entry was vacuumed continues at the closest later entry when asked (.closest)")
    func vacuumedCursorClosest() async throws {
        try await withTemporaryDirectory { directory in
            let entries = try JournalFixtures.entries("basic")
            let before = "\(directory)/before"
            let after = "\(directory)/after"
            // The same entries before and after "vacuuming" entries 0...4: a new file holding entries 5...8.
            try JournalExport.convert(entries.flatMap(\.raw), to: "\(before)/system.journal")
            try JournalExport.convert(entries[5...].flatMap(\.raw), to: "\(after)/system.journal")
            let saved = try readAll(SystemdJournal(directory: before))[3].cursor

            let journal = try SystemdJournal(directory: after)
            #expect(try journal.seek(cursor: saved, ifMissing: .closest) == .notFound)
            let rest = try readAll(journal)
            #expect(rest.map(\.realtime) == entries[5...].map(\.realtime))
        }
    }
}
