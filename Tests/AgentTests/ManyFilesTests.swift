import Foundation
import Testing
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A glob matching 10,000 files with `max_open_files: 16`: `tributary-agent --dry-run` prints every line of
/// every file, and its open descriptors (/proc/PID/fd) never exceed its baseline plus the cap plus a margin.
@Suite("Agent many files")
struct ManyFilesTests {
    static let fileCount = 10_000
    static let maxOpenFiles = 16
    /// A file being examined beside the open ones (opened, checked, then kept or closed).
    static let marginDescriptors = 2

    static func descriptorCount(_ pid: Int32) -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
    }

    static func lineCount(_ path: String) -> Int {
        (FileManager.default.contents(atPath: path) ?? Data()).reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    }

    @Test func tenThousandFilesUnderASmallOpenFilesCap() throws {
        let directory = try TemporaryDirectory(prefix: "agent-many-files")
        defer { directory.remove() }
        let logs = "\(directory.path)/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(directory.path)/state", withIntermediateDirectories: true)
        let config = "\(directory.path)/agent.yaml"
        try Data("""
            brokers: ["127.0.0.1:9092"]
            state_dir: \(directory.path)/state
            inputs:
              - type: file
                topic: many
                paths: ["\(logs)/*.log"]
                start_at: beginning
                max_open_files: \(Self.maxOpenFiles)
                close_idle_after: 100ms
            """.utf8).write(to: URL(fileURLWithPath: config))

        // The baseline: the agent tailing an empty directory.
        let (process, stdout) = try AgentBinaryTests.start(config: config, directory: directory.path, run: 1)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let pid = process.processIdentifier
        #expect(AgentBinaryTests.wait { (try? String(contentsOfFile: "\(directory.path)/stderr-1", encoding: .utf8))?.contains("dry run") == true })
        var baseline = 0
        _ = ShipWait.until(seconds: 0.5) {
            baseline = max(baseline, Self.descriptorCount(pid) ?? 0)
            return false
        }

        let start = ContinuousClock.now
        for index in 0..<Self.fileCount {
            try LogWriter.append("\(logs)/f\(index).log", "f\(index) first\nf\(index) second\n")
        }
        let expected = 2 * Self.fileCount
        var peak = baseline
        var printed = 0
        let complete = ShipWait.until(seconds: 240) {  // ~80 s on an idle 2-core machine, 130+ under load
            peak = max(peak, Self.descriptorCount(pid) ?? 0)
            printed = Self.lineCount(stdout)
            return printed >= expected
        }
        let elapsed = ContinuousClock.now - start
        print("agent-many-files: \(printed) of \(expected) lines from \(Self.fileCount) files in \(elapsed); descriptors: baseline \(baseline), peak \(peak), cap \(Self.maxOpenFiles)")
        #expect(complete, "\(printed) of \(expected) lines")
        #expect(peak <= baseline + Self.maxOpenFiles + Self.marginDescriptors, "peak \(peak) descriptors, baseline \(baseline)")

        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let lines = AgentBinaryTests.lines(stdout)
        #expect(lines.count == expected, "every line exactly once")
        #expect(Set(lines).count == expected)
        #expect(Set(lines).contains("f9999 second"))
    }
}
