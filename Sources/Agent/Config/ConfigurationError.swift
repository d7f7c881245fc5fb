/// One thing wrong in a config file: where (file, line, key path) and what.
public struct ConfigurationIssue: Sendable, Equatable, CustomStringConvertible {
    /// The config file.
    public var file: String
    /// 1-based line of the offending node, when known.
    public var line: Int?
    /// The key path, e.g. `inputs[1].start_at`; empty for the document itself.
    public var keyPath: String
    /// What is wrong.
    public var message: String

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return keyPath.isEmpty ? "\(location): \(message)" : "\(location): \(keyPath): \(message)"
    }
}

/// A config that cannot be used; `issues` lists every problem found, in document order.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigurationIssue]
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
