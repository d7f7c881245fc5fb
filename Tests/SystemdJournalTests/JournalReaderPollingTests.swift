import NIOCore
import SystemdJournal
import Testing
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Every event of `iterator` taken with the non-blocking `poll()` until it finishes (or `seconds` pass).
func polledEvents(_ iterator: JournalReader.Iterator, seconds: Int = 20) throws -> (events: [JournalReadEvent], finished: Bool) {
    var events: [JournalReadEvent] = []
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        switch try iterator.poll() {
        case .event(let event): events.append(event)
        case .pending: usleep(1000)
        case .finished: return (events, true)
        }
    }
    return (events, false)
}

@Suite("SystemdJournal: polling the reader, and caught-up cursors past filtered entries")
struct JournalReaderPollingTests {
    @Test("poll() takes what the thread produced without waiting, then reports the end")
    func pollTakesEvents() async throws {
        try await withTemporaryDirectory { directory in
            try JournalFixtures.journal("basic", in: directory)
            var configuration = JournalReaderConfiguration(source: .directory(directory), follow: false)
            configuration.maxBatchEntries = 4
            let (events, finished) = try polledEvents(JournalReader(configuration: configuration).makeAsyncIterator())
            #expect(finished)
            #expect(batches(events).map(\.count) == [4, 4, 1])
        }
    }

    @Test("poll() rethrows the reader's error once")
    func pollThrows() throws {
        let iterator = JournalReader(
            configuration: JournalReaderConfiguration(source: .directory("/nonexistent/journal"), follow: false)
        ).makeAsyncIterator()
        #expect(throws: JournalError.self) { _ = try polledEvents(iterator) }
        #expect(try polledEvents(iterator).finished)
    }

    @Test("with matches, caughtUp names the newest entry once every matching entry was yielded; it resumes right after")
    func caughtUpPastFilteredEntries() async throws {
        try await withTemporaryDirectory { directory in
            try JournalFixtures.journal("basic", in: directory)
            let all = try readAll(SystemdJournal(directory: directory)).map(\.cursor)
            let cron = try JournalMatches(units: ["cron.service"])
            var configuration = JournalReaderConfiguration(source: .directory(directory), matches: cron, follow: false)
            configuration.reportsCaughtUp = true
            let (events, _) = try polledEvents(JournalReader(configuration: configuration).makeAsyncIterator())
            let records = batches(events).flatMap { $0 }
            #expect(records.map(\.unit) == ["cron.service", "cron.service"])
            guard case .caughtUp(let cursor)? = events.last else {
                Issue.record("last event is not caughtUp: \(String(describing: events.last))")
                return
            }
            #expect(cursor == all.last, "the newest entry (ssh's), past the filtered ones")

            // Resuming after that (non-matching) cursor is no gap and yields only what matches after it.
            try JournalFixtures.journal("appended", in: directory)
            configuration.start = .cursor(cursor, ifMissing: .head)
            let (resumed, _) = try polledEvents(JournalReader(configuration: configuration).makeAsyncIterator())
            #expect(!resumed.contains { if case .cursorNotFound = $0 { true } else { false } })
            let after = batches(resumed).flatMap { $0 }
            #expect(after.map(\.unit) == ["cron.service"])
            #expect(after.first?.message.map { Array(buffer: $0) } == Array("after rotation: ".utf8) + [0, 1, 2] + Array(" binary".utf8))

            // Without reportsCaughtUp the same cursor is not found among the matching entries: a gap.
            configuration.reportsCaughtUp = false
            let (plain, _) = try polledEvents(JournalReader(configuration: configuration).makeAsyncIterator())
            #expect(plain.contains { if case .cursorNotFound = $0 { true } else { false } })
        }
    }
}
