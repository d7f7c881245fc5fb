import Dispatch
import Foundation
import KafkaBroker
import KafkaProtocol
import Logging
import NIOCore
import Testing
import TributaryTestSupport

/// Helpers shared by the broker tests: an in-process router, the `tributary broker` child process,
/// and blocking work moved off the cooperative pool.
enum BrokerTestHarness {
    /// Runs `body` with a router over a fresh data directory.
    static func withRouter(_ body: (KafkaRequestRouter) async throws -> Void) async throws {
        let directory = try TemporaryDirectory(prefix: "tributary-router")
        defer { directory.remove() }
        var logger = Logger(label: "test.broker")
        logger.logLevel = .critical
        let handlers = BrokerHandlers(
            identity: .init(host: "127.0.0.1", port: 9092), store: InMemoryLogStore(), groups: nil, logger: logger)
        try await body(KafkaRequestRouter(broker: handlers, logger: logger))
    }

    /// `request` framed as a client sends it, without the 4-byte size prefix (what a router gets).
    static func requestFrame<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16, correlationId: Int32 = 42
    ) throws -> ByteBuffer {
        var buffer = try KafkaFrame.encodeRequest(
            request,
            header: KafkaRequestHeader(apiKey: Request.apiKey, apiVersion: version, correlationId: correlationId, clientId: "test"))
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer
    }

    /// Runs blocking `work` on a Dispatch thread, so waiting for a child process does not hold a
    /// thread of Swift's cooperative pool.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Whether `program` is on `PATH`.
    static func commandExists(_ program: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(program)") }
    }

    /// Whether `python3` can import kafka-python.
    static let hasKafkaPython: Bool = {
        guard commandExists("python3"),
            let result = try? TributaryProcess.run(executable: "python3", ["-c", "import kafka"])
        else { return false }
        return result.status == 0
    }()

    /// `<repo>/../shared/data/loghub`, found from this file's path.
    static var loghubDirectory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/data/loghub")
    }
}

/// A `tributary broker` child process on 127.0.0.1 with a port picked by the kernel.
final class BrokerProcess: @unchecked Sendable {
    let process = Process()
    let dataDirectory: String
    let stderrPath: String
    private(set) var port: Int = 0
    private let stdout = Pipe()

    /// `127.0.0.1:PORT`, for `kcat -b`.
    var bootstrap: String { "127.0.0.1:\(port)" }

    /// Starts the broker on `dataDirectory` (`extraArguments` appended) and waits for its ready line.
    init(dataDirectory: String, extraArguments: [String] = []) async throws {
        self.dataDirectory = dataDirectory
        self.stderrPath = dataDirectory + ".stderr.log"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = TributaryProcess.productsDirectory.appendingPathComponent("tributary")
        process.arguments = ["broker", "--listen", "127.0.0.1:0", "--data", dataDirectory] + extraArguments
        process.standardOutput = stdout
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Watchdog: a broker that neither prints its ready line nor exits within a minute is killed,
        // which ends the read below with EOF (a failure, not a hang).
        let watchdog = Self.watchdog(for: process)
        defer { watchdog.cancel() }
        let handle = stdout.fileHandleForReading
        // Blocks until the ready line arrives or the broker exits (EOF).
        let line = try await BrokerTestHarness.blocking { () -> String in
            var data = Data()
            while !data.contains(UInt8(ascii: "\n")) {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                data.append(chunk)
            }
            return String(decoding: data, as: UTF8.self)
        }
        let prefix = "tributary broker: listening on 127.0.0.1:"
        guard let readyLine = line.split(separator: "\n").first, readyLine.hasPrefix(prefix),
            let port = Int(readyLine.dropFirst(prefix.count))
        else {
            process.terminate()
            throw BrokerProcessError.notReady(stdout: line, stderr: self.stderr)
        }
        self.port = port
    }

    /// Kills `process` in 60 s unless cancelled first: waits on a child stay bounded.
    private static func watchdog(for process: Process) -> DispatchWorkItem {
        let item = DispatchWorkItem { [process] in
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: item)
        return item
    }

    /// What the broker logged so far.
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits for the exit; returns the status (128 + signal if killed).
    @discardableResult
    func stop(signal: Int32 = SIGTERM) async throws -> Int32 {
        kill(process.processIdentifier, signal)
        let process = self.process
        let watchdog = Self.watchdog(for: process)
        defer { watchdog.cancel() }
        return try await BrokerTestHarness.blocking {
            process.waitUntilExit()
            return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

enum BrokerProcessError: Error, CustomStringConvertible {
    case notReady(stdout: String, stderr: String)

    var description: String {
        switch self {
        case .notReady(let stdout, let stderr): "broker did not print its ready line; stdout: \(stdout)\nstderr: \(stderr)"
        }
    }
}

@Suite("Broker: process lifecycle", .serialized)
struct BrokerHarnessTests {
    @Test func printsReadyLineAndExitsZeroOnSIGTERM() async throws {
        let directory = try TemporaryDirectory(prefix: "tributary-broker")
        defer { directory.remove() }
        let broker = try await BrokerProcess(dataDirectory: directory.path + "/data")
        #expect(broker.port > 0)
        let status = try await broker.stop(signal: SIGTERM)
        #expect(status == 0, "stderr: \(broker.stderr)")
        #expect(broker.stderr.contains("shutting down"))
    }

    @Test func rejectsBadListenAddress() throws {
        let result = try TributaryProcess.run(["broker", "--listen", "nonsense", "--data", "/tmp/x"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("HOST:PORT"))
    }
}
