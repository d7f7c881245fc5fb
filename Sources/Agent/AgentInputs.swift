import CAgentSystem
public import Logging

/// The configured inputs of an agent, ready to poll: one `FileInput` per `type: file` input and one
/// `JournaldInput` per `type: journald` input, each with its own acknowledgement inbox and sink. The in-flight
/// byte budget is shared out evenly.
public final class AgentInputs {
    /// The file inputs, in config order.
    public let fileInputs: [FileInput]
    /// The journald inputs, in config order.
    public let journaldInputs: [JournaldInput]
    /// Every input's sink, for `flushSinks()`.
    private let sinks: [any RecordSink]
    private let logger: Logger
    /// Signalled by every input's inbox, so a poll loop held by the in-flight budget resumes on acknowledgement.
    private let wakeup: ReadLoopWakeup

    /// Builds the inputs of `configuration`; `makeSink(inputIndex, inbox)` gives each input its sink, which
    /// acknowledges through `inbox`.
    public init(
        configuration: AgentConfiguration, logger: Logger,
        makeSink: (Int, AcknowledgementInbox) -> any RecordSink
    ) {
        self.logger = logger
        let wakeup = ReadLoopWakeup()
        self.wakeup = wakeup
        let inputCount = max(1, configuration.inputs.count)
        var inputs: [FileInput] = []
        var journals: [JournaldInput] = []
        var sinks: [any RecordSink] = []
        for (index, input) in configuration.inputs.enumerated() {
            switch input {
            case .file(let file):
                let inbox = AcknowledgementInbox(wakeup: wakeup)
                let sink = makeSink(index, inbox)
                sinks.append(sink)
                inputs.append(FileInput(
                    configuration: file, inputIndex: index, stateDirectory: configuration.stateDirectory,
                    sink: sink, acknowledgements: inbox,
                    maxInFlightBytes: configuration.maxInFlightBytes / inputCount, logger: logger))
            case .journald(let journal):
                let inbox = AcknowledgementInbox(wakeup: wakeup)
                let sink = makeSink(index, inbox)
                sinks.append(sink)
                journals.append(JournaldInput(
                    configuration: journal, inputIndex: index, stateDirectory: configuration.stateDirectory,
                    sink: sink, acknowledgements: inbox,
                    maxInFlightBytes: configuration.maxInFlightBytes / inputCount, logger: logger))
            }
        }
        fileInputs = inputs
        journaldInputs = journals
        self.sinks = sinks
    }

    /// Polls every input until the task is cancelled, then saves positions and cursors and closes files.
    public func run() async {
        await poll(until: { false })
        shutdown()
    }

    /// How long the loop waits between polls when there was nothing to read: `recentlyActiveWait` during the
    /// first `idleAfter` after the last read, `idleWait` after that. Acknowledgements end a wait at once, so only
    /// new lines in an idle agent wait for the longer interval (Vector's file source backs off to 2 s).
    static let recentlyActiveWait: Duration = .milliseconds(50)
    static let idleWait: Duration = .milliseconds(250)
    static let idleAfter: Duration = .seconds(1)

    /// Polls every input until the task is cancelled or `shouldStop` says so (checked between polls).
    public func poll(until shouldStop: () -> Bool) async {
        let clock = ContinuousClock()
        var lastRelease = clock.now
        var lastBusy = clock.now
        while !Task.isCancelled && !shouldStop() {
            if clock.now - lastRelease >= .seconds(1) {
                // Batches come and go on several threads' malloc arenas: hand freed pages back once a second,
                // so RSS follows what is in flight rather than its peak.
                tributary_release_free_memory()
                lastRelease = clock.now
            }
            var busy = false
            for input in fileInputs {
                let outcome = input.poll()
                busy = busy || outcome.bytesRead > 0 || outcome.eventsSent > 0
            }
            for input in journaldInputs {
                busy = input.poll().eventsSent > 0 || busy
            }
            if busy {
                lastBusy = clock.now
                await Task.yield()
            } else {
                let idle = clock.now - lastBusy >= Self.idleAfter
                await wakeup.wait(timeout: idle ? Self.idleWait : Self.recentlyActiveWait)
            }
        }
    }

    /// Lets every sink send what it holds (records the producer could not take yet), without reading more.
    public func flushSinks() {
        for sink in sinks { sink.flush() }
    }

    /// Every input's metrics snapshot: file inputs, then journald inputs.
    public func metricsSnapshots() -> [InputMetricsSnapshot] {
        fileInputs.map { $0.metricsSnapshot() } + journaldInputs.map { $0.metricsSnapshot() }
    }

    /// Takes the acknowledgements that arrived, saves positions and cursors, closes every file and stops the
    /// journal readers.
    public func shutdown() {
        for input in fileInputs { input.shutdown() }
        for input in journaldInputs { input.shutdown() }
    }
}
