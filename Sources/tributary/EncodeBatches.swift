import ArgumentParser
import Glibc
import KafkaProtocol
import NIOCore

/// `tributary batch encode`: standard input's lines → Kafka record batches.
struct EncodeBatches: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Write each line of standard input as one record of Kafka v2 record batches.",
        discussion: """
            The line terminator (\\n or \\r\\n) is stripped; the record's timestamp is the time the \
            line was read. Batches are cut at --max-batch-bytes of uncompressed records.
            """
    )

    @Option(help: "Codec of the batches.")
    var compression: KafkaCompression = .lz4

    @Option(help: "Codec level (default: the codec's default).")
    var level: Int?

    @Option(help: "Cut a batch when its uncompressed records reach this many bytes.")
    var maxBatchBytes: Int = 1 << 20

    @Option(name: .shortAndLong, help: "Write here instead of standard output.")
    var output: String?

    func validate() throws {
        guard maxBatchBytes >= 1024 else { throw ValidationError("--max-batch-bytes must be at least 1024") }
    }

    func run() throws {
        let builder = try RecordBatchBuilder(compression: compression, compressionLevel: level)
        let writer = try output.map { try FileDescriptorWriter(path: $0) } ?? FileDescriptorWriter(fd: 1, name: "standard output")
        var batch = ByteBufferAllocator().buffer(capacity: maxBatchBytes + 4096)
        let input = LineReader(fd: 0, name: "standard input")

        func emit() throws {
            guard !builder.isEmpty else { return }
            batch.clear()
            try builder.finish(into: &batch)
            try batch.withUnsafeReadableBytes { try writer.write($0) }
        }
        while let (lines, timestamp) = try input.nextChunk() {
            try lines.forEachLine { line in
                let recordBytes = builder.encodedSize(
                    ofRecordWithTimestamp: timestamp, keyLength: nil, valueLength: line.count)
                if builder.sizeInBytes + recordBytes > maxBatchBytes { try emit() }
                builder.append(timestamp: timestamp, key: nil, value: line)
            }
            if writer.brokenPipe { break }
        }
        try emit()
        try writer.close()
    }
}

/// Reads a file descriptor in large chunks and hands out the complete lines of each chunk.
final class LineReader {
    private let fd: Int32
    private let name: String
    private var storage: UnsafeMutableRawBufferPointer
    /// Where the unfinished line at the end of the last chunk starts, and its length.
    private var partialStart = 0
    private var partialCount = 0
    private var atEnd = false

    init(fd: Int32, name: String, chunkBytes: Int = 1 << 20) {
        self.fd = fd
        self.name = name
        self.storage = .allocate(byteCount: chunkBytes, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// The next run of complete lines (the last line of the input even without a terminator) and
    /// the time in ms they were read; `nil` at the end. The view is valid until the next call.
    func nextChunk() throws -> (Lines, Int64)? {
        guard !atEnd else { return nil }
        // Move the unfinished line to the front; grow the buffer if it fills it entirely.
        if partialCount == storage.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: storage.count * 2, alignment: 16)
            bigger.copyMemory(from: UnsafeRawBufferPointer(storage))
            storage.deallocate()
            storage = bigger
        } else if partialCount > 0 && partialStart > 0 {
            memmove(storage.baseAddress!, storage.baseAddress! + partialStart, partialCount)
        }
        let carried = partialCount
        let n = try readFully(fd: fd, name: name, into: UnsafeMutableRawBufferPointer(rebasing: storage[carried...]))
        let filled = carried + n
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let nowMs = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        let bytes = UnsafeRawBufferPointer(rebasing: storage[..<filled])
        if n == 0 {
            atEnd = true
            return filled > 0 ? (Lines(bytes: bytes), nowMs) : nil
        }
        guard let lastNewline = bytes.lastIndex(of: UInt8(ascii: "\n")) else {
            (partialStart, partialCount) = (0, filled)
            return (Lines(bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<0])), nowMs)
        }
        (partialStart, partialCount) = (lastNewline + 1, filled - lastNewline - 1)
        return (Lines(bytes: UnsafeRawBufferPointer(rebasing: bytes[...lastNewline])), nowMs)
    }
}

/// A run of lines in borrowed memory.
struct Lines {
    let bytes: UnsafeRawBufferPointer

    /// Calls `body` with each line, its `\n` or `\r\n` terminator removed.
    func forEachLine(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard let base = bytes.baseAddress else { return }
        var start = 0
        let end = bytes.count
        while start < end {
            let found = memchr(base + start, Int32(UInt8(ascii: "\n")), end - start)
            let lineEnd = found.map { base.distance(to: UnsafeRawPointer($0)) } ?? end
            var contentEnd = lineEnd
            if contentEnd > start && bytes[contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
            try body(UnsafeRawBufferPointer(rebasing: bytes[start..<contentEnd]))
            start = lineEnd + 1
        }
    }
}
