import Foundation
import Testing
import TributaryTestSupport

/// The export-format fixtures of this bundle, turned into journal files with `JournalExport` (systemd-journal-remote).
enum JournalFixtures {
    /// The bytes of fixture `name` (`basic` or `appended`).
    static func exportBytes(_ name: String) throws -> [UInt8] {
        let url = try #require(
            Bundle.module.url(forResource: name, withExtension: "export", subdirectory: "Fixtures"),
            "fixture \(name).export missing from the test bundle")
        return [UInt8](try Data(contentsOf: url))
    }

    /// The entries of fixture `name`.
    static func entries(_ name: String) throws -> [ExportEntry] {
        try JournalExport.parse(exportBytes(name))
    }

    /// Converts fixture `name` into `<directory>/<file>.journal` and returns the file's path.
    @discardableResult
    static func journal(_ name: String, in directory: String, file: String = "system") throws -> String {
        let path = "\(directory)/\(file).journal"
        try JournalExport.convert(exportBytes(name), to: path)
        return path
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
