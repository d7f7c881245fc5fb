import ArgumentParser
import Glibc
import KafkaProtocol
import NIOCore

/// `tributary batch dump`: print and check the record batches of files, like `kafka-dump-log.sh`.
struct DumpBatches: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print and check the Kafka v2 record batches in files.",
        discussion: """
            Reads concatenated record batches (a Kafka partition's .log segment, or the output of \
            `tributary batch encode`), verifies each batch's CRC-32C and decodes its records. \
            Exits 1 if any batch is corrupt or a file ends inside a batch.
            """
    )

    @Flag(help: "Print every record's offset, timestamp, key, headers and value.")
    var printData = false

    @Argument(help: "Files of record batches.")
    var files: [String]

    func run() throws {
        let out = FileDescriptorWriter(fd: 1, name: "standard output")
        var totals = Totals()
        var clean = true
        for path in files {
            clean = try dump(path: path, to: out, totals: &totals) && clean
            if out.brokenPipe { return }
        }
        try out.write(
            "batches: \(totals.batches) records: \(totals.records) batch bytes: \(totals.batchBytes) "
                + "value bytes: \(totals.valueBytes) corrupt: \(totals.corrupt)\n")
        try out.close()
        if !clean { throw ExitCode(1) }
    }

    private struct Totals {
        var batches = 0, records = 0, batchBytes = 0, valueBytes = 0, corrupt = 0
    }

    /// Streams one file through a `RecordBatchReader` in chunks; returns false if it found damage.
    private func dump(path: String, to out: FileDescriptorWriter, totals: inout Totals) throws -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileIOError(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let decompressor = RecordBatchDecompressor()
        var pending = ByteBufferAllocator().buffer(capacity: 8 << 20)
        var position = 0  // file offset of pending's first byte
        var atEnd = false
        while !atEnd {
            // Refill: keep what is left of a cut-off batch and read more behind it.
            pending.discardReadBytes()
            let want = max(8 << 20, pending.readableBytes)
            let n = try pending.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { space in
                try readFully(fd: fd, name: path, into: UnsafeMutableRawBufferPointer(rebasing: space[..<want]))
            }
            atEnd = n < want
            var reader = RecordBatchReader(pending)
            do {
                while let batch = try reader.next() {
                    try printBatch(batch, position: position, decompressor: decompressor, out: out, totals: &totals)
                    position += batch.size
                    if out.brokenPipe { return true }
                }
            } catch {
                totals.corrupt += 1
                FileHandleStderr.write("tributary: \(path): byte \(position): \(error)\n")
                return false
            }
            pending.moveReaderIndex(forwardBy: pending.readableBytes - reader.remaining.readableBytes)
        }
        if pending.readableBytes > 0 {
            totals.corrupt += 1
            FileHandleStderr.write(
                "tributary: \(path): byte \(position): file ends inside a batch (\(pending.readableBytes) bytes)\n")
            return false
        }
        return true
    }

    private func printBatch(
        _ batch: RecordBatch, position: Int, decompressor: RecordBatchDecompressor,
        out: FileDescriptorWriter, totals: inout Totals
    ) throws {
        let h = batch.header
        totals.batches += 1
        totals.batchBytes += batch.size
        try out.write(
            "baseOffset: \(h.baseOffset) lastOffset: \(h.lastOffset) count: \(h.recordsCount) "
                + "baseSequence: \(h.baseSequence) producerId: \(h.producerId) producerEpoch: \(h.producerEpoch) "
                + "partitionLeaderEpoch: \(h.partitionLeaderEpoch) isTransactional: \(h.attributes.isTransactional) "
                + "isControl: \(h.attributes.isControl) position: \(position) "
                + "\(h.attributes.timestampType == .createTime ? "CreateTime" : "LogAppendTime"): \(h.maxTimestamp) "
                + "size: \(batch.size) compresscodec: \(h.attributes.compression) crc: \(h.crc) isvalid: true\n")
        for record in try batch.records(decompressor: decompressor) {
            totals.records += 1
            totals.valueBytes += record.value?.readableBytes ?? 0
            guard printData else { continue }
            var line = "| offset: \(record.offset) timestamp: \(record.timestamp) "
                + "keySize: \(record.key?.readableBytes ?? -1) valueSize: \(record.value?.readableBytes ?? -1)"
            if !record.headers.isEmpty {
                line += " headers: " + record.headers.map { header in
                    "\(header.keyString)=\(header.value.map { String(buffer: $0) } ?? "null")"
                }.joined(separator: ",")
            }
            if let key = record.key { line += " key: \(String(buffer: key))" }
            line += " payload: "
            try out.write(line)
            if let value = record.value {
                try value.withUnsafeReadableBytes { try out.write($0) }
            }
            try out.write("\n")
        }
    }
}

/// Unbuffered diagnostics on standard error.
enum FileHandleStderr {
    static func write(_ message: String) {
        var message = message
        message.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }
}
