/// The agent's command line: `--config PATH` (or `--config=PATH`), `--check-config`, `--dry-run`, `--help`.
/// Parsed by hand rather than with ArgumentParser, which links FoundationEssentials (about 2.5 MB of
/// resident memory in an agent that should stay under 16 MB).
struct AgentOptions: Equatable {
    var config: String
    var checkConfig = false
    var dryRun = false

    /// What the command line asks for.
    enum Parsed: Equatable {
        case run(AgentOptions)
        case help
        /// A usage error, with the message to print before the usage text.
        case usageError(String)
    }

    static let usage = """
        USAGE: tributary-agent --config <config> [--check-config] [--dry-run]

        Tail log files and ship their lines to Kafka topics.

        OPTIONS:
          --config <config>   The agent config (YAML), e.g. agent-config/agent.yaml.
          --check-config      Validate the config, print a summary (or every error) and exit.
          --dry-run           Print lines to stdout instead of shipping them (positions are saved as if shipped).
          -h, --help          Show help information.

        Ships every input's lines to its topic; positions advance only over lines the brokers acknowledged.
        SIGTERM/SIGINT stop reading, wait up to shutdown_timeout for deliveries, save positions and exit 0.
        SIGHUP re-reads the config: with errors they are logged and the agent keeps the running config.
        metrics.listen serves GET /metrics (Prometheus text) and GET /health.
        Exit status: 0 on success, 1 when the config has errors (each printed with file, line and key)
        or the brokers refused records for good (positions stay at the last acknowledged line); 64 on a usage error.
        """

    /// Parses `arguments` (without the program name).
    static func parse(_ arguments: [String]) -> Parsed {
        var config: String?
        var checkConfig = false
        var dryRun = false
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            switch argument {
            case "-h", "--help": return .help
            case "--check-config": checkConfig = true
            case "--dry-run": dryRun = true
            case "--config":
                guard index < arguments.count, !arguments[index].hasPrefix("-") else {
                    return .usageError("Missing value for '--config <config>'")
                }
                config = arguments[index]
                index += 1
            default:
                if argument.hasPrefix("--config=") {
                    config = String(argument.dropFirst("--config=".count))
                } else {
                    return .usageError("Unknown option '\(argument)'")
                }
            }
        }
        guard let config, !config.isEmpty else { return .usageError("Missing expected argument '--config <config>'") }
        return .run(AgentOptions(config: config, checkConfig: checkConfig, dryRun: dryRun))
    }
}
