import ArgumentParser
import Dispatch
import Foundation
import KafkaClient
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `tributary kafka produce`: every line of standard input becomes one record (the `\n` or
/// `\r\n` stripped), like `kcat -P`. Waits for every acknowledgement, prints a summary to
/// standard error and exits non-zero if any record failed.
struct KafkaProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Send each line of standard input as one record to a topic.")

    @OptionGroup var connection: KafkaConnectionOptions

    @Option(name: .long, help: "The topic to produce to.")
    var topic: String

    @Option(name: .long, help: "Batch compression: none, gzip, snappy, lz4 or zstd.")
    var compression: String = "none"

    @Option(name: .customLong("compression-level"), help: "The codec's level (default: the codec's default).")
    var compressionLevel: Int?

    @Option(name: .long, help: "Key of every record (default: no key; records spread over partitions).")
    var key: String?

    @Option(name: .long, help: "Partition of every record (default: by key, or sticky without a key).")
    var partition: Int32?

    @Option(name: .customLong("linger-ms"), help: "How long a batch waits for more records, in ms.")
    var lingerMs: Int = 5

    @Option(name: .customLong("batch-bytes"), help: "Largest batch, in bytes before compression.")
    var batchBytes: Int = 1_000_000

    @Option(name: .long, help: "Acknowledgements: all (idempotent), 1 or 0.")
    var acks: String = "all"

    @Option(name: .customLong("delivery-timeout-ms"), help: "Give up on a record not acknowledged after this many ms.")
    var deliveryTimeoutMs: Int = 120_000

    func validate() throws {
        guard Self.compressionByName[compression.lowercased()] != nil else {
            throw ValidationError("--compression must be none, gzip, snappy, lz4 or zstd, got '\(compression)'")
        }
        guard ["all", "-1", "1", "0"].contains(acks) else {
            throw ValidationError("--acks must be all, 1 or 0, got '\(acks)'")
        }
        guard lingerMs >= 0 else { throw ValidationError("--linger-ms must not be negative") }
        guard deliveryTimeoutMs > 0 else { throw ValidationError("--delivery-timeout-ms must be positive") }
        if let partition, partition < 0 { throw ValidationError("--partition must not be negative") }
    }

    static let compressionByName: [String: KafkaCompression] = [
        "none": .none, "gzip": .gzip, "snappy": .snappy, "lz4": .lz4, "zstd": .zstd,
    ]

    func producerConfiguration() -> KafkaProducerConfiguration {
        var configuration = KafkaProducerConfiguration()
        configuration.compression = Self.compressionByName[compression.lowercased()] ?? .none
        configuration.compressionLevel = compressionLevel
        configuration.linger = .milliseconds(lingerMs)
        configuration.maxBatchBytes = max(batchBytes, 128)
        configuration.bufferBytes = max(32 << 20, 4 * configuration.maxBatchBytes)
        configuration.deliveryTimeout = .milliseconds(deliveryTimeoutMs)
        switch acks {
        case "0":
            configuration.acks = .none
            configuration.idempotent = false
        case "1":
            configuration.acks = .leader
            configuration.idempotent = false
        default:
            configuration.acks = .all
        }
        return configuration
    }

    func run() async throws {
        let tally = ProduceTally()
        let start = ContinuousClock.now
        let lines: Int
        let bytes: Int
        do {
            (lines, bytes) = try await connection.withCluster { cluster in
                let producer = try KafkaProducer(
                    cluster: cluster, configuration: producerConfiguration(), onDelivery: tally.record)
                do {
                    let counts = try await sendStandardInput(to: producer)
                    await producer.close()
                    return counts
                } catch {
                    await producer.close()
                    throw error
                }
            }
        } catch let error as KafkaProducerError {
            throw ValidationError("produce to \(topic): \(error.message)")
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let summary = tally.summary
        var message = "tributary kafka produce: \(summary.delivered) of \(lines) records (\(bytes) bytes) acknowledged by \(topic)"
        message += String(format: " in %.2f s (%.1f MB/s)", seconds, Double(bytes) / 1e6 / max(seconds, 1e-9))
        if summary.failed > 0 {
            message += "; \(summary.failed) failed, first error: \(summary.firstError ?? "unknown")"
        }
        writeStandardError(message + "\n")
        if summary.failed > 0 || summary.delivered != lines { throw ExitCode(1) }
    }

    /// Reads standard input in large chunks and sends each line as a slice of the chunk.
    private func sendStandardInput(to producer: KafkaProducer) async throws -> (lines: Int, bytes: Int) {
        let reader = StandardInputReader()
        var buffer = ByteBufferAllocator().buffer(capacity: 1 << 20)
        let recordKey = key.map { ByteBuffer(string: $0) }
        // Option values read once: each property-wrapper read costs more than sending a line.
        let topic = topic
        let partition = partition
        var lines = 0
        var bytes = 0
        var atEnd = false
        while !atEnd {
            if buffer.writableBytes < 64 << 10 {
                buffer.discardReadBytes()
                if buffer.writableBytes < 64 << 10 { buffer.reserveCapacity(minimumWritableBytes: buffer.capacity) }
            }
            atEnd = try await reader.read(into: &buffer) == 0
            let timestamp = Self.nowMilliseconds()
            while let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                var length = newline - buffer.readerIndex
                let lineLength = length
                if length > 0, buffer.getInteger(at: newline - 1, as: UInt8.self) == UInt8(ascii: "\r") { length -= 1 }
                let value = buffer.getSlice(at: buffer.readerIndex, length: length)
                buffer.moveReaderIndex(forwardBy: lineLength + 1)
                // The synchronous path first: an await per line costs more than the append.
                if try producer.trySend(
                    topic: topic, partition: partition, key: recordKey, value: value, timestamp: timestamp,
                    token: UInt64(lines)) != nil
                {
                    try await producer.send(
                        topic: topic, partition: partition, key: recordKey, value: value, timestamp: timestamp,
                        token: UInt64(lines))
                }
                lines += 1
                bytes += length
            }
            if atEnd && buffer.readableBytes > 0 {
                // A last line without a terminator is still a record.
                var length = buffer.readableBytes
                if buffer.getInteger(at: buffer.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\r") { length -= 1 }
                let value = buffer.getSlice(at: buffer.readerIndex, length: length)
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                try await producer.send(
                    topic: topic, partition: partition, key: recordKey, value: value, timestamp: timestamp,
                    token: UInt64(lines))
                lines += 1
                bytes += length
            }
        }
        await producer.flush()
        return (lines, bytes)
    }

    static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    private func writeStandardError(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }
}

/// Counts delivered and failed records from delivery reports.
final class ProduceTally: Sendable {
    struct Summary {
        var delivered = 0
        var failed = 0
        var firstError: String?
    }

    private let state = NIOLockedValueBox(Summary())

    func record(_ report: KafkaProducerDeliveryReport) {
        state.withLockedValue { summary in
            switch report.result {
            case .success:
                summary.delivered += report.tokens.count
            case .failure(let error):
                summary.failed += report.tokens.count
                if summary.firstError == nil { summary.firstError = error.message }
            }
        }
    }

    var summary: Summary { state.withLockedValue { $0 } }
}

/// Reads standard input on a Dispatch thread, so a slow pipe never blocks a thread of the
/// cooperative pool (where the producer's sender runs).
struct StandardInputReader {
    private let queue = DispatchQueue(label: "tributary.stdin")

    /// Appends up to the buffer's writable bytes; returns the count read (0 at end of input).
    func read(into buffer: inout ByteBuffer) async throws -> Int {
        // The buffer moves to the Dispatch thread and back (no copy: ours is released meanwhile,
        // so its storage stays uniquely referenced).
        let lent = buffer
        buffer = ByteBuffer()
        let (returned, count): (ByteBuffer, Int) = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                var chunk = lent
                var failure: Int32 = 0
                let count = chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { writable in
                    while true {
                        let count = Glibc.read(0, writable.baseAddress, writable.count)
                        if count < 0 && errno == EINTR { continue }
                        if count < 0 { failure = errno }
                        return max(count, 0)
                    }
                }
                if failure != 0 {
                    continuation.resume(throwing: ValidationError("cannot read standard input: errno \(failure)"))
                } else {
                    continuation.resume(returning: (chunk, count))
                }
            }
        }
        buffer = returned
        return count
    }
}
