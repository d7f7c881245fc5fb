import Foundation

/// One entry of a journal export-format file: its fields in file order and its raw export bytes.
public struct ExportEntry: Sendable {
    /// `(name, value)` pairs, including the `__` metadata fields.
    public var fields: [(name: String, value: [UInt8])]
    /// The entry's bytes in export format, ending with the empty line.
    public var raw: [UInt8]

    /// The first value of `name`.
    public func value(_ name: String) -> [UInt8]? { fields.first { $0.name == name }?.value }

    /// `__REALTIME_TIMESTAMP`.
    public var realtime: UInt64 {
        value("__REALTIME_TIMESTAMP").flatMap { UInt64(String(decoding: $0, as: UTF8.self)) } ?? 0
    }

    /// The fields stored in the journal (no `__` metadata), sorted for order-independent comparison.
    public var payloadFields: [String] {
        fields.filter { !$0.name.hasPrefix("__") }.map { Self.render($0.name, $0.value) }.sorted()
    }

    /// A stable text form of one field for comparisons (hex for bytes that are not printable ASCII).
    public static func render(_ name: String, _ value: [UInt8]) -> String {
        if value.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return "\(name)=\(String(decoding: value, as: UTF8.self))" }
        return "\(name)=hex:" + value.map { String(format: "%02x", $0) }.joined()
    }
}

/// A failure making or parsing journal export data in a test, with what went wrong.
public struct JournalExportError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Journal export format (https://systemd.io/JOURNAL_EXPORT_FORMATS/) for tests: writing entries, parsing them,
/// and turning them into real journal files with `systemd-journal-remote`.
public enum JournalExport {
    /// systemd-journal-remote, which converts export format to journal files (Debian: systemd-journal-remote);
    /// `nil` when it is not installed.
    public static let journalRemote: String? = [
        "/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote",
    ].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Writes `export` (export-format bytes) into the journal file `journalPath` (created or appended to).
    public static func convert(_ export: [UInt8], to journalPath: String) throws {
        guard let tool = journalRemote else {
            throw JournalExportError("systemd-journal-remote is not installed: run scripts/install-deps.sh")
        }
        let directory = try TemporaryDirectory(prefix: "journal-export")
        defer { directory.remove() }
        try FileManager.default.createDirectory(
            atPath: (journalPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let exportPath = "\(directory.path)/input.export"
        try Data(export).write(to: URL(fileURLWithPath: exportPath))
        let output = try ProcessRunner.run(tool, ["--output=\(journalPath)", exportPath])
        guard output.succeeded else {
            throw JournalExportError("systemd-journal-remote failed (\(output.exitCode)): \(output.stderr)")
        }
    }

    /// One entry in export format: text fields as `NAME=value`, others in the binary form (name, newline,
    /// 64-bit little-endian length, bytes, newline), after `__REALTIME_TIMESTAMP`, `__MONOTONIC_TIMESTAMP` and
    /// `_BOOT_ID`.
    public static func entry(realtime: UInt64, fields: [(String, [UInt8])]) -> [UInt8] {
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

    /// Parses export format: `NAME=value\n` text fields, `NAME\n<le64 length><bytes>\n` binary fields, entries
    /// ended by an empty line.
    public static func parse(_ bytes: [UInt8]) throws -> [ExportEntry] {
        var entries: [ExportEntry] = []
        var fields: [(name: String, value: [UInt8])] = []
        var entryStart = 0
        var index = 0
        let newline = UInt8(ascii: "\n")
        while index < bytes.count {
            guard let lineEnd = bytes[index...].firstIndex(of: newline) else {
                throw JournalExportError("unterminated line at \(index)")
            }
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
                guard lengthStart + 8 <= bytes.count else { throw JournalExportError("binary field \(name) without length") }
                var length = 0
                for shift in 0..<8 { length |= Int(bytes[lengthStart + shift]) << (8 * shift) }
                let valueStart = lengthStart + 8
                guard valueStart + length < bytes.count else {
                    throw JournalExportError("binary field \(name) runs past the end")
                }
                fields.append((name, Array(bytes[valueStart..<(valueStart + length)])))
                guard bytes[valueStart + length] == newline else {
                    throw JournalExportError("binary field \(name) not ended by newline")
                }
                index = valueStart + length + 1
            }
        }
        guard fields.isEmpty else { throw JournalExportError("last entry not ended by an empty line") }
        return entries
    }
}
