import Foundation
import Testing
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif
#if canImport(CNIOLinux)
import CNIOLinux  // where this module's view of sockaddr_in comes from once NIOPosix is imported
#endif

/// Interop with kcat (librdkafka), an independent Kafka client, against `tributary broker`.
@Suite("Kcat interop", .serialized, .enabled(if: BrokerTestHarness.commandExists("kcat"), "kcat is not installed"))
struct KcatTests {
    /// Runs kcat (under `timeout`, so a hang fails instead of blocking the run).
    static func kcat(_ arguments: [String], stdin: Data = Data(), seconds: Int = 60) async throws -> TributaryProcess.Result {
        try await BrokerTestHarness.blocking {
            try TributaryProcess.run(executable: "timeout", [String(seconds), "kcat"] + arguments, stdin: stdin)
        }
    }

    /// Every loghub sample log, concatenated, as lines of bytes without the `\n` (a `\r` of a
    /// CRLF file stays: kcat splits on `\n` only). Empty lines are dropped (kcat skips them).
    static func loghubLines() throws -> [Line] {
        let directory = BrokerTestHarness.loghubDirectory
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".log") }.sorted()
        var lines: [Line] = []
        for name in names {
            let bytes = try Data(contentsOf: directory.appendingPathComponent(name))
            lines += Self.split(bytes).filter { !$0.isEmpty }
        }
        return lines
    }

    typealias Line = [UInt8]

    static func split(_ data: Data) -> [Line] {
        data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { Array($0) }
    }

    static func joined(_ lines: some Sequence<Line>) -> Data {
        var data = Data()
        for line in lines {
            data.append(contentsOf: line)
            data.append(UInt8(ascii: "\n"))
        }
        return data
    }

    /// Whether `consumed` equals `expected`; records the first difference (not the whole arrays).
    static func expectSame(_ consumed: [Line], _ expected: [Line], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard consumed != expected else { return }
        let index = zip(consumed, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(consumed.count, expected.count)
        Issue.record(
            "\(what): consumed \(consumed.count) records, expected \(expected.count); first difference at \(index)",
            sourceLocation: sourceLocation)
    }

    /// Produces `lines` with `kcat -P` (acks=all) and requires exit 0 (every message delivered).
    static func produce(_ lines: [Line], topic: String, broker: BrokerProcess, codec: String = "none") async throws {
        let input = joined(lines)
        let result = try await kcat(
            ["-b", broker.bootstrap, "-P", "-t", topic, "-z", codec, "-X", "acks=all"], stdin: input)
        #expect(result.status == 0, "kcat -P failed: \(result.stderr)\nbroker: \(broker.stderr)")
    }

    /// Consumes `topic` from the beginning to the end of every partition.
    static func consume(topic: String, broker: BrokerProcess, partition: Int? = nil) async throws -> [Line] {
        var arguments = ["-b", broker.bootstrap, "-C", "-t", topic, "-e", "-o", "beginning", "-q"]
        if let partition { arguments += ["-p", String(partition)] }
        let result = try await kcat(arguments)
        #expect(result.status == 0, "kcat -C failed: \(result.stderr)\nbroker: \(broker.stderr)")
        return split(result.stdout).dropLast()
    }

    @Test func listsBrokerAndTopics() async throws {
        let directory = try TemporaryDirectory(prefix: "tributary-kcat")
        defer { directory.remove() }
        let broker = try await BrokerProcess(dataDirectory: directory.path + "/data", extraArguments: ["--partitions", "3"])
        try await Self.produce([Array("hello".utf8), Array("world".utf8)], topic: "listed", broker: broker)
        let result = try await Self.kcat(["-b", broker.bootstrap, "-L"])
        #expect(result.status == 0)
        #expect(result.stdoutString.contains("broker 0 at 127.0.0.1:\(broker.port) (controller)"), "\(result.stdoutString)")
        #expect(result.stdoutString.contains("topic \"listed\" with 3 partitions"), "\(result.stdoutString)")
        #expect(try await broker.stop() == 0)
    }

    @Test(arguments: ["none", "gzip", "snappy", "lz4", "zstd"])
    func roundTripIsByteIdenticalAndOrdered(codec: String) async throws {
        let directory = try TemporaryDirectory(prefix: "tributary-kcat")
        defer { directory.remove() }
        let broker = try await BrokerProcess(dataDirectory: directory.path + "/data")
        let lines = try Self.loghubLines()
        #expect(lines.count > 10_000)
        try await Self.produce(lines, topic: "logs-\(codec)", broker: broker, codec: codec)
        let consumed = try await Self.consume(topic: "logs-\(codec)", broker: broker)
        Self.expectSame(consumed, lines, "codec \(codec)")
        #expect(try await broker.stop() == 0, "\(broker.stderr)")
    }

    @Test func misbehavingClientsDoNotDisturbOthers() async throws {
        let directory = try TemporaryDirectory(prefix: "tributary-kcat")
        defer { directory.remove() }
        let broker = try await BrokerProcess(
            dataDirectory: directory.path + "/data",
            extraArguments: ["--connections-max-idle-ms", "1000", "--max-request-bytes", "1048576"])
        let silent = try RawClient(port: broker.port)
        let garbage = try RawClient(port: broker.port)
        let huge = try RawClient(port: broker.port)
        let negative = try RawClient(port: broker.port)
        let unknownAPI = try RawClient(port: broker.port)
        try garbage.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        try huge.send([0x7f, 0xff, 0xff, 0xff])  // a 2 GiB frame: refused from the size alone
        try negative.send([0xff, 0xff, 0xff, 0xfe])
        try unknownAPI.send([0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff])

        // A well-behaved client meanwhile.
        let lines = Array(try Self.loghubLines().prefix(3000))
        try await Self.produce(lines, topic: "calm", broker: broker, codec: "lz4")
        Self.expectSame(try await Self.consume(topic: "calm", broker: broker), lines, "well-behaved client")

        // Each bad client was disconnected (the silent one by the idle timeout).
        for (name, client) in [("garbage", garbage), ("huge", huge), ("negative", negative), ("unknown API", unknownAPI), ("silent", silent)] {
            let closed = try await BrokerTestHarness.blocking { client.waitUntilClosed() }
            #expect(closed, "\(name) client was not disconnected")
        }
        let log = broker.stderr
        #expect(log.contains("exceeds the maximum of 1048576 bytes"), "\(log)")
        #expect(log.contains("is negative"))
        #expect(log.contains("closing idle connection"))
        #expect(log.contains("undecodable request"))
        #expect(try await broker.stop() == 0)
    }

    @Test func sigtermThenRestartKeepsData() async throws {
        let directory = try TemporaryDirectory(prefix: "tributary-kcat")
        defer { directory.remove() }
        let data = directory.path + "/data"
        let lines = Array(try Self.loghubLines().prefix(5000))
        let first = try await BrokerProcess(dataDirectory: data)
        try await Self.produce(lines, topic: "kept", broker: first, codec: "zstd")
        #expect(try await first.stop(signal: SIGTERM) == 0, "\(first.stderr)")
        let second = try await BrokerProcess(dataDirectory: data)
        Self.expectSame(try await Self.consume(topic: "kept", broker: second), lines, "after restart")
        #expect(try await second.stop(signal: SIGINT) == 0, "\(second.stderr)")
    }

    @Test func kill9KeepsEverythingAcknowledged() async throws {
        let directory = try TemporaryDirectory(prefix: "tributary-kcat")
        defer { directory.remove() }
        let data = directory.path + "/data"
        let all = try Self.loghubLines()
        var acknowledged: [Line] = []
        for round in 0..<3 {
            let broker = try await BrokerProcess(dataDirectory: data)
            // What was acknowledged before survives every crash so far.
            if round > 0 {
                Self.expectSame(try await Self.consume(topic: "acked", broker: broker), acknowledged, "round \(round)")
            }
            let lines = Array(all[(round * 3000)..<((round + 1) * 3000)])
            try await Self.produce(lines, topic: "acked", broker: broker, codec: "gzip")
            acknowledged += lines
            // A second producer is still streaming when the broker is killed.
            let streaming = try StreamingKcat(arguments: ["-b", broker.bootstrap, "-P", "-t", "inflight", "-X", "acks=all"])
            try streaming.write(Self.joined(all.prefix(2000)))
            #expect(try await broker.stop(signal: SIGKILL) == 128 + SIGKILL)
            streaming.finish()
        }
        let broker = try await BrokerProcess(dataDirectory: data)
        Self.expectSame(try await Self.consume(topic: "acked", broker: broker), acknowledged, "after the last crash")
        #expect(try await broker.stop() == 0)
    }
    @Test func twoGroupMembersSplitFourPartitions() async throws {
        let directory = try TemporaryDirectory(prefix: "tributary-kcat")
        defer { directory.remove() }
        // The default initial rebalance delay (3 s) lets both members into the first generation.
        let broker = try await BrokerProcess(dataDirectory: directory.path + "/data", extraArguments: ["--partitions", "4"])
        var expected: [Int: [Line]] = [:]
        for partition in 0..<4 {
            let lines = (0..<500).map { Array("p\(partition)-line-\($0)".utf8) }
            expected[partition] = lines
            let result = try await Self.kcat(
                ["-b", broker.bootstrap, "-P", "-t", "split", "-p", String(partition), "-X", "acks=all"],
                stdin: Self.joined(lines))
            #expect(result.status == 0, "\(result.stderr)")
        }
        // Each member exits (-e) once every partition assigned to it is at its end.
        let member = ["-b", broker.bootstrap, "-G", "splitters", "split", "-e", "-f", "%p %s\\n", "-X", "auto.offset.reset=earliest"]
        async let first = Self.kcat(member)
        async let second = Self.kcat(member)
        let results = try await [first, second]
        var seenPartitions: [Set<Int>] = []
        var consumed: [Int: [Line]] = [:]
        for result in results {
            #expect(result.status == 0, "kcat -G failed: \(result.stderr)\nbroker: \(broker.stderr)")
            var partitions = Set<Int>()
            for line in Self.split(result.stdout).dropLast() {
                let space = line.firstIndex(of: UInt8(ascii: " "))!
                let partition = Int(String(decoding: line[..<space], as: UTF8.self))!
                partitions.insert(partition)
                consumed[partition, default: []].append(Array(line[(space + 1)...]))
            }
            seenPartitions.append(partitions)
        }
        #expect(seenPartitions.map(\.count) == [2, 2], "assignments: \(seenPartitions)")
        #expect(seenPartitions[0].isDisjoint(with: seenPartitions[1]))
        for partition in 0..<4 {
            Self.expectSame(consumed[partition] ?? [], expected[partition]!, "partition \(partition)")
        }
        #expect(try await broker.stop() == 0)
    }
    @Test func thirdMemberJoiningRebalancesWithoutLoss() async throws {
        let directory = try TemporaryDirectory(prefix: "tributary-kcat")
        defer { directory.remove() }
        let broker = try await BrokerProcess(
            dataDirectory: directory.path + "/data",
            extraArguments: ["--partitions", "4", "--group-initial-rebalance-delay-ms", "0"])
        func produce(_ range: Range<Int>) async throws {
            for partition in 0..<4 {
                let lines = range.map { Array("p\(partition)-\($0)".utf8) }
                let result = try await Self.kcat(
                    ["-b", broker.bootstrap, "-P", "-t", "grow", "-p", String(partition), "-X", "acks=all"],
                    stdin: Self.joined(lines))
                #expect(result.status == 0, "\(result.stderr)")
            }
        }
        let member = [
            "-b", broker.bootstrap, "-G", "growing", "grow", "-u", "-f", "%s\\n", "-X", "auto.offset.reset=earliest",
            "-X", "auto.commit.interval.ms=100",
        ]
        try await produce(0..<300)
        let first = try KcatConsumer(arguments: member)
        let second = try KcatConsumer(arguments: member)
        defer { first.stop(); second.stop() }
        let everything: @Sendable () -> Set<String> = { Set(first.lines + second.lines) }
        // Both members together see all 1200 records.
        #expect(try await BrokerTestHarness.blocking { KcatConsumer.wait { everything().count == 1200 } }, "\(broker.stderr)")
        let third = try KcatConsumer(arguments: member)
        defer { third.stop() }
        // The third member is given partitions by a rebalance ...
        #expect(try await BrokerTestHarness.blocking { KcatConsumer.wait { third.stderr.contains("assigned: grow") } })
        try await produce(300..<600)
        // ... and nothing produced afterwards is lost (duplicates are allowed: at least once).
        let all: @Sendable () -> Set<String> = { Set(first.lines + second.lines + third.lines) }
        #expect(try await BrokerTestHarness.blocking { KcatConsumer.wait { all().count == 2400 } }, "\(broker.stderr)")
        #expect(try await broker.stop() == 0)
    }
}

