/// Builds a page in the Prometheus text exposition format 0.0.4: for each metric family a `# HELP` and a
/// `# TYPE` line, then its samples (`name{label="value",…} value`). Help text and label values are escaped
/// as the format requires.
struct PrometheusText {
    enum MetricType: String {
        case counter, gauge
    }

    /// One sample: label pairs in order, and the value already formatted.
    struct Sample {
        var labels: [(String, String)]
        var value: String

        init(_ labels: [(String, String)] = [], _ value: Int) {
            self.labels = labels
            self.value = String(value)
        }

        init(_ labels: [(String, String)] = [], formatted value: String) {
            self.labels = labels
            self.value = value
        }
    }

    /// The content type of the page.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private(set) var text = ""

    /// Appends a family; one with no samples is left out entirely.
    mutating func family(_ name: String, _ type: MetricType, help: String, _ samples: [Sample]) {
        guard !samples.isEmpty else { return }
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type.rawValue)\n"
        for sample in samples {
            text += name
            if !sample.labels.isEmpty {
                text += "{"
                text += sample.labels.map { "\($0.0)=\"\(Self.escapeLabelValue($0.1))\"" }.joined(separator: ",")
                text += "}"
            }
            text += " \(sample.value)\n"
        }
    }

    /// `\` → `\\`, newline → `\n`.
    static func escapeHelp(_ text: String) -> String { escape(text, quotes: false) }

    /// `\` → `\\`, `"` → `\"`, newline → `\n`.
    static func escapeLabelValue(_ text: String) -> String { escape(text, quotes: true) }

    private static func escape(_ text: String, quotes: Bool) -> String {
        var escaped = ""
        for character in text.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"" where quotes: escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// Milliseconds as decimal seconds with three fraction digits (`1795621537.042`).
    static func seconds(milliseconds: Int64) -> String {
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
