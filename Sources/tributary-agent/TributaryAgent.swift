import Agent
import ArgumentParser
import Dispatch
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `tributary-agent`: tails log files and ships their lines (issue 5).
@main
struct TributaryAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary-agent",
        abstract: "Tail log files and ship their lines to Kafka topics.",
        discussion: """
            Exit status: 0 on success, 1 when the config has errors (each printed with file, line and key).
            Shipping to Kafka lands with the producer; until then --dry-run prints lines to stdout instead.
            """
    )

    @Option(help: "The agent config (YAML), e.g. agent-config/agent.yaml.")
    var config: String

    @Flag(help: "Validate the config, print a summary (or every error) and exit.")
    var checkConfig = false

    @Flag(help: "Print lines to stdout instead of shipping them (positions are saved as if shipped).")
    var dryRun = false

    func run() async throws {
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
        guard dryRun else {
            printError("tributary-agent: shipping to Kafka is not built yet (the producer lands separately); use --dry-run or --check-config")
            throw ExitCode(1)
        }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let logger = Logger(label: "tributary-agent")
        let task = Task {
            // Built inside the task that polls them: inputs are owned by one task.
            let inputs = AgentInputs(configuration: loaded, logger: logger) { _, inbox in
                StdoutSink(acknowledgements: inbox)
            }
            logger.info("tributary-agent: dry run, \(inputs.fileInputs.count) file input(s); lines go to stdout")
            await inputs.run()
        }
        let signals = [SIGTERM, SIGINT].map { signal in
            Glibc.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .main)
            source.setEventHandler { task.cancel() }
            source.resume()
            return source
        }
        _ = signals
        await task.value
    }

    private func printError(_ text: String) {
        var bytes = Array((text + "\n").utf8)
        _ = write(2, &bytes, bytes.count)
    }
}
