import Agent
import Foundation
import NIOCore
import Testing
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Positions: only the contiguous acknowledged prefix is saved; a restart resumes exactly there and re-sends
/// with the same origins; a corrupt position file is reported and the input starts at `start_at`.
@Suite("File positions")
struct FilePositionTests {
    static func lines(_ range: Range<Int>, tag: String = "line") -> [String] { range.map { "\(tag) \($0)" } }

    static func write(_ lines: [String], to path: String) throws {
        try LogWriter.append(path, lines.map { $0 + "\n" }.joined())
    }

    @Test func restartResumesAtTheContiguousAcknowledgedOffsetWithTheSameOrigins() throws {
        let harness = try FileInputHarness(paths: ["app.log"], autoAcknowledge: false)
        let log = harness.path("app.log")
        try Self.write(Self.lines(0..<100), to: log)
        #expect(harness.poll(untilEvents: 100))
        let first = harness.sink.events
        // Acks arrive out of order: 0..<40 reversed, plus 60..<70 (not contiguous with the prefix).
        harness.sink.acknowledge(where: { $0.origin.offset < first[40].origin.offset }, reversed: true)
        harness.sink.acknowledge(where: { $0.origin.offset >= first[60].origin.offset && $0.origin.offset < first[70].origin.offset })
        harness.input.poll()
        #expect(harness.input.acknowledgedOffset(source: log) == first[39].endOffset)
        let unacknowledged = Array(first[40..<60]) + Array(first[70...])
        let cost: Int = unacknowledged.reduce(0) { $0 + $1.value.readableBytes + FileInput.inFlightOverheadPerEvent }
        #expect(harness.input.inFlightBytes == cost)

        harness.restart(forgetSink: true)
        harness.sink.autoAcknowledge = true
        #expect(harness.poll(untilEvents: 60))
        harness.poll(until: { false }, timeout: .milliseconds(100))
        #expect(harness.values == Self.lines(40..<100), "exactly the unacknowledged suffix is read again")
        #expect(harness.sink.events.map(\.origin) == first[40...].map(\.origin), "re-sent lines keep their origins")

        try Self.write(Self.lines(100..<110), to: log)
        #expect(harness.poll(untilEvents: 70))
        #expect(harness.values == Self.lines(40..<110))
    }

    enum RotationWhileDown: String, CaseIterable, Sendable { case rename, copytruncate }

    @Test(arguments: RotationWhileDown.allCases)
    func restartAfterRotationWhileDownDoesNotResend(_ rotation: RotationWhileDown) throws {
        let harness = try FileInputHarness(paths: ["app*.log*"])
        let log = harness.path("app.log")
        try Self.write(Self.lines(0..<50), to: log)
        #expect(harness.poll(untilEvents: 50))
        harness.input.shutdown()
        // While the agent is down: more lines, then rotation, then new lines in the live file.
        try Self.write(Self.lines(50..<60), to: log)
        switch rotation {
        case .rename: try LogWriter.rename(log, harness.path("app.log.1"))
        case .copytruncate: try LogWriter.copyTruncate(log, to: harness.path("app.log.1"))
        }
        try Self.write(Self.lines(0..<5, tag: "new"), to: log)
        harness.restart()
        #expect(harness.poll(untilEvents: 65))
        harness.poll(until: { false }, timeout: .milliseconds(100))
        #expect(deliveryProblems(events: harness.sink.events, written: Self.lines(0..<60) + Self.lines(0..<5, tag: "new")) == [])
    }

    @Test func positionFileIsReplacedAtomically() throws {
        let harness = try FileInputHarness(paths: ["app.log"])
        try Self.write(Self.lines(0..<10), to: harness.path("app.log"))
        #expect(harness.poll(untilEvents: 10))
        try harness.input.savePositions()
        let path = harness.input.positionsPath
        let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        #expect(text.contains("\"version\":1"))
        #expect(text.contains("\"offset\":\(Self.lines(0..<10).joined(separator: "\n").utf8.count + 1)"))
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    }

