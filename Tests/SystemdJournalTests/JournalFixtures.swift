import Foundation
import Testing
import TributaryTestSupport

/// One entry of an export-format fixture: its fields in file order and its raw export bytes.
struct ExportEntry {
    /// `(name, value)` pairs, including the `__` metadata fields.
    var fields: [(name: String, value: [UInt8])]
    /// The entry's bytes in export format, ending with the empty line.
    var raw: [UInt8]

    /// The first value of `name`.
    func value(_ name: String) -> [UInt8]? { fields.first { $0.name == name }?.value }

    /// `__REALTIME_TIMESTAMP`.
    var realtime: UInt64 { value("__REALTIME_TIMESTAMP").flatMap { UInt64(String(decoding: $0, as: UTF8.self)) } ?? 0 }

    /// The fields stored in the journal (no `__` metadata), sorted for order-independent comparison.
    var payloadFields: [String] {
        fields.filter { !$0.name.hasPrefix("__") }.map { Self.render($0.name, $0.value) }.sorted()
    }

    /// A stable text form of one field for comparisons (hex for bytes that are not printable ASCII).
    static func render(_ name: String, _ value: [UInt8]) -> String {
        if value.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return "\(name)=\(String(decoding: value, as: UTF8.self))" }
        return "\(name)=hex:" + value.map { String(format: "%02x", $0) }.joined()
    }
}

/// Reads the export-format fixtures and turns them into journal files with systemd-journal-remote.
enum JournalFixtures {
    /// systemd-journal-remote, which converts export format to journal files (Debian: systemd-journal-remote).
    static let journalRemote: String? = [
        "/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote",
    ].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The bytes of fixture `name` (`basic` or `appended`).
    static func exportBytes(_ name: String) throws -> [UInt8] {
        let url = try #require(
            Bundle.module.url(forResource: name, withExtension: "export", subdirectory: "Fixtures"),
            "fixture \(name).export missing from the test bundle")
        return [UInt8](try Data(contentsOf: url))
    }

    /// The entries of fixture `name`.
    static func entries(_ name: String) throws -> [ExportEntry] {
        try parse(exportBytes(name))
    }

    /// Writes `export` (export-format bytes) into the journal file `journalPath` (created or appended to).
    static func convert(_ export: [UInt8], to journalPath: String) throws {
        let tool = try #require(
            journalRemote, "systemd-journal-remote is not installed: run scripts/install-deps.sh")
        let directory = try TemporaryDirectory(prefix: "journal-export")
        defer { directory.remove() }
        try FileManager.default.createDirectory(
            atPath: (journalPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let exportPath = "\(directory.path)/input.export"
        try Data(export).write(to: URL(fileURLWithPath: exportPath))
        let output = try ProcessRunner.run(tool, ["--output=\(journalPath)", exportPath])
        try #require(output.succeeded, "systemd-journal-remote failed (\(output.exitCode)): \(output.stderr)")
    }

    /// Converts fixture `name` into `<directory>/<file>.journal` and returns the file's path.
    @discardableResult
    static func journal(_ name: String, in directory: String, file: String = "system") throws -> String {
        let path = "\(directory)/\(file).journal"
        try convert(exportBytes(name), to: path)
        return path
    }

    /// One entry in export format: text fields as `NAME=value`, others in the binary form (name, newline,
    /// 64-bit little-endian length, bytes, newline); `fields` follow the metadata of the fixture entries.
    static func exportEntry(realtime: UInt64, fields: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        func append(_ name: String, _ value: [UInt8]) {
            out += Array(name.utf8)
            if value.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
                out += [UInt8(ascii: "=")] + value
            } else {
                out.append(UInt8(ascii: "\n"))
                withUnsafeBytes(of: UInt64(value.count).littleEndian) { out += $0 }
                out += value
            }
            out.append(UInt8(ascii: "\n"))
        }
        append("__REALTIME_TIMESTAMP", Array(String(realtime).utf8))
        append("__MONOTONIC_TIMESTAMP", Array(String(realtime % 1_000_000_000).utf8))
        append("_BOOT_ID", Array("3f9e2a1c5b7d4e8f9a0b1c2d3e4f5a6b".utf8))
        for (name, value) in fields { append(name, value) }
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// Parses export format: `NAME=value\n` text fields, `NAME\n<le64 length><bytes>\n` binary fields, entries ended
    /// by an empty line.
    static func parse(_ bytes: [UInt8]) throws -> [ExportEntry] {
        var entries: [ExportEntry] = []
        var fields: [(name: String, value: [UInt8])] = []
        var entryStart = 0
        var index = 0
        let newline = UInt8(ascii: "\n")
        while index < bytes.count {
            let lineEnd = try #require(bytes[index...].firstIndex(of: newline), "unterminated line at \(index)")
            if lineEnd == index {  // empty line: end of entry
                index += 1
                entries.append(ExportEntry(fields: fields, raw: Array(bytes[entryStart..<index])))
                fields = []
                entryStart = index
                continue
            }
            let line = bytes[index..<lineEnd]
            if let equals = line.firstIndex(of: UInt8(ascii: "=")) {
                fields.append((String(decoding: line[..<equals], as: UTF8.self), Array(line[(equals + 1)...])))
                index = lineEnd + 1
            } else {
                let name = String(decoding: line, as: UTF8.self)
                let lengthStart = lineEnd + 1
                try #require(lengthStart + 8 <= bytes.count, "binary field \(name) without length")
                var length = 0
                for shift in 0..<8 { length |= Int(bytes[lengthStart + shift]) << (8 * shift) }
                let valueStart = lengthStart + 8
                try #require(valueStart + length < bytes.count, "binary field \(name) runs past the end")
                fields.append((name, Array(bytes[valueStart..<(valueStart + length)])))
                try #require(bytes[valueStart + length] == newline, "binary field \(name) not ended by newline")
                index = valueStart + length + 1
            }
        }
        try #require(fields.isEmpty, "last entry not ended by an empty line")
        return entries
    }
}

/// A fresh temporary directory for one test, removed when the body returns.
func withTemporaryDirectory<Result>(_ body: (String) async throws -> Result) async throws -> Result {
    let directory = try TemporaryDirectory(prefix: "systemd-journal-test")
    defer { directory.remove() }
    return try await body(directory.path)
}

/// Runs `body`, failing with a clear message if it takes longer than `seconds` (a failure deadline, not a wait).
func withDeadline<Result: Sendable>(
    seconds: Int, _ what: String, _ body: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        let first = try await group.next() ?? nil
        return try #require(first, "\(what) did not happen within \(seconds) s")
    }
}
