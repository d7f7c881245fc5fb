import Agent
import Foundation
import NIOCore
import Testing
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The file input on real files: what is read, how lines are cut, and bad input that must not stop it.
@Suite("File input")
struct FileInputTests {
    @Test func longLinesAreSplitAndMarkedTruncated() throws {
        let harness = try FileInputHarness(paths: ["app.log"]) { $0.maxLineBytes = 100 }
        let long = String(repeating: "L", count: 250)
        try LogWriter.append(harness.path("app.log"), "\(long)\nshort\n")
        #expect(harness.poll(untilEvents: 4))
        #expect(harness.values == [String(repeating: "L", count: 100), String(repeating: "L", count: 100), String(repeating: "L", count: 50), "short"])
        #expect(harness.sink.events.map(\.truncated) == [true, true, true, false])
        #expect(harness.sink.events.map(\.origin.offset) == [0, 100, 200, 251])
        #expect(harness.input.statistics.truncatedPieces == 3)
    }

    @Test func aFiftyMegabyteLineIsCutWithBoundedMemory() throws {
        let harness = try FileInputHarness(paths: ["big.log"]) { $0.maxLineBytes = 1 << 20 }
        let fd = open(harness.path("big.log"), O_WRONLY | O_CREAT, 0o644)
        let chunk = [UInt8](repeating: UInt8(ascii: "b"), count: 1 << 20)
        for _ in 0..<50 { try LogWriter.write(fd, chunk) }
        try LogWriter.write(fd, [0x0A])
        close(fd)
        #expect(harness.poll(untilEvents: 50, timeout: .seconds(30)))
        #expect(harness.sink.events.allSatisfy { $0.value.readableBytes == 1 << 20 && $0.truncated })
        #expect(harness.sink.events.last?.endOffset == 50 << 20 + 1)
    }

    @Test func binaryAndInvalidUTF8PassThroughUntouched() throws {
        var rng = SplitMix64(seed: SplitMix64.testSeed())
        let harness = try FileInputHarness(paths: ["bin.log"])
        var lines: [[UInt8]] = []
        var file: [UInt8] = []
        for _ in 0..<200 {
            // Any byte but \n and \r, including NUL, 0xFF and broken UTF-8 sequences.
            let line = rng.bytes(Int(rng.next() % 100)).map { $0 == 0x0A || $0 == 0x0D ? 0xC3 : $0 }
            lines.append(line)
            file += line + [0x0A]
        }
        try LogWriter.append(harness.path("bin.log"), file)
        #expect(harness.poll(untilEvents: lines.count))
        #expect(harness.sink.events.map { Array($0.value.readableBytesView) } == lines)
    }

    @Test func aPartialLastLineWaitsForItsNewlineThenShipsWhenTheFileStopsGrowing() throws {
        let harness = try FileInputHarness(paths: ["app.log"]) { $0.partialLineTimeout = .milliseconds(150) }
        let log = harness.path("app.log")
        try LogWriter.append(log, "complete\npart")
        #expect(harness.poll(untilEvents: 1))
        // Keeps growing faster than the timeout: still held.
        for piece in ["ial", " line", " continues"] {
            harness.poll(until: { false }, timeout: .milliseconds(50))
            try LogWriter.append(log, piece)
        }
        harness.poll(until: { false }, timeout: .milliseconds(50))
        #expect(harness.values == ["complete"])
        try LogWriter.append(log, "\n")
        #expect(harness.poll(untilEvents: 2))
        #expect(harness.values == ["complete", "partial line continues"])
        // Stops growing without a newline: shipped after the timeout, not before.
        try LogWriter.append(log, "no newline")
        let start = ContinuousClock.now
        #expect(harness.poll(untilEvents: 3))
        #expect(ContinuousClock.now - start >= .milliseconds(150))
        #expect(harness.values.last == "no newline")
    }

