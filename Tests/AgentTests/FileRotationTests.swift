import Agent
import Foundation
import Testing
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Every rotation scheme, many rounds with appends in between: every line arrives exactly once and origins
/// chain without gaps or overlaps within each stream.
@Suite("File rotation")
struct FileRotationTests {
    static let rounds = 12

    /// One rotation scenario: a harness, a seeded generator and the lines written so far.
    final class Scenario {
        let seed = SplitMix64.testSeed()
        var rng: SplitMix64
        let harness: FileInputHarness
        var written: [String] = []
        var log: String { harness.path("app.log") }

        init(paths: [String], configure: (inout FileInputConfiguration) -> Void = { _ in }) throws {
            rng = SplitMix64(seed: seed)
            harness = try FileInputHarness(paths: paths, configure: configure)
        }

        /// Appends `count` unique lines (some ending in `\r\n`) to `path` (app.log by default).
        func append(_ tag: String, round: Int, count: Int, to path: String? = nil) throws {
            var text = ""
            for index in 0..<count {
                let line = "\(tag) round \(round) line \(index) \(String(repeating: "x", count: Int(rng.next() % 40)))"
                written.append(line)
                text += line + (rng.next() % 4 == 0 ? "\r\n" : "\n")
            }
            try LogWriter.append(path ?? log, text)
        }

        /// Polls until everything written arrived.
        func readAll() { #expect(harness.poll(untilEvents: written.count), "seed \(seed)") }

        /// Runs `round` for every round, then checks every line arrived exactly once with chained origins.
        func run(_ round: (Int) throws -> Void) throws {
            for index in 0..<FileRotationTests.rounds { try round(index) }
            readAll()
            harness.poll(until: { false }, timeout: .milliseconds(150))  // nothing more may arrive
            let problems = deliveryProblems(events: harness.sink.events, written: written)
            #expect(problems == [], "seed \(seed); stats \(harness.input.statistics) open \(harness.input.openFileCount) events \(harness.sink.events.count) written \(written.count); log: \(harness.log.messages.suffix(12).map(\.message))")
        }
    }

    @Test func renameAndCreateKeepsReadingTheRenamedFile() throws {
        let s = try Scenario(paths: ["app.log"])
        try s.run { round in
            try s.append("before", round: round, count: 20)
            // The writer still has the old file open after the rename and writes a few more lines there.
            let writer = open(s.log, O_WRONLY | O_APPEND)
            #expect(writer >= 0)
            if round % 2 == 0 { s.readAll() }  // sometimes read before rotating, sometimes not
            try LogWriter.rename(s.log, s.harness.path("app.log.\(round)"))
            let late = (0..<5).map { "late round \(round) line \($0)" }
            s.written += late
            try LogWriter.write(writer, Array(late.map { $0 + "\n" }.joined().utf8))
            close(writer)
            try s.append("after", round: round, count: 10)
            s.harness.input.poll()  // the agent notices the new file (as inotify makes it do at once)
        }
    }

    @Test func copytruncateWithOnlyTheLivePathMatched() throws {
        let s = try Scenario(paths: ["app.log"])
        try s.run { round in
            try s.append("copy", round: round, count: 15)
            // Lines written after the agent's last read and before the copy live only in the unwatched copy,
            // so read everything first (copytruncate's own race, not the agent's).
            s.readAll()
            try LogWriter.copyTruncate(s.log, to: s.harness.path("app.log.1"))
            if round == FileRotationTests.rounds - 1 { try s.append("final", round: round, count: 5) }
        }
    }

    /// How much of a copytruncate copy the agent sees before it is complete.
    enum CopySeen: CaseIterable, Sendable {
        /// only the complete copy
        case complete
        /// the copy empty first (copytruncate creates it, then writes it)
        case empty
        /// its first 100 bytes, then all but the last 50 (a copy written in pieces)
        case inPieces
        /// the copy empty, then nothing until the copy is complete, the original truncated and written again
        case emptyThenTruncated
    }

    /// The copy must never become a new stream while it is written, or its content is sent again under new
    /// origins.
    @Test(arguments: CopySeen.allCases)
    func copytruncateWithRotatedNamesMatchedContinuesInTheCopy(seen: CopySeen) throws {
        let s = try Scenario(paths: ["app*.log*"])
        try s.run { round in
            try s.append("seen", round: round, count: 10)
            s.readAll()
            // These are still unread when the copy is made: the agent must find them in the copy.
            try s.append("unread", round: round, count: 10)
            let copy = s.harness.path("app.log.\(round)")
            let bytes = [UInt8](FileManager.default.contents(atPath: s.log) ?? Data())
            var written = 0
            let pieces = seen == .empty || seen == .emptyThenTruncated ? [0] : seen == .inPieces ? [100, bytes.count - 50] : []
            for end in pieces {
                try LogWriter.append(copy, Array(bytes[written..<end]))
                written = end
                s.harness.input.poll()
                s.harness.input.poll()
            }
            try LogWriter.append(copy, Array(bytes[written...]))
            if seen != .emptyThenTruncated { s.harness.input.poll() }  // the copy is seen while the original is live
            try LogWriter.truncate(s.log)
            try s.append("new", round: round, count: 5)
        }
    }

