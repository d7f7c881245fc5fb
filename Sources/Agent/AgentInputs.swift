public import Logging

/// The configured inputs of an agent, ready to poll: one `FileInput` per `type: file` input, each with its own
/// acknowledgement inbox and sink. The in-flight byte budget is shared out evenly. Journald inputs are
/// validated but not read yet; they are logged as skipped.
public final class AgentInputs {
    /// The file inputs, in config order.
    public let fileInputs: [FileInput]
    private let logger: Logger

    /// Builds the inputs of `configuration`; `makeSink(inputIndex, inbox)` gives each input its sink, which
    /// acknowledges through `inbox`.
    public init(
        configuration: AgentConfiguration, logger: Logger,
        makeSink: (Int, AcknowledgementInbox) -> any RecordSink
    ) {
        self.logger = logger
        let fileCount = max(1, configuration.inputs.count { if case .file = $0 { true } else { false } })
        var inputs: [FileInput] = []
        for (index, input) in configuration.inputs.enumerated() {
            switch input {
            case .file(let file):
                let inbox = AcknowledgementInbox()
                inputs.append(FileInput(
                    configuration: file, inputIndex: index, stateDirectory: configuration.stateDirectory,
                    sink: makeSink(index, inbox), acknowledgements: inbox,
                    maxInFlightBytes: configuration.maxInFlightBytes / fileCount, logger: logger))
            case .journald(let journal):
                logger.warning("inputs[\(index)] (journald → \(journal.topic)): the journald reader is not built yet; skipped")
            }
        }
        fileInputs = inputs
    }

    /// Polls every input until the task is cancelled, then saves positions and closes files.
    public func run() async {
        await poll(until: { false })
        shutdown()
    }

    /// Polls every input until the task is cancelled or `shouldStop` says so (checked between polls).
    public func poll(until shouldStop: () -> Bool) async {
        while !Task.isCancelled && !shouldStop() {
            var busy = false
            for input in fileInputs {
                let outcome = input.poll()
                busy = busy || outcome.bytesRead > 0 || outcome.eventsSent > 0
            }
            if busy { await Task.yield() } else { try? await Task.sleep(for: .milliseconds(50)) }
        }
    }

    /// Every input's metrics snapshot, in config order.
    public func metricsSnapshots() -> [InputMetricsSnapshot] {
        fileInputs.map { $0.metricsSnapshot() }
    }

    /// Takes the acknowledgements that arrived, saves positions and closes every file.
    public func shutdown() {
        for input in fileInputs { input.shutdown() }
    }
}
