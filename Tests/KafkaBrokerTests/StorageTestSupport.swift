import Foundation
@testable import KafkaBroker
import KafkaProtocol
import Logging
import NIOCore
import Testing
import TributaryTestSupport

/// A data directory with a LogManager, removed at the end of the test.
final class StorageFixture {
    let directory: TemporaryDirectory
    var configuration: LogManager.Configuration

    init(indexIntervalBytes: Int = 4096, scanChunkBytes: Int = 1 << 20) throws {
        directory = try TemporaryDirectory(prefix: "tributary-storage")
        configuration = LogManager.Configuration(dataDirectory: directory.path + "/data")
        configuration.indexIntervalBytes = indexIntervalBytes
        configuration.scanChunkBytes = scanChunkBytes
    }

    deinit { directory.remove() }

    var dataPath: String { configuration.dataDirectory }

    func open() throws -> LogManager {
        try LogManager(configuration: configuration, logger: Logger(label: "test.storage", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// Opens a manager and creates `topic` with one partition and `configs`.
    func openWithTopic(_ topic: String = "logs", configs: [String: String] = [:]) throws -> (LogManager, PartitionLog) {
        let manager = try open()
        try manager.createTopic(name: topic, partitions: 1, configs: configs)
        return (manager, try #require(manager.partition(topic: topic, index: 0)))
    }
}

/// Record batches for tests.
enum TestBatches {
    /// One uncompressed batch of `count` records with values `"\(prefix)-\(i)"` and timestamps
    /// `timestamp + i`.
    static func make(
        count: Int, prefix: String = "v", timestamp: Int64 = 1_000, compression: KafkaCompression = .none,
        producerID: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1, valueSize: Int = 0
    ) throws -> ByteBuffer {
        let builder = try RecordBatchBuilder(compression: compression)
        builder.producerId = producerID
        builder.producerEpoch = producerEpoch
        builder.baseSequence = baseSequence
        for i in 0..<count {
            var value = "\(prefix)-\(i)"
            if value.utf8.count < valueSize { value += String(repeating: "x", count: valueSize - value.utf8.count) }
            builder.append(timestamp: timestamp + Int64(i), key: nil, value: ByteBuffer(string: value))
        }
        return try builder.finish()
    }

    /// Every record of the batches in `buffer`: (offset, value, timestamp).
    static func records(_ buffer: ByteBuffer) throws -> [(offset: Int64, value: String, timestamp: Int64)] {
        var reader = RecordBatchReader(buffer)
        var result: [(Int64, String, Int64)] = []
        while let batch = try reader.next() {
            for record in try batch.records() {
                result.append((record.offset, record.value.map { String(buffer: $0) } ?? "", record.timestamp))
            }
        }
        #expect(!reader.stoppedEarly, "read returned a partial batch")
        return result
    }

    /// Headers of the batches in `buffer`.
    static func headers(_ buffer: ByteBuffer) throws -> [RecordBatchHeader] {
        var reader = RecordBatchReader(buffer)
        return try reader.readAll().map(\.header)
    }
}

extension PartitionLog {
    /// Appends and waits until durable (acks = -1).
    @discardableResult
    func appendDurably(_ records: ByteBuffer, now: Int64 = 1_000) async throws -> AppendResult {
        let result = try append(records, now: now)
        try await waitDurable(through: result.lastOffset)
        return result
    }

    /// Reads everything from `offset` to the high watermark, batch after batch.
    func readAll(from offset: Int64 = 0, maxBytes: Int = 1 << 20) throws -> [(offset: Int64, value: String, timestamp: Int64)] {
        var result: [(Int64, String, Int64)] = []
        var next = offset
        while next < highWatermark {
            let read = try read(from: next, maxBytes: maxBytes)
            let records = try TestBatches.records(read.records)
            let headers = try TestBatches.headers(read.records)
            guard let last = headers.last else { break }
            result += records.filter { $0.offset >= next }
            next = last.nextOffset
        }
        return result
    }
}

/// Appends `bytes` to the end of a file.
func appendToFile(_ path: String, _ bytes: [UInt8]) throws {
    let handle = try #require(FileHandle(forWritingAtPath: path))
    try handle.seekToEnd()
    try handle.write(contentsOf: bytes)
    try handle.close()
}

func fileSize(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
}

/// The `KafkaErrorCode` a storage call failed with, `nil` if it succeeded
/// (`UNKNOWN_SERVER_ERROR` for an error that is not a `StorageError`).
func storageErrorCode(_ body: () throws -> Void) -> KafkaErrorCode? {
    do {
        try body()
        return nil
    } catch let error as StorageError {
        return error.code
    } catch {
        return .unknownServerError
    }
}
