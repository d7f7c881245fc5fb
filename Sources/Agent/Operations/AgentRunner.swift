public import Logging

/// Runs the agent: builds the inputs and the shipper from the config, polls until a stop is requested or
/// shipping fails, serves `/metrics` and `/health` when `metrics.listen` is set, and applies SIGHUP reloads.
///
/// A reload re-reads the config file. A config with errors is logged (every error, as at startup) and the
/// agent keeps running on the old one. A valid one stops polling, lets the old shipper deliver what was
/// handed over (bounded by `shutdown_timeout`), saves positions, builds a new shipper and new inputs and
/// continues from the saved positions, so across a reload nothing is lost and nothing is read twice (unless
/// the drain timed out: then the undelivered lines are read again and keep their `origin`).
public struct AgentRunner: Sendable {
    /// Where events go: the brokers, or a sink of the caller's (`--dry-run`).
    public enum Output: Sendable {
        case kafka
        case sink(@Sendable (Int, AcknowledgementInbox) -> any RecordSink)
    }

    public let configPath: String
    public let initialConfiguration: AgentConfiguration
    public let output: Output
    public let control: AgentControl
    public let metrics: AgentMetrics
    private let logger: Logger

    /// How often the read loop publishes metrics snapshots.
    static let publishInterval: Duration = .milliseconds(500)

    public init(
        configPath: String, configuration: AgentConfiguration, output: Output = .kafka,
        control: AgentControl = AgentControl(), metrics: AgentMetrics = AgentMetrics(), logger: Logger
    ) {
        self.configPath = configPath
        self.initialConfiguration = configuration
        self.output = output
        self.control = control
        self.metrics = metrics
        self.logger = logger
    }

    /// Runs until a stop is requested (then drains within `shutdown_timeout` and saves positions) or shipping
    /// fails for good. Returns false when the agent could not start or shipping failed.
    public func run() async -> Bool {
        var configuration = initialConfiguration
        var shipper: KafkaShipper?
        if case .kafka = output {
            do {
                shipper = try KafkaShipper(configuration: configuration, logger: logger)
            } catch {
                logger.critical("tributary-agent: \(error.message)")
                return false
            }
        }
        var server: MetricsServer?
        if let listen = configuration.metricsListen {
            guard let started = await startMetricsServer(listen) else {
                _ = await shipper?.close(timeout: configuration.shutdownTimeout)
                return false
            }
            server = started
        }
        let systemd = SystemdNotifier(environment: LocalSystem.environment())
        var isFirstGeneration = true
        while true {
            let inputs = makeInputs(configuration, shipper: shipper)
            if shipper != nil {
                let brokers = configuration.brokers.map(\.description).joined(separator: ",")
                logger.info("tributary-agent: shipping \(inputs.fileInputs.count) file input(s) to \(brokers)")
            } else {
                logger.info("tributary-agent: dry run, \(inputs.fileInputs.count) file input(s); lines go to stdout")
            }
            publish(inputs, shipper)
            if isFirstGeneration { systemd.notify("READY=1") }
            isFirstGeneration = false

            let next = await pollUntilStopOrValidReload(
                inputs, shipper: shipper, current: configuration, systemd: systemd, publishing: server != nil)
            publish(inputs, shipper)
            if let reason = shipper?.fatalError {
                systemd.notify("STOPPING=1")
                metrics.markStopping()
                inputs.shutdown()
                logger.critical("tributary-agent: exiting because shipping failed: \(reason)")
                await server?.stop()
                return false
            }
            guard let (newConfiguration, newShipper) = next else {
                systemd.notify("STOPPING=1")
                metrics.markStopping()
                let succeeded = await stop(inputs, shipper: shipper, timeout: configuration.shutdownTimeout)
                await server?.stop()
                return succeeded
            }
            // A valid reload: finish this generation, then build the next one from the saved positions.
            logger.info("tributary-agent: reloading; waiting up to \(configuration.shutdownTimeout) for deliveries")
            let drained = await shipper?.drain(timeout: configuration.shutdownTimeout, flushSinks: inputs.flushSinks) ?? true
            inputs.shutdown()
            publish(inputs, shipper)
            if !drained {
                logger.warning("tributary-agent: reload: not everything read was delivered within \(configuration.shutdownTimeout); those lines are read again from the saved positions (same origin)")
            }
            if let shipper, !(await shipper.close(timeout: configuration.shutdownTimeout)) {
                logger.warning("tributary-agent: reload: the producer did not close within \(configuration.shutdownTimeout); continuing with a new one")
            }
            metrics.retireGeneration()
            metrics.countReload(succeeded: true)
            if newConfiguration.metricsListen != configuration.metricsListen {
                await server?.stop()
                server = nil
                if let listen = newConfiguration.metricsListen { server = await startMetricsServer(listen) }
            }
            logger.info("tributary-agent: config reloaded from \(configPath): \(Self.changes(from: configuration, to: newConfiguration))")
            configuration = newConfiguration
            shipper = newShipper
        }
    }

