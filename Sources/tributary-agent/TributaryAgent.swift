import Agent
import ArgumentParser
import Foundation
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
        // Signals are registered before anything is read: a stop requested from then on is kept in `stops`
        // until the task below exists. `signals` is kept (and cancelled) until the run ends: see `SignalSources`
        // for why that matters in release builds.
        let (stops, stop) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let signals = await SignalSources.install([SIGTERM, SIGINT]) { _ in stop.yield() }
        let task: Task<Bool, Never>
        if dryRun {
            task = Task {
                // Built inside the task that polls them: inputs are owned by one task.
                let inputs = AgentInputs(configuration: loaded, logger: logger) { _, inbox in
                    StdoutSink(acknowledgements: inbox)
                }
                logger.info("tributary-agent: dry run, \(inputs.fileInputs.count) file input(s); lines go to stdout")
                await inputs.run()
                return true
            }
        } else {
            let shipper: KafkaShipper
            do {
                shipper = try KafkaShipper(configuration: loaded, logger: logger)
            } catch {
                printError("tributary-agent: \(error.message)")
                throw ExitCode(1)
            }
            task = Task { await Self.ship(loaded, through: shipper, logger: logger) }
        }
        let relay = Task {
            for await _ in stops { task.cancel() }
        }
        let shipped = await task.value
        relay.cancel()
        signals.cancel()
        guard shipped else { throw ExitCode(1) }
    }

    /// Reads and ships until cancelled (SIGTERM/SIGINT) or shipping fails; then drains the producer within
    /// the shutdown timeout and saves positions. Returns false when shipping failed.
    private static func ship(_ configuration: AgentConfiguration, through shipper: KafkaShipper, logger: Logger) async -> Bool {
        let inputs = AgentInputs(configuration: configuration, logger: logger) { index, inbox in
            shipper.makeSink(input: index, acknowledgements: inbox)
        }
        let brokers = configuration.brokers.map(\.description).joined(separator: ",")
        logger.info("tributary-agent: shipping \(inputs.fileInputs.count) file input(s) to \(brokers)")
        let systemd = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        systemd.notify("READY=1")
        await inputs.poll(until: {
            systemd.watchdogTick()
            return shipper.fatalError != nil
        })
        systemd.notify("STOPPING=1")
        if let reason = shipper.fatalError {
            inputs.shutdown()
            logger.critical("tributary-agent: exiting because shipping failed: \(reason)")
            return false
        }
        logger.info("tributary-agent: stopping; waiting up to \(configuration.shutdownTimeout) for deliveries")
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.shutdownTimeout
        let drained = await shipper.drain(timeout: configuration.shutdownTimeout)
        inputs.shutdown()
        if drained {
            if !(await shipper.close(timeout: max(deadline - clock.now, .seconds(1)))) {
                logger.warning("tributary-agent: the producer did not close within the shutdown timeout; exiting anyway")
            }
            logger.info("tributary-agent: everything read was delivered; positions saved")
        } else {
            logger.warning("tributary-agent: not everything read was delivered within \(configuration.shutdownTimeout); positions saved at the last acknowledged line (the rest is read again at the next start)")
        }
        return shipper.fatalError == nil
    }

    private func printError(_ text: String) {
        var bytes = Array((text + "\n").utf8)
        _ = write(2, &bytes, bytes.count)
    }
}
