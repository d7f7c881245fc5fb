extension AgentConfiguration {
    /// A short human summary of what the agent will do, printed by `--check-config`.
    public var summary: String {
        var lines = [
            "brokers: \(brokers.map(\.description).joined(separator: ", "))",
            "host: \(host)",
            "state_dir: \(stateDirectory)",
            "compression: \(compression.rawValue), linger \(linger), batch \(batchBytes) bytes, in flight \(maxInFlightBytes) bytes",
        ]
        if tls != nil { lines.append("tls: on") }
        if let sasl { lines.append("sasl: \(sasl.mechanism.rawValue) as \(sasl.username)") }
        if let metricsListen { lines.append("metrics: \(metricsListen)") }
        for (index, input) in inputs.enumerated() {
            switch input {
            case .file(let file):
                var text = "inputs[\(index)]: file → \(file.topic): \(file.paths.joined(separator: ", "))"
                if !file.exclude.isEmpty { text += " (excluding \(file.exclude.joined(separator: ", ")))" }
                text += ", start_at \(file.startAt.rawValue), key \(file.key.rawValue)"
                if let multiline = file.multiline { text += ", multiline /\(multiline.startPattern.source)/" }
                lines.append(text)
            case .journald(let journal):
                var text = "inputs[\(index)]: journald → \(journal.topic)"
                if !journal.units.isEmpty { text += ", units \(journal.units.joined(separator: ", "))" }
                if !journal.matches.isEmpty { text += ", matches \(journal.matches.joined(separator: ", "))" }
                if let directory = journal.directory { text += ", directory \(directory)" }
                text += ", start_at \(journal.startAt.rawValue), key \(journal.key.rawValue), cursor file journald-\(journal.name).cursor"
                lines.append(text)
            }
        }
        return lines.joined(separator: "\n")
    }
}