/// A long-running `kcat -G` member whose output is collected as it arrives.
final class KcatConsumer: @unchecked Sendable {
    private let process = Process()
    private let lock = NSCondition()
    private var output: [Data] = [Data(), Data()]
    private static let changed = NSCondition()

    init(arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["kcat"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        for (index, pipe) in [out, err].enumerated() {
            pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                guard let self, !data.isEmpty else { handle.readabilityHandler = nil; return }
                self.lock.lock(); self.output[index].append(data); self.lock.unlock()
                Self.changed.lock(); Self.changed.broadcast(); Self.changed.unlock()
            }
        }
        try process.run()
    }

    /// Complete lines written to stdout so far.
    var lines: [String] {
        lock.lock(); defer { lock.unlock() }
        var text = String(decoding: output[0], as: UTF8.self)
        if let last = text.lastIndex(of: "\n") { text = String(text[...last]) } else { text = "" }
        return text.split(separator: "\n").map(String.init)
    }

    var stderr: String {
        lock.lock(); defer { lock.unlock() }
        return String(decoding: output[1], as: UTF8.self)
    }

    /// Blocks until `condition` holds (re-checked whenever any consumer writes) or 60 s pass.
    static func wait(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(60)
        changed.lock(); defer { changed.unlock() }
        while !condition() {
            if !changed.wait(until: deadline) { return condition() }
        }
        return true
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
    }
}