    /// Polls until a stop is requested, shipping fails, or a SIGHUP brings a valid config (returned, with the
    /// shipper built for it). Reloads with errors are logged and polling goes on. Metrics snapshots are
    /// published every `publishInterval` while `publishing` (a metrics listener runs).
    private func pollUntilStopOrValidReload(
        _ inputs: AgentInputs, shipper: KafkaShipper?, current: AgentConfiguration, systemd: SystemdNotifier,
        publishing: Bool
    ) async -> (AgentConfiguration, KafkaShipper?)? {
        let clock = ContinuousClock()
        var lastPublish = clock.now
        while true {
            await inputs.poll(until: {
                systemd.watchdogTick()
                if publishing, clock.now - lastPublish >= Self.publishInterval {
                    publish(inputs, shipper)
                    lastPublish = clock.now
                }
                return shipper?.fatalError != nil || control.isStopRequested || control.isReloadRequested
            })
            if Task.isCancelled || control.isStopRequested || shipper?.fatalError != nil { return nil }
            guard control.takeReloadRequest() else { continue }
            if let next = loadReload(current: current) { return next }
        }
    }

    /// Reads the config file for a reload; nil (after logging why) when it cannot be used.
    private func loadReload(current: AgentConfiguration) -> (AgentConfiguration, KafkaShipper?)? {
        logger.info("tributary-agent: SIGHUP: reloading \(configPath)")
        let candidate: AgentConfiguration
        do {
            candidate = try AgentConfigurationLoader.load(path: configPath)
        } catch {
            metrics.countReload(succeeded: false)
            logger.error("tributary-agent: SIGHUP: the config has \(error.issues.count) error(s); still running on the previous config:\n\(error.description)")
            return nil
        }
        guard case .kafka = output else { return (candidate, nil) }
        do {
            return (candidate, try KafkaShipper(configuration: candidate, logger: logger))
        } catch {
            metrics.countReload(succeeded: false)
            logger.error("tributary-agent: SIGHUP: \(error.message); still running on the previous config")
            return nil
        }
    }

    private func makeInputs(_ configuration: AgentConfiguration, shipper: KafkaShipper?) -> AgentInputs {
        AgentInputs(configuration: configuration, logger: logger) { index, inbox in
            switch output {
            case .kafka: shipper.map { $0.makeSink(input: index, acknowledgements: inbox) } ?? InMemorySink(acknowledgements: inbox)
            case .sink(let make): make(index, inbox)
            }
        }
    }

    private func publish(_ inputs: AgentInputs, _ shipper: KafkaShipper?) {
        metrics.publish(inputs: inputs.metricsSnapshots(), shipper: shipper?.metricsSnapshot)
    }

    /// SIGTERM/SIGINT: drain within `timeout`, save positions, close the shipper.
    private func stop(_ inputs: AgentInputs, shipper: KafkaShipper?, timeout: Duration) async -> Bool {
        guard let shipper else {
            inputs.shutdown()
            return true
        }
        logger.info("tributary-agent: stopping; waiting up to \(timeout) for deliveries")
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        let drained = await shipper.drain(timeout: timeout, flushSinks: inputs.flushSinks)
        inputs.shutdown()
        if drained {
            // The stop must not wait on the brokers: closing gets what is left of the timeout.
            if !(await shipper.close(timeout: max(deadline - clock.now, .seconds(1)))) {
                logger.warning("tributary-agent: the producer did not close within the shutdown timeout; exiting anyway")
            }
            logger.info("tributary-agent: everything read was delivered; positions saved")
        } else {
            logger.warning("tributary-agent: not everything read was delivered within \(timeout); positions saved at the last acknowledged line (the rest is read again at the next start)")
        }
        return shipper.fatalError == nil
    }

    private func startMetricsServer(_ listen: BrokerEndpoint) async -> MetricsServer? {
        do {
            let server = try await MetricsServer.start(host: listen.host, port: listen.port, metrics: metrics)
            logger.info("tributary-agent: metrics listening on http://\(server.boundDescription) (/metrics, /health)")
            return server
        } catch {
            logger.critical("tributary-agent: metrics.listen \(listen): cannot listen: \(error)")
            return nil
        }
    }

    /// What differs between two configs, as summary lines removed and added.
    static func changes(from old: AgentConfiguration, to new: AgentConfiguration) -> String {
        let before = old.summary.split(separator: "\n").map(String.init)
        let after = new.summary.split(separator: "\n").map(String.init)
        let removed = before.filter { !after.contains($0) }
        let added = after.filter { !before.contains($0) }
        if removed.isEmpty && added.isEmpty { return "no change in the summary (other settings may differ)" }
        return (removed.map { "\n  - \($0)" } + added.map { "\n  + \($0)" }).joined()
    }
}
