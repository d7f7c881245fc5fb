import Agent
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `tributary-agent`: tails log files and ships their lines (issue 5).
@main
struct TributaryAgent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary-agent",
        abstract: "Tail log files and ship their lines to Kafka topics.",
        discussion: "Exit status: 0 on success, 1 when the config has errors (each printed with file, line and key)."
    )

    @Option(help: "The agent config (YAML), e.g. agent-config/agent.yaml.")
    var config: String

    @Flag(help: "Validate the config, print a summary (or every error) and exit.")
    var checkConfig = false

    func run() throws {
        let loaded: AgentConfiguration
        do {
            loaded = try AgentConfigurationLoader.load(path: config)
        } catch {
            printError("tributary-agent: the config has \(error.issues.count) error(s):\n\(error.description)")
            throw ExitCode(1)
        }
        if checkConfig {
            print("\(config): OK\n\(loaded.summary)")
            return
        }
        printError("tributary-agent: shipping is not built yet (the Kafka producer lands separately); use --check-config")
        throw ExitCode(1)
    }

    private func printError(_ text: String) {
        var bytes = Array((text + "\n").utf8)
        _ = write(2, &bytes, bytes.count)
    }
}
