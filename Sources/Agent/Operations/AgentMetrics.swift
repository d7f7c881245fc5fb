#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers

/// The agent's metrics and health as last published by the read loop, read by the HTTP handler on any
/// thread (every access holds the lock). Inputs and the shipper are rebuilt by a reload; their counters
/// restart at 0, so the counters of retired generations are kept and added, and exported counters never go
/// down. Series of inputs no longer configured keep their final values.
public final class AgentMetrics: Sendable {
    /// Whether the agent is healthy, and why not.
    public struct Health: Sendable, Equatable {
        public var isHealthy: Bool
        /// `ok`, or the reason it is not.
        public var reason: String

        public init(isHealthy: Bool, reason: String) {
            self.isHealthy = isHealthy
            self.reason = reason
        }
    }

    private struct State {
        var published = false
        var inputs: [InputMetricsSnapshot] = []
        var retiredInputs: [InputLabels: InputCounters] = [:]
        var shipper: ShipperMetricsSnapshot?
        var retiredShipper: ShipperCounters?
        var reloads: [String: Int] = ["ok": 0, "error": 0]
        var stopping = false
    }

    private let state = NIOLockedValueBox(State())
    private let startTimeMilliseconds: Int64

    public init() {
        startTimeMilliseconds = LocalSystem.wallClockMilliseconds()
    }

    /// Replaces the current generation's snapshots (called by the read loop).
    public func publish(inputs: [InputMetricsSnapshot], shipper: ShipperMetricsSnapshot?) {
        state.withLockedValue { state in
            state.published = true
            state.inputs = inputs
            state.shipper = shipper
        }
    }

    /// Ends a generation (before a reload rebuilds inputs and shipper): its counters become part of the base
    /// the next generation's counters are added to. Call after the last `publish` of the generation.
    public func retireGeneration() {
        state.withLockedValue { state in
            for input in state.inputs {
                state.retiredInputs[input.labels] = (state.retiredInputs[input.labels] ?? InputCounters()) + input.counters
            }
            state.inputs = []
            if let shipper = state.shipper {
                state.retiredShipper = (state.retiredShipper ?? ShipperCounters()) + shipper.counters
            }
            state.shipper = nil
        }
    }

    /// Counts a SIGHUP reload that was applied (`succeeded`) or refused because the config has errors.
    public func countReload(succeeded: Bool) {
        state.withLockedValue { $0.reloads[succeeded ? "ok" : "error", default: 0] += 1 }
    }

    /// Marks the agent as stopping: `/health` answers 503 from now on.
    public func markStopping() {
        state.withLockedValue { $0.stopping = true }
    }

    /// 200 `ok` once the inputs run and shipping has not failed; otherwise the reason.
    public var health: Health {
        state.withLockedValue { state in
            if let reason = state.shipper?.fatalError { return Health(isHealthy: false, reason: "shipping failed: \(reason)") }
            if state.stopping { return Health(isHealthy: false, reason: "stopping") }
            if !state.published { return Health(isHealthy: false, reason: "starting") }
            return Health(isHealthy: true, reason: "ok")
        }
    }