/// A kcat producer fed through a pipe, to be interrupted mid-stream.
final class StreamingKcat: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()

    init(arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["kcat"] + arguments
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func write(_ data: Data) throws { try input.fileHandleForWriting.write(contentsOf: data) }

    /// Kills kcat (its broker is gone; it would retry for minutes).
    func finish() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// A plain TCP client for sending bytes no Kafka client would.
final class RawClient: @unchecked Sendable {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
        // Bound every wait: a broker that never closes fails the test instead of hanging it.
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ bytes: [UInt8]) throws {
        guard Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw POSIXError(.EIO) }
    }

    /// Reads exactly `count` bytes; `nil` if the connection closes first or 30 s pass.
    func receive(_ count: Int) -> [UInt8]? {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: max(count, 1))
        while result.count < count {
            let n = recv(fd, &buffer, count - result.count, 0)
            if n <= 0 { return nil }
            result += buffer[..<n]
        }
        return result
    }

    /// Reads one size-prefixed frame and returns its body.
    func receiveFrame() -> [UInt8]? {
        guard let size = receive(4) else { return nil }
        let length = size.reduce(0) { $0 << 8 | Int($1) }
        return receive(length)
    }

    /// Blocks until the peer closes the connection (true) or 30 s pass (false).
    func waitUntilClosed() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }

    deinit { close(fd) }
}
