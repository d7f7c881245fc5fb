import Foundation
import NIOCore
import SystemdJournal
import Testing
import TributaryTestSupport

@Suite("SystemdJournal: following new entries")
struct JournalFollowTests {
    @Test("wait(timeout:) reports entries appended to the open file, and next() returns them")
    func waitSeesAppend() async throws {
        try await withTemporaryDirectory { directory in
            let path = try JournalFixtures.journal("basic", in: directory)
            let appended = try JournalFixtures.entries("appended")
            let journal = try SystemdJournal(directory: directory)
            try journal.prepareToFollow()
            #expect(try readAll(journal).count == 9)
            #expect(try journal.wait(timeout: .milliseconds(1)) == .none)

            try JournalExport.convert(JournalFixtures.exportBytes("appended"), to: path)
            var changes: [SystemdJournal.Change] = []
            var fresh: [UInt64] = []
            let deadline = ContinuousClock.now + .seconds(10)
            while fresh.count < appended.count, ContinuousClock.now < deadline {
                changes.append(try journal.wait(timeout: .seconds(1)))
                fresh += try readAll(journal).map(\.realtime)
            }
            #expect(fresh == appended.map(\.realtime))
            #expect(changes.contains(.append) || changes.contains(.invalidate))
        }
    }

    @Test("seekPastNewest skips every existing entry; next() then returns only entries appended later")
    func tailThenAppend() async throws {
        try await withTemporaryDirectory { directory in
            let path = try JournalFixtures.journal("basic", in: directory)
            let appended = try JournalFixtures.entries("appended")
            let journal = try SystemdJournal(directory: directory)
            try journal.prepareToFollow()
            try journal.seekPastNewest()
            #expect(try journal.next() == nil)

            try JournalExport.convert(JournalFixtures.exportBytes("appended"), to: path)
            var fresh: [UInt64] = []
            let deadline = ContinuousClock.now + .seconds(10)
            while fresh.count < appended.count, ContinuousClock.now < deadline {
                _ = try journal.wait(timeout: .seconds(1))
                fresh += try readAll(journal).map(\.realtime)
            }
            #expect(fresh == appended.map(\.realtime))
        }
    }

    @Test("a reader waiting at the end gets the entries of a journal file added to the directory (rotation)")
    func readerSeesNewFile() async throws {
        try await withTemporaryDirectory { directory in
            let watched = "\(directory)/watched"
            try JournalFixtures.journal("basic", in: watched)
            let basic = try JournalFixtures.entries("basic")
            let appended = try JournalFixtures.entries("appended")
            let reader = JournalReader(configuration: JournalReaderConfiguration(source: .directory(watched)))
            let iterator = reader.makeAsyncIterator()
            defer { iterator.stop() }

            let first = try await withDeadline(seconds: 20, "reading the first file") {
                try await collect(from: iterator, count: basic.count)
            }
            #expect(first.map(\.realtimeMicroseconds) == basic.map(\.realtime))

            // A rotated file appears: written elsewhere, then renamed into the watched directory in one step.
            let staging = "\(directory)/staging/system@rotated.journal"
            try JournalExport.convert(JournalFixtures.exportBytes("appended"), to: staging)
            try FileManager.default.moveItem(atPath: staging, toPath: "\(watched)/system@rotated.journal")

            let second = try await withDeadline(seconds: 20, "reading the rotated file") {
                try await collect(from: iterator, count: appended.count)
            }
            #expect(second.map(\.realtimeMicroseconds) == appended.map(\.realtime))
            #expect(second.map { $0.message.map { Array(buffer: $0) } } == appended.map { $0.value("MESSAGE") })
        }
    }

    @Test("stopping a following reader ends its sequence")
    func stopEndsSequence() async throws {
        try await withTemporaryDirectory { directory in
            try JournalFixtures.journal("basic", in: directory)
            let iterator = JournalReader(configuration: JournalReaderConfiguration(source: .directory(directory)))
                .makeAsyncIterator()
            _ = try await withDeadline(seconds: 20, "reading the journal") {
                try await collect(from: iterator, count: 9)
            }
            iterator.stop()
            let after = try await withDeadline(seconds: 20, "the end after stop()") { try await iterator.next() == nil }
            #expect(after)
        }
    }

    @Test("cancelling the task that waits for entries ends the wait")
    func cancellationEndsWait() async throws {
        try await withTemporaryDirectory { directory in
            try JournalFixtures.journal("basic", in: directory)
            let reader = JournalReader(configuration: JournalReaderConfiguration(source: .directory(directory), start: .tail))
            let waiting = Task {
                let iterator = reader.makeAsyncIterator()
                return try await iterator.next()
            }
            waiting.cancel()
            let ended = try await withDeadline(seconds: 20, "the cancelled wait") {
                try await waiting.value == nil
            }
            #expect(ended)
        }
    }
}

/// Records from `iterator` until `count` arrived (failing on a gap event).
func collect(from iterator: JournalReader.Iterator, count: Int) async throws -> [JournalRecord] {
    var records: [JournalRecord] = []
    while records.count < count, let event = try await iterator.next() {
        switch event {
        case .entries(let batch): records += batch
        case .cursorNotFound(let cursor, _, _): Issue.record("unexpected gap at \(cursor)")
        case .caughtUp: break
        }
    }
    return records
}