    @Test func renameRotationWithRotatedNamesMatchedDoesNotResend() throws {
        let s = try Scenario(paths: ["app*.log*"])
        try s.run { round in
            try s.append("r", round: round, count: 10)
            if round % 3 != 0 { s.readAll() }
            // logrotate's numbered shifting: app.log.N → app.log.N+1 … app.log → app.log.1
            for index in stride(from: round, through: 1, by: -1) {
                try LogWriter.rename(s.harness.path("app.log.\(index)"), s.harness.path("app.log.\(index + 1)"))
            }
            try LogWriter.rename(s.log, s.harness.path("app.log.1"))
        }
    }

    @Test func truncationStartsANewStreamEvenWithRepeatedFirstBytes() throws {
        let s = try Scenario(paths: ["app.log"])
        try s.run { round in
            s.written.append("header")
            try LogWriter.append(s.log, "header\n")  // every incarnation starts with the same bytes
            try s.append("t", round: round, count: 10)
            s.readAll()
            try LogWriter.truncate(s.log)
            if round % 2 == 1 {
                // Regrow past the old offset before the agent looks: detected by the bytes before the offset.
                s.written.append("header")
                try LogWriter.append(s.log, "header\n")
                try s.append("regrown", round: round, count: 40)
            }
        }
        let streams = Set(s.harness.sink.events.map(\.origin.stream))
        #expect(streams.count == Self.rounds + 1, "one stream per incarnation: the first and one per truncation")
    }

    @Test func deleteAndRecreate() throws {
        let s = try Scenario(paths: ["app.log"])
        try s.run { round in
            try s.append("d", round: round, count: 10)
            if round % 2 == 0 { s.readAll() }
            // Deleted while open (sometimes unread): the agent reads it to its end through its descriptor.
            #expect(unlink(s.log) == 0)
            try s.append("recreated", round: round, count: 3)
            s.harness.input.poll()  // the agent notices the new file (as inotify makes it do at once)
        }
        #expect(s.harness.poll(until: { s.harness.input.openFileCount == 1 }), "deleted files are closed")
    }

    @Test func replacedWhileClosedIsANewStream() throws {
        // Files closed while idle, then deleted and recreated (often reusing the inode) or rewritten in place
        // with different content: never mistaken for the old stream.
        let s = try Scenario(paths: ["app.log"]) { $0.closeIdleAfter = .milliseconds(30) }
        var sameInode = 0
        try s.run { round in
            try s.append("same-prefix", round: round, count: 8)
            #expect(s.harness.poll(until: { s.harness.sink.events.count == s.written.count && s.harness.input.openFileCount == 0 }))
            let inode = LogWriter.inode(s.log)
            if round % 2 == 0 { #expect(unlink(s.log) == 0) } else { try LogWriter.truncate(s.log) }
            try s.append("same-prefix", round: round + 100, count: 30)
            if LogWriter.inode(s.log) == inode { sameInode += 1 }
        }
        #expect(sameInode >= Self.rounds / 2, "in-place rewrites keep the inode")
    }

    @Test func filesStartingWithAnotherFilesWholeContentAreNewStreams() throws {
        let harness = try FileInputHarness(paths: ["*.log"])
        // a.log holds only its header; b.log starts with the same bytes but is longer: not a copy of a.log.
        try LogWriter.append(harness.path("a.log"), "header\n")
        #expect(harness.poll(untilEvents: 1))
        try LogWriter.append(harness.path("b.log"), "header\nb body\n")
        #expect(harness.poll(untilEvents: 3))
        // a.log deleted and recreated starting with its old content: a new stream, the header is sent again.
        #expect(unlink(harness.path("a.log")) == 0)
        harness.input.poll()
        try LogWriter.append(harness.path("a.log"), "header\na body\n")
        #expect(harness.poll(untilEvents: 5))
        harness.poll(until: { false }, timeout: .milliseconds(100))
        #expect(harness.values.sorted() == ["a body", "b body", "header", "header", "header"])
        #expect(Set(harness.sink.events.map(\.origin.stream)).count == 3)
    }

    @Test func truncatedAndRewrittenToTheSameLengthIsDetected() throws {
        let harness = try FileInputHarness(paths: ["app.log"])
        for round in 0..<5 {
            try LogWriter.append(harness.path("app.log"), "same length \(round)\n")
            #expect(harness.poll(untilEvents: round + 1))
            try LogWriter.truncate(harness.path("app.log"))
        }
        #expect(harness.values == (0..<5).map { "same length \($0)" })
        #expect(Set(harness.sink.events.map(\.origin.stream)).count == 5)
    }
}