    /// The metrics page in the Prometheus text format 0.0.4.
    public func render() -> String {
        let state = self.state.withLockedValue { $0 }
        var totals = state.retiredInputs
        for input in state.inputs {
            totals[input.labels] = (totals[input.labels] ?? InputCounters()) + input.counters
        }
        let inputs = totals.sorted { $0.key < $1.key }
        func labels(_ input: InputLabels) -> [(String, String)] {
            [("input", String(input.index)), ("name", input.name), ("type", input.type), ("topic", input.topic)]
        }
        func counter(_ value: (InputCounters) -> Int) -> [PrometheusText.Sample] {
            inputs.map { PrometheusText.Sample(labels($0.key), value($0.value)) }
        }
        var page = PrometheusText()
        page.family("tributary_agent_up", .gauge, help: "1 while the agent runs.", [.init([], 1)])
        page.family(
            "tributary_agent_start_time_seconds", .gauge, help: "When the agent started, in seconds since the Unix epoch.",
            [.init(formatted: PrometheusText.seconds(milliseconds: startTimeMilliseconds))])
        page.family(
            "tributary_agent_open_files", .gauge, help: "Files the inputs hold open.",
            [.init([], state.inputs.reduce(0) { $0 + $1.openFiles })])
        page.family(
            "tributary_agent_config_reloads_total", .counter,
            help: "SIGHUP reloads: applied (ok) or refused because the config has errors (error).",
            state.reloads.sorted { $0.key > $1.key }.map { .init([("result", $0.key)], $0.value) })
        page.family(
            "tributary_agent_input_lines_read_total", .counter, help: "Lines read and handed to the shipper.",
            counter(\.linesRead))
        page.family(
            "tributary_agent_input_bytes_read_total", .counter, help: "Bytes read from the input's sources.",
            counter(\.bytesRead))
        page.family(
            "tributary_agent_input_lines_acknowledged_total", .counter, help: "Lines the brokers acknowledged.",
            counter(\.linesAcknowledged))
        page.family(
            "tributary_agent_input_bytes_acknowledged_total", .counter,
            help: "Source bytes covered by the lines the brokers acknowledged (line terminators included).",
            counter(\.bytesAcknowledged))
        page.family(
            "tributary_agent_input_truncated_pieces_total", .counter,
            help: "Pieces of lines longer than max_line_bytes (each shipped, marked truncated).",
            counter(\.truncatedPieces))
        page.family(
            "tributary_agent_input_errors_total", .counter, help: "Errors the input logged.", counter(\.errors))
        page.family(
            "tributary_agent_input_journal_gaps_total", .counter,
            help: "Journald inputs: saved cursors that could not be used (reading restarted at the oldest entry).",
            inputs.filter { $0.key.type == "journald" }.map { PrometheusText.Sample(labels($0.key), $0.value.journalGaps) })
        page.family(
            "tributary_agent_input_lines_dropped_total", .counter, help: "Lines dropped, by reason.",
            inputs.flatMap { input in
                input.value.dropped.sorted { $0.key < $1.key }.map { .init(labels(input.key) + [("reason", $0.key)], $0.value) }
            })
        let current = state.inputs.sorted { $0.labels < $1.labels }
        page.family(
            "tributary_agent_input_in_flight_bytes", .gauge, help: "Value bytes handed to the shipper and not yet acknowledged.",
            current.map { .init(labels($0.labels), $0.inFlightBytes) })
        page.family(
            "tributary_agent_file_lag_bytes", .gauge,
            help: "Size of each file held by an input minus the offset acknowledged in it.",
            current.flatMap { input in
                input.files.map {
                    .init([("input", String(input.labels.index)), ("name", input.labels.name), ("path", $0.path)],
                          formatted: String($0.lagBytes))
                }
            })
        if state.shipper != nil || state.retiredShipper != nil {
            let shipper = (state.retiredShipper ?? ShipperCounters()) + (state.shipper?.counters ?? ShipperCounters())
            page.family(
                "tributary_agent_producer_batches_acknowledged_total", .counter,
                help: "Record batches the brokers acknowledged.", [.init([], shipper.batchesAcknowledged)])
            page.family(
                "tributary_agent_producer_records_retried_total", .counter,
                help: "Records sent again after a failed delivery.", [.init([], shipper.recordsRetried)])
            page.family(
                "tributary_agent_producer_delivery_errors_total", .counter,
                help: "Batches whose delivery failed: sent again (retried) or refused for good (fatal).",
                ["fatal", "retried"].map { .init([("outcome", $0)], shipper.deliveryErrors[$0] ?? 0) })
            page.family(
                "tributary_agent_producer_last_acknowledgement_timestamp_seconds", .gauge,
                help: "When the brokers last acknowledged a batch, Unix seconds (0: never).",
                [.init(formatted: PrometheusText.seconds(milliseconds: shipper.lastAcknowledgementMilliseconds))])
            page.family(
                "tributary_agent_producer_in_flight_bytes", .gauge,
                help: "Value bytes handed to the producer and not yet acknowledged.",
                [.init([], state.shipper?.inFlightBytes ?? 0)])
        }
        return page.text
    }
}
