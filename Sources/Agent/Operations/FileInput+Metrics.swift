extension FileInput {
    /// This input's counters, open files and per-file lag for the metrics (called by the loop that owns it).
    public func metricsSnapshot() -> InputMetricsSnapshot {
        var counters = InputCounters()
        counters.linesRead = statistics.linesSent
        counters.bytesRead = statistics.bytesRead
        counters.linesAcknowledged = statistics.linesAcknowledged
        counters.bytesAcknowledged = statistics.bytesAcknowledged
        counters.truncatedPieces = statistics.truncatedPieces
        counters.errors = statistics.errors
        return InputMetricsSnapshot(
            labels: InputLabels(index: inputIndex, name: configuration.name, type: "file", topic: configuration.topic),
            counters: counters, inFlightBytes: inFlightBytes, openFiles: openFileCount, files: fileLags())
    }
}
