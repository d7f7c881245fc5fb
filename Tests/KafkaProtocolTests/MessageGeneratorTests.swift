import Foundation
import Testing

/// The generated files are what `scripts/gen-kafka-messages.py` produces from the JSON definitions:
/// nobody edited them by hand and nobody forgot to re-run the generator.
@Suite("Messages: generator output is up to date")
struct MessageGeneratorTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let specDirectory = repositoryRoot
        .appendingPathComponent("../shared/kafka-spec/messages").standardizedFileURL

    static let canRun: Bool = FileManager.default.fileExists(
        atPath: specDirectory.appendingPathComponent("ProduceRequest.json").path)

    @Test(
        "gen-kafka-messages.py --check reports no difference",
        .enabled(if: canRun, "needs ../shared/kafka-spec/messages next to the repository"))
    func generatedFilesAreUpToDate() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "scripts/gen-kafka-messages.py", "--check"]
        process.currentDirectoryURL = Self.repositoryRoot
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "re-run scripts/gen-kafka-messages.py:\n\(text)")
    }
}
