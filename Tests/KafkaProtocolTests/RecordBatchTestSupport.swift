import TributaryTestSupport
import Foundation
import KafkaProtocol
import NIOCore

// Helpers shared by the RecordBatch*Tests and CRC32CTests files.

/// A record as the tests describe it, comparable with what a decoder returns.
struct TestRecord: Equatable, CustomStringConvertible {
    struct Header: Equatable {
        var key: String
        var value: [UInt8]?
    }

    var timestamp: Int64
    var key: [UInt8]?
    var value: [UInt8]?
    var headers: [Header] = []

    var description: String {
        func show(_ bytes: [UInt8]?) -> String {
            bytes.map { String(decoding: $0.prefix(40), as: UTF8.self) } ?? "nil"
        }
        return "(ts \(timestamp), key \(show(key)), value \(show(value)), headers \(headers.map { "\($0.key)=\(show($0.value))" }))"
    }

    init(timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [Header] = []) {
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }

    @_disfavoredOverload
    init(timestamp: Int64, key: String?, value: String?, headers: [(String, String?)] = []) {
        self.init(
            timestamp: timestamp, key: key.map { Array($0.utf8) }, value: value.map { Array($0.utf8) },
            headers: headers.map { Header(key: $0.0, value: $0.1.map { Array($0.utf8) }) })
    }

    /// The record as decoded (offset aside).
    init(_ record: Record) {
        self.timestamp = record.timestamp
        self.key = record.key.map { Array($0.readableBytesView) }
        self.value = record.value.map { Array($0.readableBytesView) }
        self.headers = record.headers.map {
            Header(key: String(buffer: $0.key), value: $0.value.map { Array($0.readableBytesView) })
        }
    }
}

extension RecordBatchBuilder {
    /// Appends `record` through the raw-pointer API with pre-encoded headers.
    func append(_ record: TestRecord, headers scratch: inout EncodedRecordHeaders) {
        scratch.removeAll()
        for header in record.headers {
            if let value = header.value {
                value.withUnsafeBytes { scratch.append(key: header.key, value: $0) }
            } else {
                scratch.append(key: header.key, value: nil)
            }
        }
        withOptionalBytes(record.key) { key in
            withOptionalBytes(record.value) { value in
                append(timestamp: record.timestamp, key: key, value: value, headers: record.headers.isEmpty ? nil : scratch)
            }
        }
    }
}

func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
    guard let bytes else { return try body(nil) }
    return try bytes.withUnsafeBytes { try body($0) }
}

/// Encodes `records` as one batch with `builder`'s settings.
func encodeBatch(_ records: [TestRecord], with builder: RecordBatchBuilder) throws -> ByteBuffer {
    var headers = EncodedRecordHeaders()
    for record in records { builder.append(record, headers: &headers) }
    return try builder.finish()
}

/// Decodes all records of `batch` (verifying the CRC) as `TestRecord`s with their offsets.
func decodeRecords(
    _ batch: RecordBatch, decompressor: RecordBatchDecompressor? = nil
) throws -> [(offset: Int64, record: TestRecord)] {
    try batch.verifyChecksum()
    return try batch.records(decompressor: decompressor).map { ($0.offset, TestRecord($0)) }
}

enum TestPaths {
    /// The repository root, found from this file's path.
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `../shared/data/loghub` relative to the repository root.
    static let loghub = URL(fileURLWithPath: repositoryRoot).appendingPathComponent("../shared/data/loghub").standardized.path
}

/// Lines of the loghub sample logs (`*.log`), in file order, without their `\n` or `\r\n`.
///
/// Split on bytes: the files use CRLF, which a `String` treats as one `Character`.
enum LogCorpus {
    static let files: [(name: String, lines: [String])] = {
        let directory = TestPaths.loghub
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.filter { $0.hasSuffix(".log") }.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)") else { return nil }
            let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
                String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
            }
            return (name, lines)
        }
    }()

    static var isAvailable: Bool { !files.isEmpty }
}

/// Runs `python3 -c script args...`, returning stdout; throws with stderr on a non-zero exit.
struct PythonError: Error, CustomStringConvertible {
    var description: String
}

enum Python {
    static let isKafkaPythonAvailable: Bool = {
        (try? run("import kafka.record.default_records, lz4.frame, zstandard, snappy", arguments: [])) != nil
    }()

    @discardableResult
    static func run(_ script: String, arguments: [String]) throws -> String {
        let output = try ProcessRunner.run("python3", ["-c", script] + arguments)
        guard output.succeeded else {
            throw PythonError(description: "python3 exited \(output.exitCode): \(output.stderr)")
        }
        return String(decoding: output.stdout, as: UTF8.self)
    }
}
