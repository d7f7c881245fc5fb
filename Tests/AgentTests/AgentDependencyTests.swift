import Foundation
import Testing

/// The agent stays free of Foundation (issue 5's 16 MB idle target): no source of a target the agent links
/// imports Foundation, FoundationEssentials, Yams, Crypto or ArgumentParser. `-static-stdlib` would link
/// them in silently, so this is checked on the sources.
@Suite("Agent dependencies")
struct AgentDependencyTests {
    static let agentTargets = [
        "Agent", "tributary-agent", "KafkaClient", "KafkaProtocol", "KafkaSecurity", "Compression", "SystemdJournal",
    ]
    static let forbidden = ["Foundation", "FoundationEssentials", "FoundationInternationalization", "Yams", "Crypto",
                            "ArgumentParser"]

    @Test func noAgentSourceImportsFoundationOrItsUsers() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        var offenders: [String] = []
        var scanned = 0
        for target in Self.agentTargets {
            let directory = sources.appendingPathComponent(target)
            let files = FileManager.default.enumerator(atPath: directory.path)?.compactMap { $0 as? String } ?? []
            for file in files where file.hasSuffix(".swift") {
                scanned += 1
                let text = try String(contentsOfFile: directory.appendingPathComponent(file).path, encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ").map(String.init)
                    guard let index = words.firstIndex(of: "import"), index + 1 < words.count,
                        words[..<index].allSatisfy({ ["public", "@_exported", "internal", "package"].contains($0) })
                    else { continue }
                    if Self.forbidden.contains(words[index + 1]) { offenders.append("\(target)/\(file): \(line)") }
                }
            }
        }
        #expect(scanned > 50, "found the agent's sources under \(sources.path)")
        #expect(offenders.isEmpty, "\(offenders)")
    }
}
