import Foundation
import Testing
import TributaryTestSupport

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
        let output = try ProcessRunner.run(
            "python3", ["scripts/gen-kafka-messages.py", "--check"], currentDirectory: Self.repositoryRoot.path)
        #expect(output.succeeded, "re-run scripts/gen-kafka-messages.py:\n\(output.stderr)\n\(String(decoding: output.stdout, as: UTF8.self))")
    }
}
