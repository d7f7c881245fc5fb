/// Walks a YAML node tree, converting values and recording every problem with its key path and line.
/// Readers return nil on a problem (after recording it) so validation continues and reports everything at once.
struct ConfigNodeReader {
    let file: String
    private(set) var issues: [ConfigurationIssue] = []

    init(file: String) { self.file = file }

    mutating func report(_ path: String, _ node: YAMLNode?, _ message: String) {
        issues.append(ConfigurationIssue(file: file, line: node?.mark.map(\.line), keyPath: path, message: message))
    }

    static func isNull(_ node: YAMLNode) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" || scalar.string == "Null"
            || scalar.string == "NULL"
    }

    /// The entries of a mapping; unknown and duplicate keys are reported.
    mutating func mapping(_ node: YAMLNode, _ path: String, allowed: Set<String>) -> [String: YAMLNode]? {
        guard case .mapping(let mapping) = node else {
            report(path, node, "expected a mapping (key: value), got \(Self.kind(node))")
            return nil
        }
        var result: [String: YAMLNode] = [:]
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode else {
                report(path, keyNode, "keys must be plain names, got \(Self.kind(keyNode))")
                continue
            }
            let name = key.string
            let childPath = path.isEmpty ? name : "\(path).\(name)"
            if !allowed.contains(name) {
                let known = allowed.sorted().joined(separator: ", ")
                report(childPath, keyNode, "unknown key (allowed here: \(known))")
            } else if result[name] != nil {
                report(childPath, keyNode, "duplicate key")
            } else {
                result[name] = value
            }
        }
        return result
    }

    mutating func string(_ node: YAMLNode, _ path: String, allowEmpty: Bool = false) -> String? {
        guard case .scalar(let scalar) = node, !Self.isNull(node) || (allowEmpty && scalar.style != .plain) else {
            report(path, node, "expected a string, got \(Self.kind(node))")
            return nil
        }
        if scalar.string.isEmpty && !allowEmpty {
            report(path, node, "must not be empty")
            return nil
        }
        return scalar.string
    }

    mutating func strings(_ node: YAMLNode, _ path: String, allowEmptyList: Bool = true) -> [String]? {
        guard case .sequence(let sequence) = node else {
            report(path, node, "expected a list, got \(Self.kind(node))")
            return nil
        }
        var result: [String] = []
        var ok = true
        for (index, element) in sequence.enumerated() {
            if let value = string(element, "\(path)[\(index)]") { result.append(value) } else { ok = false }
        }
        if ok && result.isEmpty && !allowEmptyList {
            report(path, node, "must list at least one entry")
            return nil
        }
        return ok ? result : nil
    }

    mutating func bool(_ node: YAMLNode, _ path: String) -> Bool? {
        if case .scalar(let scalar) = node, scalar.style == .plain {
            switch scalar.string {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        report(path, node, "expected true or false, got \(Self.describe(node))")
        return nil
    }

    mutating func integer(_ node: YAMLNode, _ path: String, range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let scalar) = node, scalar.style == .plain, let value = Int(scalar.string) else {
            report(path, node, "expected an integer, got \(Self.describe(node))")
            return nil
        }
        guard range.contains(value) else {
            report(path, node, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ path: String, as: T.Type) -> T?
    where T.RawValue == String {
        guard let text = string(node, path) else { return nil }
        if let value = T(rawValue: text) { return value }
        let allowed = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        report(path, node, "\"\(text)\" is not one of \(allowed)")
        return nil
    }

    /// A size: an integer number of bytes or a string with a unit (`64KiB`, `16MiB`, `1GiB`, `500KB`, `2MB`).
    mutating func byteSize(_ node: YAMLNode, _ path: String, range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let scalar) = node, !Self.isNull(node) else {
            report(path, node, "expected a size in bytes (e.g. 1048576 or \"1MiB\"), got \(Self.kind(node))")
            return nil
        }
        let text = scalar.string.trimmingWhitespace()
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000),
            ("GB", 1_000_000_000), ("B", 1), ("", 1),
        ]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count).trimmingWhitespace()
            guard let value = Int(number) else { continue }
            let (bytes, overflow) = value.multipliedReportingOverflow(by: factor)
            guard !overflow, range.contains(bytes) else {
                report(path, node, "\(text) is out of range \(range.lowerBound)...\(range.upperBound) bytes")
                return nil
            }
            return bytes
        }
        report(path, node, "\"\(text)\" is not a size (use bytes, or a number with KiB, MiB, GiB, KB, MB, GB)")
        return nil
    }

    /// A duration with a unit: `250ms`, `5s`, `2m`, `1h`.
    mutating func duration(_ node: YAMLNode, _ path: String, range: ClosedRange<Duration>) -> Duration? {
        guard case .scalar(let scalar) = node, !Self.isNull(node) else {
            report(path, node, "expected a duration such as \"500ms\" or \"5s\", got \(Self.kind(node))")
            return nil
        }
        let text = scalar.string.trimmingWhitespace()
        let units: [(String, Duration)] = [
            ("ms", .milliseconds(1)), ("s", .seconds(1)), ("m", .seconds(60)), ("h", .seconds(3600)),
        ]
        for (suffix, unit) in units where text.hasSuffix(suffix) {
            guard let value = Int(text.dropLast(suffix.count)), value >= 0 else { continue }
            let result = unit * value
            guard range.contains(result) else {
                report(path, node, "\(text) is out of range \(range.lowerBound)...\(range.upperBound)")
                return nil
            }
            return result
        }
        report(path, node, "\"\(text)\" is not a duration (a whole number with ms, s, m or h, e.g. \"500ms\")")
        return nil
    }

    static func kind(_ node: YAMLNode) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar where isNull(node): "nothing (null)"
        case .scalar(let scalar): "\"\(scalar.string)\""
        }
    }

    static func describe(_ node: YAMLNode) -> String { kind(node) }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
