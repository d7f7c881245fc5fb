import Agent
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import TributaryTestSupport

/// Log messages captured in memory, so tests can assert what the agent reported.
final class CapturedLog: Sendable {
    private let entries = NIOLockedValueBox<[(Logger.Level, String)]>([])

    var logger: Logger {
        var logger = Logger(label: "agent-test") { _ in CapturedLogHandler(log: self) }
        logger.logLevel = .debug
        return logger
    }

    func append(_ level: Logger.Level, _ message: String) { entries.withLockedValue { $0.append((level, message)) } }

    var messages: [(level: Logger.Level, message: String)] { entries.withLockedValue { $0.map { ($0.0, $0.1) } } }

    func errors(containing text: String) -> [String] {
        messages.filter { $0.level >= .error && $0.message.contains(text) }.map(\.message)
    }
}

struct CapturedLogHandler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        log.append(level, message.description)
    }
}

/// A file input over a temporary directory with an in-memory sink, polled by the test.
final class FileInputHarness {
    let directory: TemporaryDirectory
    let stateDirectory: String
    let log = CapturedLog()
    let inbox = AcknowledgementInbox()
    let sink: InMemorySink
    var input: FileInput
    var configuration: FileInputConfiguration
    let maxInFlightBytes: Int

    init(
        paths: [String], directory: TemporaryDirectory? = nil, autoAcknowledge: Bool = true,
        maxInFlightBytes: Int = 16 << 20, chunkSize: Int = 64 * 1024,
        configure: (inout FileInputConfiguration) -> Void = { _ in }
    ) throws {
        let directory = try directory ?? TemporaryDirectory(prefix: "agent-files")
        self.directory = directory
        stateDirectory = "\(directory.path)/state"
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        var configuration = FileInputConfiguration(topic: "logs", paths: paths.map { "\(directory.path)/\($0)" })
        configuration.startAt = .beginning
        configuration.partialLineTimeout = .milliseconds(40)
        configuration.rescanInterval = .milliseconds(20)
        configure(&configuration)
        self.configuration = configuration
        self.maxInFlightBytes = maxInFlightBytes
        sink = InMemorySink(acknowledgements: inbox, autoAcknowledge: autoAcknowledge)
        input = FileInput(
            configuration: configuration, inputIndex: 0, stateDirectory: stateDirectory, sink: sink,
            acknowledgements: inbox, maxInFlightBytes: maxInFlightBytes, logger: log.logger, chunkSize: chunkSize)
    }

    /// Stops the input (saving positions) and starts a new one over the same state, as a restart would.
    func restart(forgetSink: Bool = false) {
        input.shutdown()
        if forgetSink { sink.reset() }
        input = FileInput(
            configuration: configuration, inputIndex: 0, stateDirectory: stateDirectory, sink: sink,
            acknowledgements: inbox, maxInFlightBytes: maxInFlightBytes, logger: log.logger)
    }

    func path(_ name: String) -> String { "\(directory.path)/\(name)" }

    /// Polls until `condition` holds or `timeout` passes; returns whether it held.
    @discardableResult
    func poll(until condition: () -> Bool, timeout: Duration = .seconds(10)) -> Bool {
        repeatPolling({ input.poll() }, until: condition, timeout: timeout)
    }

    /// Polls until `count` events arrived in total.
    @discardableResult
    func poll(untilEvents count: Int, timeout: Duration = .seconds(10)) -> Bool {
        poll(until: { sink.events.count >= count }, timeout: timeout)
    }

    /// Values of every event received, as strings (lossy for binary).
    var values: [String] { sink.events.map { String(decoding: $0.value.readableBytesView, as: UTF8.self) } }

    deinit {
        input.shutdown()
        directory.remove()
    }
}

/// Runs `poll` until `condition` holds or `timeout` passes (2 ms between rounds); returns whether it held.
func repeatPolling(_ poll: () -> Void, until condition: () -> Bool, timeout: Duration) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        poll()
        if condition() { return true }
        usleep(2000)
    }
    poll()
    return condition()
}

/// Appends to and rewrites files as applications and logrotate do.
enum LogWriter {
    static func append(_ path: String, _ text: String) throws {
        try append(path, Array(text.utf8))
    }

    static func append(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        try write(fd, bytes)
    }

    static func write(_ fd: Int32, _ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            guard count > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            done += count
        }
    }

    static func truncate(_ path: String) throws {
        guard Glibc.truncate(path, 0) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    /// copytruncate: copy the file's bytes to `copy`, then truncate the original to 0.
    static func copyTruncate(_ path: String, to copy: String) throws {
        let bytes = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
        _ = unlink(copy)
        try append(copy, bytes)
        try truncate(path)
    }

    static func inode(_ path: String) -> UInt64? {
        // FileManager rather than stat(2): which module owns `struct stat` depends on the test target's
        // import order (Glibc or CoreFoundation's copy), which broke the build after a merge.
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let number = attributes[.systemFileNumber] as? NSNumber
        else { return nil }
        return number.uint64Value
    }
}

/// Checks every event arrived exactly once and that origins chain within each stream: each event starts where
/// the previous one of its stream ended, so every byte has one origin.
func deliveryProblems(events: [LineEvent], written: [String]) -> [String] {
    var problems: [String] = []
    var expected: [String: Int] = [:]
    for line in written { expected[line, default: 0] += 1 }
    var received: [String: Int] = [:]
    for event in events { received[String(decoding: event.value.readableBytesView, as: UTF8.self), default: 0] += 1 }
    for (line, count) in expected where received[line] != count {
        problems.append("\"\(line)\" written \(count)x, received \(received[line] ?? 0)x")
    }
    for (line, count) in received where expected[line] == nil {
        problems.append("\"\(line)\" received \(count)x, never written")
    }
    var origins = Set<EventOrigin>()
    var lastEnd: [StreamID: UInt64] = [:]
    for event in events {
        if !origins.insert(event.origin).inserted { problems.append("origin \(event.origin) sent twice") }
        if let end = lastEnd[event.origin.stream], end != event.origin.offset {
            problems.append("stream \(event.origin.stream): event at \(event.origin.offset) follows one ending at \(end)")
        }
        lastEnd[event.origin.stream] = event.endOffset
    }
    return Array(problems.prefix(20))
}
