import Foundation
import Testing
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `tributary-agent --dry-run` as a real process: tails files, prints lines, saves positions on SIGTERM and
/// resumes from them.
@Suite("Agent binary")
struct AgentBinaryTests {
    /// Starts the agent with stdout and stderr going to files in `directory`.
    /// With `asNobody` the agent runs as user and group 65534 (through `setpriv`, which execs it: same pid).
    static func start(config: String, directory: String, run: Int, asNobody: Bool = false) throws -> (Process, stdout: String) {
        let process = Process()
        let agent = TributaryProcess.productsDirectory.appendingPathComponent("tributary-agent")
        if asNobody {
            process.executableURL = URL(fileURLWithPath: Self.setpriv)
            process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", agent.path, "--config", config, "--dry-run"]
        } else {
            process.executableURL = agent
            process.arguments = ["--config", config, "--dry-run"]
        }
        let stdout = "\(directory)/stdout-\(run)"
        FileManager.default.createFile(atPath: stdout, contents: nil)
        FileManager.default.createFile(atPath: "\(directory)/stderr-\(run)", contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: stdout)
        process.standardError = FileHandle(forWritingAtPath: "\(directory)/stderr-\(run)")
        try process.run()
        return (process, stdout)
    }

    static func lines(_ path: String) -> [String] {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    static func wait(until condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    static let setpriv = "/usr/bin/setpriv"

    /// Root reads any file, so the permission error is tested by running the agent as another user (CI runs as
    /// root; FileInputTests covers the same in-process when the tests do not run as root).
    @Test(.enabled(if: geteuid() == 0 && access(setpriv, X_OK) == 0, "needs root and setpriv to run the agent as nobody"))
    func anUnreadableFileIsReportedSkippedAndPickedUpOnceReadable() throws {
        let directory = try TemporaryDirectory(prefix: "agent-binary-perm")
        defer { directory.remove() }
        let logs = "\(directory.path)/logs"
        let state = "\(directory.path)/state"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        #expect(chmod(directory.path, 0o755) == 0 && chmod(logs, 0o755) == 0 && chmod(state, 0o777) == 0)
        let config = "\(directory.path)/agent.yaml"
        try Data("""
            brokers: ["127.0.0.1:9092"]
            state_dir: \(state)
            inputs:
              - { type: file, topic: app, paths: ["\(logs)/*.log"], start_at: beginning, rescan_interval: 200ms }
            """.utf8).write(to: URL(fileURLWithPath: config))
        try LogWriter.append("\(logs)/secret.log", "secret\n")
        #expect(chmod("\(logs)/secret.log", 0o600) == 0)
        try LogWriter.append("\(logs)/open.log", "open\n")
        #expect(chmod("\(logs)/open.log", 0o644) == 0)

        let (agent, stdout) = try Self.start(config: config, directory: directory.path, run: 1, asNobody: true)
        defer { if agent.isRunning { kill(agent.processIdentifier, SIGKILL) } }
        let stderr = { String(decoding: FileManager.default.contents(atPath: "\(directory.path)/stderr-1") ?? Data(), as: UTF8.self) }
        #expect(Self.wait { Self.lines(stdout) == ["open"] }, "\(Self.lines(stdout)); stderr: \(stderr())")
        #expect(Self.wait { stderr().contains("\(logs)/secret.log") }, "stderr: \(stderr())")
        let complaints = { stderr().split(separator: "\n").filter { $0.contains("\(logs)/secret.log") } }
        // Five rescans (200 ms each) while the file stays unreadable: still one complaint.
        #expect(!ShipWait.until(seconds: 1) { complaints().count > 1 }, "reported once, not at every rescan: \(complaints())")
        let complaint = complaints()
        #expect(complaint.count == 1, "\(complaint)")
        #expect(complaint.first?.contains("Permission denied") == true, "\(complaint)")
        #expect(agent.isRunning, "no crash")

        #expect(chmod("\(logs)/secret.log", 0o644) == 0)
        #expect(Self.wait { Set(Self.lines(stdout)) == ["open", "secret"] }, "\(Self.lines(stdout))")
        agent.terminate()
        agent.waitUntilExit()
        #expect(agent.terminationStatus == 0)
    }

    @Test func dryRunTailsSavesPositionsOnSIGTERMAndResumes() throws {
        let directory = try TemporaryDirectory(prefix: "agent-binary")
        defer { directory.remove() }
        let logs = "\(directory.path)/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let config = "\(directory.path)/agent.yaml"
        try Data("""
            brokers: ["127.0.0.1:9092"]
            state_dir: \(directory.path)/state
            inputs:
              - { type: file, topic: app, paths: ["\(logs)/*.log"], start_at: beginning }
            """.utf8).write(to: URL(fileURLWithPath: config))
        try FileManager.default.createDirectory(atPath: "\(directory.path)/state", withIntermediateDirectories: true)
        try LogWriter.append("\(logs)/a.log", "a1\na2\n")

        let (first, firstOut) = try Self.start(config: config, directory: directory.path, run: 1)
        #expect(Self.wait { Self.lines(firstOut) == ["a1", "a2"] })
        try LogWriter.append("\(logs)/a.log", "a3\n")
        try LogWriter.append("\(logs)/b.log", "b1\n")
        #expect(Self.wait { Self.lines(firstOut).count == 4 }, "\(Self.lines(firstOut))")
        first.terminate()  // SIGTERM
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)

        try LogWriter.append("\(logs)/a.log", "a4\n")
        let (second, secondOut) = try Self.start(config: config, directory: directory.path, run: 2)
        #expect(Self.wait { Self.lines(secondOut) == ["a4"] }, "\(Self.lines(secondOut))")
        usleep(200_000)
        second.interrupt()  // SIGINT
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        #expect(Self.lines(secondOut) == ["a4"], "nothing read twice after the restart")
        #expect(Set(Self.lines(firstOut)) == ["a1", "a2", "a3", "b1"])
    }

    /// A last line without a newline is printed once the file stopped growing for `partial_line_timeout`, even
    /// when nothing else is read afterwards (the sink is flushed for it).
    @Test func lastLineWithoutNewlineShipsAfterThePartialLineTimeout() throws {
        let directory = try TemporaryDirectory(prefix: "agent-binary-partial")
        defer { directory.remove() }
        let logs = "\(directory.path)/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(directory.path)/state", withIntermediateDirectories: true)
        let config = "\(directory.path)/agent.yaml"
        try Data("""
            brokers: ["127.0.0.1:9092"]
            state_dir: \(directory.path)/state
            inputs:
              - { type: file, topic: app, paths: ["\(logs)/*.log"], start_at: beginning, partial_line_timeout: 200ms }
            """.utf8).write(to: URL(fileURLWithPath: config))
        try LogWriter.append("\(logs)/a.log", "a1\na2 without newline")
        let (process, stdout) = try Self.start(config: config, directory: directory.path, run: 1)
        #expect(Self.wait { Self.lines(stdout) == ["a1", "a2 without newline"] }, "\(Self.lines(stdout))")
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}
