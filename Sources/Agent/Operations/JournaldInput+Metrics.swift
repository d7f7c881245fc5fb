extension JournaldInput {
    /// This input's counters for the metrics (called by the loop that owns it). Bytes are `MESSAGE` bytes.
    public func metricsSnapshot() -> InputMetricsSnapshot {
        var counters = InputCounters()
        counters.linesRead = statistics.linesSent
        counters.bytesRead = statistics.bytesRead
        counters.linesAcknowledged = statistics.linesAcknowledged
        counters.bytesAcknowledged = statistics.bytesAcknowledged
        counters.errors = statistics.errors
        counters.truncatedPieces = statistics.truncatedPieces
        counters.journalGaps = statistics.gaps
        return InputMetricsSnapshot(
            labels: InputLabels(
                index: inputIndex, name: configuration.name, type: "journald", topic: configuration.topic),
            counters: counters, inFlightBytes: inFlightBytes, openFiles: 0, files: [])
    }
}
