import Agent
import ArgumentParser
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
            Ships every input's lines to its topic; positions advance only over lines the brokers acknowledged.
            SIGTERM/SIGINT stop reading, wait up to shutdown_timeout for deliveries, save positions and exit 0.
            SIGHUP re-reads the config: with errors they are logged and the agent keeps the running config.
            metrics.listen serves GET /metrics (Prometheus text) and GET /health.
            Exit status: 0 on success, 1 when the config has errors (each printed with file, line and key)
            or the brokers refused records for good (positions stay at the last acknowledged line).
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
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let logger = Logger(label: "tributary-agent")
        let runner = AgentRunner(
            configPath: config, configuration: loaded,
            output: dryRun ? .sink({ _, inbox in StdoutSink(acknowledgements: inbox) }) : .kafka, logger: logger)
        // Registered before anything is read; kept until the run ends (see `SignalSources` for why that
        // matters in release builds).
        let control = runner.control
        let signals = await SignalSources.install([SIGTERM, SIGINT, SIGHUP]) { signal in
            if signal == SIGHUP { control.requestReload() } else { control.requestStop() }
        }
        let succeeded = await runner.run()
        signals.cancel()
        guard succeeded else { throw ExitCode(1) }
    }

    private func printError(_ text: String) {
        var bytes = Array((text + "\n").utf8)
        _ = write(2, &bytes, bytes.count)
    }
}
