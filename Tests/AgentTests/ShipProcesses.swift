import Foundation
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A `tributary broker` child on 127.0.0.1 whose data directory outlives it, so it can be stopped and started
/// again on the same port and data.
final class ShipBroker {
    let dataDirectory: String
    private let logDirectory: String
    private(set) var port: Int
    private var process: Process?
    private var runs = 0

    var bootstrap: String { "127.0.0.1:\(port)" }

    /// Starts a broker on a free port (the kernel's choice) over `dataDirectory`.
    init(dataDirectory: String, logDirectory: String) throws {
        self.dataDirectory = dataDirectory
        self.logDirectory = logDirectory
        self.port = 0
        try start()
    }

    /// Starts the broker (again) on `port` (0 the first time) and waits at most 30 s for its ready line.
    func start() throws {
        runs += 1
        let stdoutPath = "\(logDirectory)/broker-stdout-\(runs)"
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        let process = Process()
        process.executableURL = TributaryProcess.productsDirectory.appendingPathComponent("tributary")
        process.arguments = ["broker", "--listen", "127.0.0.1:\(port)", "--data", dataDirectory, "--log-level", "error"]
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let prefix = "tributary broker: listening on 127.0.0.1:"
        let ready = ShipWait.until(seconds: 30) {
            let output = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }),
                let port = Int(line.dropFirst(prefix.count))
            else { return !process.isRunning }
            self.port = port
            return true
        }
        guard ready, process.isRunning else {
            stop()
            throw ShipProcessError(
                "tributary broker did not start on port \(port): \((try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "")")
        }
    }

    /// SIGTERM, then waits for the exit.
    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A `tributary-agent --config FILE` child, stderr kept in a file.
final class ShipAgent {
    let process = Process()
    let stderrPath: String

    init(config: String, stderrPath: String, environment: [String: String] = [:]) throws {
        self.stderrPath = stderrPath
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = TributaryProcess.productsDirectory.appendingPathComponent("tributary-agent")
        process.arguments = ["--config", config]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Resident memory in KiB (VmRSS from /proc), nil once it exited.
    var residentKiB: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then waits; returns the exit status.
    func terminate() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGTERM, then waits at most `seconds`: the exit status and how long the exit took, or nil when it was still
    /// running then (it is killed with SIGKILL).
    func terminate(within seconds: Double) -> (status: Int32, seconds: Double)? {
        let start = ContinuousClock.now
        process.terminate()
        guard ShipWait.until(seconds: seconds, { !process.isRunning }) else {
            kill9()
            return nil
        }
        process.waitUntilExit()
        let elapsed = ContinuousClock.now - start
        return (process.terminationStatus, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// Bytes the process has read from files and sockets (`rchar` in /proc/PID/io), nil once it exited.
    var bytesRead: Int? {
        guard let io = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/io", encoding: .utf8),
            let line = io.split(separator: "\n").first(where: { $0.hasPrefix("rchar:") })
        else { return nil }
        return Int(line.dropFirst("rchar:".count).trimmingCharacters(in: .whitespaces))
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// The saved read offsets of a file input (`<state_dir>/files-<name>.json`) by path; empty when none was saved.
enum ShipPositions {
    static func offsets(stateDirectory: String, input: String) -> [String: Int] {
        guard let data = FileManager.default.contents(atPath: "\(stateDirectory)/files-\(input).json"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let streams = object["streams"] as? [[String: Any]]
        else { return [:] }
        var offsets: [String: Int] = [:]
        for stream in streams {
            if let path = stream["path"] as? String, let offset = stream["offset"] as? Int { offsets[path] = offset }
        }
        return offsets
    }
}

struct ShipProcessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One record read back with kcat.
struct ShippedRecordCopy: Hashable {
    var value: String
    var headers: [String: String]
    var origin: String { headers["origin"] ?? "" }
}

enum ShipWait {
    /// Polls `condition` every 20 ms until it holds or `seconds` pass.
    static func until(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}

enum ShipKcat {
    /// Every record of `topic` (all partitions, from the beginning), read with `kcat -C -e`.
    static func records(bootstrap: String, topic: String) -> [ShippedRecordCopy] {
        guard
            let output = try? ProcessRunner.run(
                "kcat", ["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%h\t%s\n"]),
            output.succeeded
        else { return [] }
        return output.stdout.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().compactMap {
            let line = String(decoding: $0, as: UTF8.self)
            guard let tab = line.firstIndex(of: "\t") else { return nil }
            var headers: [String: String] = [:]
            for pair in line[..<tab].split(separator: ",") {
                guard let equals = pair.firstIndex(of: "=") else { continue }
                headers[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            return ShippedRecordCopy(value: String(line[line.index(after: tab)...]), headers: headers)
        }
    }
}

/// Real log lines from ../shared/data/loghub, cycled.
struct SampleLines {
    private let lines: [String]
    private var next = 0

    init() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../shared/data/loghub").standardized.path
        var lines: [String] = []
        for name in ["Linux_2k.log", "OpenSSH_2k.log", "Apache_2k.log", "HDFS_2k.log"] {
            let text = try String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)
            // Split on bytes: Swift's Character "\r\n" is one grapheme and would not split on "\n".
            lines += text.utf8.split(separator: UInt8(ascii: "\n")).map { line in
                String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line, as: UTF8.self)
            }.filter { !$0.isEmpty && !$0.contains("\t") && !$0.contains("\r") }
        }
        guard !lines.isEmpty else { throw ShipProcessError("no sample lines in \(directory)") }
        self.lines = lines
    }

    /// The next `count` lines, each prefixed with its number so every line written is distinct.
    mutating func take(_ count: Int, numbered from: inout Int) -> [String] {
        (0..<count).map { _ in
            defer { next = (next + 1) % lines.count; from += 1 }
            return "\(from) \(lines[next])"
        }
    }
}