    /// Mounts a tmpfs of `bytes` at `path` (root only); false when mounting is not allowed here.
    static func mountTmpfs(at path: String, bytes: Int) -> Bool {
        (try? ProcessRunner.run("mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", path]).succeeded) ?? false
    }

    static func unmount(_ path: String) {
        _ = try? ProcessRunner.run("umount", [path])
    }

    /// Whether this machine lets the tests mount a tmpfs (root in a VM or container that allows it).
    static let canMountTmpfs: Bool = {
        guard geteuid() == 0, let probe = try? TemporaryDirectory(prefix: "agent-mount-probe") else { return false }
        defer { probe.remove() }
        guard mountTmpfs(at: probe.path, bytes: 4096) else { return false }
        unmount(probe.path)
        return true
    }()

    /// Fills the file system of `directory` with one file (until ENOSPC); returns its path.
    static func fill(_ directory: String) throws -> String {
        let path = "\(directory)/filler"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x2E, count: 512)
        while chunk.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) > 0 {}
        return path
    }

    @Test(.enabled(if: canMountTmpfs, "needs root and tmpfs mounts to fill a file system"))
    func aFullDiskIsReportedReadingGoesOnAndPositionsAreSavedOnceThereIsRoom() throws {
        let directory = try TemporaryDirectory(prefix: "agent-full-disk")
        let state = "\(directory.path)/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        // Without the mount, filling `state` would fill the real disk.
        try #require(Self.mountTmpfs(at: state, bytes: 64 << 10))
        defer {
            Self.unmount(state)
            directory.remove()
        }
        let filler = try Self.fill(state)
        let harness = try FileInputHarness(paths: ["app.log"], directory: directory)
        try Self.write(Self.lines(0..<50), to: harness.path("app.log"))
        #expect(harness.poll(until: { harness.input.statistics.errors > 0 && harness.sink.events.count == 50 }))
        let errors = harness.log.errors(containing: "cannot save positions")
        #expect(errors.count >= 1 && errors.allSatisfy { $0.contains(state) && $0.contains("No space left on device") }, "\(errors)")
        try Self.write(Self.lines(50..<60), to: harness.path("app.log"))
        #expect(harness.poll(untilEvents: 60), "reading goes on with the disk full")

        #expect(unlink(filler) == 0)
        let positions = "\(state)/files-logs.json"
        #expect(harness.poll(until: { FileManager.default.fileExists(atPath: positions) }, timeout: .seconds(5)),
                "saved again at most a second later")
        harness.restart(forgetSink: true)
        #expect(!harness.poll(untilEvents: 1, timeout: .milliseconds(300)), "the saved positions cover every line")
        withExtendedLifetime(harness) {}
    }

    @Test func corruptPositionFileIsReportedByNameAndStartAtApplies() throws {
        let directory = try TemporaryDirectory(prefix: "agent-corrupt")
        try FileManager.default.createDirectory(atPath: "\(directory.path)/state", withIntermediateDirectories: true)
        let positions = "\(directory.path)/state/files-logs.json"
        try Data("{\"version\":1,\"streams\":[{\"id\":\"zz\"".utf8).write(to: URL(fileURLWithPath: positions))
        try Self.write(Self.lines(0..<5, tag: "old"), to: "\(directory.path)/app.log")
        let harness = try FileInputHarness(paths: ["app.log"], directory: directory) { $0.startAt = .end }
        #expect(harness.input.positionsLoadError?.contains(positions) == true)
        #expect(!harness.log.errors(containing: positions).isEmpty, "the log names the position file")
        harness.poll(until: { false }, timeout: .milliseconds(60))
        try Self.write(Self.lines(0..<3, tag: "new"), to: "\(directory.path)/app.log")
        #expect(harness.poll(untilEvents: 3))
        #expect(harness.values == Self.lines(0..<3, tag: "new"), "start_at end for the streams whose positions were lost")
        #expect(FileManager.default.fileExists(atPath: positions + ".corrupt"), "the bad file is kept aside")
    }

    @Test func readingStopsAtTheInFlightBudgetAndResumesOnAcks() throws {
        let budget = 4096
        let harness = try FileInputHarness(
            paths: ["app.log"], autoAcknowledge: false, maxInFlightBytes: budget, chunkSize: 1024)
        let lines = (0..<2000).map { "budget line \($0) " + String(repeating: "y", count: 30) }
        try Self.write(lines, to: harness.path("app.log"))
        var peak = 0
        for _ in 0..<50 {
            harness.input.poll()
            peak = max(peak, harness.input.inFlightBytes)
        }
        #expect(harness.sink.events.count < 200, "reading stopped at the budget")
        // One chunk of 1,024 bytes holds at most 1024 / 44 + 2 lines (each at least 44 bytes and a newline).
        let chunkCost = 1024 + (1024 / 44 + 2) * FileInput.inFlightOverheadPerEvent
        #expect(peak <= budget + chunkCost, "at most one chunk over the budget (peak \(peak))")
        let done = harness.poll(until: {
            harness.sink.acknowledge()
            peak = max(peak, harness.input.inFlightBytes)
            return harness.sink.events.count == lines.count
        })
        #expect(done)
        #expect(harness.values == lines)
        #expect(peak <= budget + chunkCost, "peak in-flight bytes \(peak)")
    }
}