    @Test func multilineEventsFromAFile() throws {
        let harness = try FileInputHarness(paths: ["app.log"]) {
            $0.multiline = FileInputConfiguration.Multiline(
                startPattern: try! LinePattern(#"^\d{4}-\d{2}-\d{2} "#), flushTimeout: .milliseconds(50))
        }
        try LogWriter.append(harness.path("app.log"), "2024-05-01 boom\r\n\tat a\n\tat b\n2024-05-01 ok\n")
        #expect(harness.poll(untilEvents: 2))
        #expect(harness.values == ["2024-05-01 boom\n\tat a\n\tat b", "2024-05-01 ok"])
        #expect(harness.sink.events.map(\.origin.offset) == [0, 29])
        #expect(harness.sink.events.map(\.endOffset) == [29, 43])
    }

    @Test func startAtEndSkipsExistingContentButNewFilesAreReadFromTheBeginning() throws {
        let directory = try TemporaryDirectory(prefix: "agent-start")
        try LogWriter.append("\(directory.path)/old.log", "old 1\nold 2\n")
        let harness = try FileInputHarness(paths: ["*.log"], directory: directory) { $0.startAt = .end }
        harness.poll(until: { false }, timeout: .milliseconds(60))
        try LogWriter.append(harness.path("old.log"), "old 3\n")
        try LogWriter.append(harness.path("new.log"), "new 1\n")
        #expect(harness.poll(untilEvents: 2))
        harness.poll(until: { false }, timeout: .milliseconds(60))
        #expect(Set(harness.values) == ["old 3", "new 1"])
    }

    @Test func anEmptyFileIsPickedUpWhenItsFirstLinesArriveWithoutWaitingForARescan() throws {
        let directory = try TemporaryDirectory(prefix: "agent-empty")
        try LogWriter.append("\(directory.path)/seen.log", "seen 1\n")
        let harness = try FileInputHarness(paths: ["*.log"], directory: directory) {
            $0.startAt = .end
            $0.rescanInterval = .seconds(3600)  // only inotify can find the new content in time
        }
        harness.input.poll()  // the first scan
        let created = open(harness.path("empty.log"), O_WRONLY | O_CREAT, 0o644)
        #expect(created >= 0)
        close(created)
        harness.input.poll()  // inotify queued the creation inside open(2): this poll sees the empty file
        #expect(harness.input.openFileCount == 1, "an empty file is not tailed yet")
        try LogWriter.append(harness.path("empty.log"), "first 1\nfirst 2\n")
        #expect(harness.poll(untilEvents: 2))
        #expect(harness.values == ["first 1", "first 2"], "read from its beginning: written after the agent started")
    }

    @Test func excludedFilesAreNotRead() throws {
        let harness = try FileInputHarness(paths: ["*"]) { $0.exclude = ["*.gz", "\(NSTemporaryDirectory())*/skip.log"] }
        try LogWriter.append(harness.path("a.log"), "a\n")
        try LogWriter.append(harness.path("b.log.gz"), "gz\n")
        try LogWriter.append(harness.path("skip.log"), "skip\n")
        #expect(harness.poll(untilEvents: 1))
        harness.poll(until: { false }, timeout: .milliseconds(60))
        #expect(harness.values == ["a"])
    }

    @Test func aDirectoryMatchedByTheGlobIsReportedAndSkipped() throws {
        let harness = try FileInputHarness(paths: ["*.log"])
        try FileManager.default.createDirectory(atPath: harness.path("dir.log"), withIntermediateDirectories: true)
        try LogWriter.append(harness.path("real.log"), "real\n")
        #expect(harness.poll(untilEvents: 1))
        harness.poll(until: { false }, timeout: .milliseconds(60))
        let errors = harness.log.errors(containing: harness.path("dir.log"))
        #expect(errors.count == 1, "reported once: \(errors)")
        #expect(errors.first?.contains("is a directory") == true)
        #expect(harness.values == ["real"])
    }

    @Test(.enabled(if: geteuid() != 0, "root reads files whatever their mode"))
    func unreadableFileIsReportedAndSkipped_skippedWhenRunningAsRoot() throws {
        let harness = try FileInputHarness(paths: ["*.log"])
        try LogWriter.append(harness.path("secret.log"), "secret\n")
        #expect(chmod(harness.path("secret.log"), 0) == 0)
        try LogWriter.append(harness.path("open.log"), "open\n")
        #expect(harness.poll(untilEvents: 1))
        harness.poll(until: { false }, timeout: .milliseconds(60))
        let errors = harness.log.errors(containing: harness.path("secret.log"))
        #expect(errors.count == 1 && errors.first?.contains("Permission denied") == true, "\(errors)")
        #expect(harness.values == ["open"])
        // Readable again: picked up.
        #expect(chmod(harness.path("secret.log"), 0o644) == 0)
        #expect(harness.poll(untilEvents: 2))
    }

    @Test func theOpenFilesCapIsRespectedAndIdleFilesAreClosed() throws {
        let harness = try FileInputHarness(paths: ["*.log"]) {
            $0.maxOpenFiles = 3
            $0.closeIdleAfter = .milliseconds(20)
        }
        var written: [String] = []
        var peakOpen = 0
        for round in 0..<3 {
            for file in 0..<10 {
                let line = "file \(file) round \(round)"
                written.append(line)
                try LogWriter.append(harness.path("f\(file).log"), line + "\n")
            }
            let done = harness.poll(until: {
                peakOpen = max(peakOpen, harness.input.openFileCount)
                return harness.sink.events.count == written.count
            })
            #expect(done)
        }
        #expect(peakOpen <= 3, "peak open files \(peakOpen)")
        #expect(deliveryProblems(events: harness.sink.events, written: written) == [])
    }
}
