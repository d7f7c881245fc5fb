/// Loads and strictly validates `agent.yaml`: unknown keys, wrong types and bad values are all reported at once,
/// each naming file, line and key path.
public enum AgentConfigurationLoader {
    /// Reads and validates the config at `path`.
    public static func load(path: String, defaultHost: String = currentHostName()) throws(ConfigurationError)
        -> AgentConfiguration
    {
        switch LocalSystem.readFile(path) {
        case .success(let bytes):
            return try parse(String(decoding: bytes, as: UTF8.self), file: path, defaultHost: defaultHost)
        case .failure(let failure):
            throw ConfigurationError(issues: [
                ConfigurationIssue(file: path, line: nil, keyPath: "", message: "config file \(failure.reason)")
            ])
        }
    }

    /// Validates config text; `file` names it in messages.
    public static func parse(_ text: String, file: String, defaultHost: String = currentHostName())
        throws(ConfigurationError) -> AgentConfiguration
    {
        let root: YAMLNode?
        do {
            root = try YAMLComposer.compose(text)
        } catch {
            throw ConfigurationError(issues: [
                ConfigurationIssue(file: file, line: nil, keyPath: "", message: "not valid YAML: \(error)")
            ])
        }
        guard let root else {
            throw ConfigurationError(issues: [
                ConfigurationIssue(file: file, line: nil, keyPath: "", message: "the config is empty")
            ])
        }
        var reader = ConfigNodeReader(file: file)
        let config = readRoot(root, &reader, defaultHost: defaultHost)
        guard reader.issues.isEmpty, let config else {
            let ordered = reader.issues.enumerated().sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }
            throw ConfigurationError(issues: ordered.map(\.element))
        }
        return config
    }

    /// This machine's host name.
    public static func currentHostName() -> String {
        LocalSystem.hostName()
    }

    private static let rootKeys: Set<String> = [
        "brokers", "host", "state_dir", "compression", "linger", "batch_bytes", "max_in_flight_bytes", "tls", "sasl",
        "metrics", "inputs", "shutdown_timeout",
    ]

    private static func readRoot(_ root: YAMLNode, _ r: inout ConfigNodeReader, defaultHost: String)
        -> AgentConfiguration?
    {
        guard let map = r.mapping(root, "", allowed: rootKeys) else { return nil }
        var brokers: [BrokerEndpoint] = []
        if let node = map["brokers"] {
            if let list = r.strings(node, "brokers", allowEmptyList: false) {
                for (index, text) in list.enumerated() {
                    if let endpoint = BrokerEndpoint(parsing: text) {
                        brokers.append(endpoint)
                    } else {
                        r.report("brokers[\(index)]", node, "\"\(text)\" is not host:port with a port 1...65535")
                    }
                }
            }
        } else {
            r.report("brokers", root, "missing (list the bootstrap brokers as host:port)")
        }
        var host = defaultHost
        if let node = map["host"], let value = r.string(node, "host") { host = value }
        var stateDirectory = "/var/lib/tributary-agent"
        if let node = map["state_dir"], let value = r.string(node, "state_dir") {
            if value.hasPrefix("/") { stateDirectory = value } else { r.report("state_dir", node, "must be an absolute path") }
        }
        var compression = AgentConfiguration.Compression.lz4
        if let node = map["compression"], let value = r.choice(node, "compression", as: AgentConfiguration.Compression.self) {
            compression = value
        }
        var linger = Duration.milliseconds(50)
        if let node = map["linger"], let value = r.duration(node, "linger", range: .zero ... .seconds(60)) {
            linger = value
        }
        var batchBytes = 1 << 20
        if let node = map["batch_bytes"], let value = r.byteSize(node, "batch_bytes", range: 1024 ... (64 << 20)) {
            batchBytes = value
        }
        var maxInFlight = 4 << 20
        if let node = map["max_in_flight_bytes"],
            let value = r.byteSize(node, "max_in_flight_bytes", range: 1024 ... (1 << 40))
        {
            maxInFlight = value
        }
        if maxInFlight < batchBytes {
            r.report("max_in_flight_bytes", map["max_in_flight_bytes"] ?? root, "must be at least batch_bytes (\(batchBytes))")
        }
        var shutdownTimeout = Duration.seconds(10)
        if let node = map["shutdown_timeout"], let value = r.duration(node, "shutdown_timeout", range: .zero ... .seconds(600)) {
            shutdownTimeout = value
        }
        let tls = map["tls"].flatMap { ConfigNodeReader.isNull($0) ? nil : readTLS($0, &r) }
        let sasl = map["sasl"].flatMap { ConfigNodeReader.isNull($0) ? nil : readSASL($0, &r) }
        var metrics: BrokerEndpoint?
        if let node = map["metrics"], !ConfigNodeReader.isNull(node),
            let metricsMap = r.mapping(node, "metrics", allowed: ["listen"]),
            let listenNode = metricsMap["listen"], let text = r.string(listenNode, "metrics.listen")
        {
            metrics = BrokerEndpoint(parsing: text, allowPortZero: true)
            if metrics == nil { r.report("metrics.listen", listenNode, "\"\(text)\" is not host:port") }
        }
        var inputs: [AgentConfiguration.Input] = []
        if let node = map["inputs"] {
            if case .sequence(let sequence) = node {
                if sequence.isEmpty { r.report("inputs", node, "must list at least one input") }
                var fileInputNames: [String: Int] = [:]
                var journaldInputNames: [String: Int] = [:]
                for (index, element) in sequence.enumerated() {
                    guard let input = readInput(element, "inputs[\(index)]", &r) else { continue }
                    inputs.append(input)
                    let (name, keeps): (String, String) = switch input {
                    case .file(let file): (file.name, "file inputs keep positions")
                    case .journald(let journal): (journal.name, "journald inputs keep their cursor")
                    }
                    let first: Int?
                    if case .file = input {
                        first = fileInputNames[name]
                        if first == nil { fileInputNames[name] = index }
                    } else {
                        first = journaldInputNames[name]
                        if first == nil { journaldInputNames[name] = index }
                    }
                    if let first {
                        r.report(
                            "inputs[\(index)].name", element,
                            "\"\(name)\" is already the name of inputs[\(first)] (\(keeps) by name, which defaults to the topic; set name: to tell them apart)")
                    }
                }
            } else {
                r.report("inputs", node, "expected a list of inputs, got \(ConfigNodeReader.kind(node))")
            }
        } else {
            r.report("inputs", root, "missing (list at least one input)")
        }
        return AgentConfiguration(
            brokers: brokers, host: host, stateDirectory: stateDirectory, compression: compression, linger: linger,
            batchBytes: batchBytes, maxInFlightBytes: maxInFlight, tls: tls, sasl: sasl, metricsListen: metrics,
            inputs: inputs, shutdownTimeout: shutdownTimeout)
    }

    private static func readTLS(_ node: YAMLNode, _ r: inout ConfigNodeReader) -> AgentConfiguration.TLS? {
        guard let map = r.mapping(node, "tls", allowed: ["ca_file", "cert_file", "key_file", "server_name", "verify"])
        else { return nil }
        var tls = AgentConfiguration.TLS()
        for (key, keyPath) in [("ca_file", \AgentConfiguration.TLS.caFile), ("cert_file", \.certFile), ("key_file", \.keyFile)] {
            guard let valueNode = map[key], let path = r.string(valueNode, "tls.\(key)") else { continue }
            if !LocalSystem.isReadableFile(path) {
                r.report("tls.\(key)", valueNode, "cannot read \(path)")
            }
            tls[keyPath: keyPath] = path
        }
        if (tls.certFile == nil) != (tls.keyFile == nil), map["cert_file"] != nil || map["key_file"] != nil {
            r.report("tls", node, "cert_file and key_file go together (set both or neither)")
        }
        if let valueNode = map["server_name"] { tls.serverName = r.string(valueNode, "tls.server_name") }
        if let valueNode = map["verify"], let verify = r.bool(valueNode, "tls.verify") { tls.verify = verify }
        return tls
    }

    private static func readSASL(_ node: YAMLNode, _ r: inout ConfigNodeReader) -> AgentConfiguration.SASL? {
        guard let map = r.mapping(node, "sasl", allowed: ["mechanism", "username", "password", "password_file"])
        else { return nil }
        let mechanism = map["mechanism"].flatMap { r.choice($0, "sasl.mechanism", as: AgentConfiguration.SASL.Mechanism.self) }
        if map["mechanism"] == nil { r.report("sasl.mechanism", node, "missing (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)") }
        let username = map["username"].flatMap { r.string($0, "sasl.username") }
        if map["username"] == nil { r.report("sasl.username", node, "missing") }
        let password = map["password"].flatMap { r.string($0, "sasl.password") }
        let passwordFile = map["password_file"].flatMap { r.string($0, "sasl.password_file") }
        if map["password"] != nil && map["password_file"] != nil {
            r.report("sasl", node, "set password or password_file, not both")
        } else if map["password"] == nil && map["password_file"] == nil {
            r.report("sasl", node, "missing password or password_file")
        }
        if let passwordFile, let fileNode = map["password_file"], !LocalSystem.isReadableFile(passwordFile) {
            r.report("sasl.password_file", fileNode, "cannot read \(passwordFile)")
        }
        guard let mechanism, let username else { return nil }
        return AgentConfiguration.SASL(mechanism: mechanism, username: username, password: password, passwordFile: passwordFile)
    }

    private static let fileKeys: Set<String> = [
        "type", "name", "topic", "paths", "exclude", "start_at", "key", "max_line_bytes", "multiline", "partial_line_timeout",
        "close_idle_after", "max_open_files", "rescan_interval", "fingerprint_bytes",
    ]
    private static let journaldKeys: Set<String> = [
        "type", "name", "topic", "units", "matches", "directory", "key", "start_at", "max_line_bytes",
    ]

    private static func readInput(_ node: YAMLNode, _ path: String, _ r: inout ConfigNodeReader) -> AgentConfiguration.Input? {
        guard case .mapping(let mapping) = node else {
            r.report(path, node, "expected a mapping with type: file or type: journald, got \(ConfigNodeReader.kind(node))")
            return nil
        }
        let typeNode = mapping.first { $0.key.string == "type" }?.value
        guard let typeNode else {
            r.report("\(path).type", node, "missing (file or journald)")
            return nil
        }
        switch r.string(typeNode, "\(path).type") {
        case "file": return readFileInput(node, path, &r).map { .file($0) }
        case "journald": return readJournaldInput(node, path, &r).map { .journald($0) }
        case let other?:
            r.report("\(path).type", typeNode, "\"\(other)\" is not one of \"file\", \"journald\"")
            return nil
        case nil: return nil
        }
    }

    private static func readTopic(_ map: [String: YAMLNode], _ node: YAMLNode, _ path: String, _ r: inout ConfigNodeReader) -> String? {
        guard let topicNode = map["topic"] else {
            r.report("\(path).topic", node, "missing")
            return nil
        }
        guard let topic = r.string(topicNode, "\(path).topic") else { return nil }
        if let problem = TopicName.problem(topic) {
            r.report("\(path).topic", topicNode, problem)
            return nil
        }
        return topic
    }

    private static func readFileInput(_ node: YAMLNode, _ path: String, _ r: inout ConfigNodeReader) -> FileInputConfiguration? {
        guard let map = r.mapping(node, path, allowed: fileKeys) else { return nil }
        let topic = readTopic(map, node, path, &r)
        var paths: [String]?
        if let pathsNode = map["paths"] {
            paths = r.strings(pathsNode, "\(path).paths", allowEmptyList: false)
            for (index, pattern) in (paths ?? []).enumerated() where !pattern.hasPrefix("/") {
                r.report("\(path).paths[\(index)]", pathsNode, "\"\(pattern)\" must be an absolute path or glob")
            }
        } else {
            r.report("\(path).paths", node, "missing (list the files or globs to tail)")
        }
        // Without a usable topic or paths the input is dropped, but its other keys are still checked.
        var input = FileInputConfiguration(topic: topic ?? "", paths: paths ?? [])
        if let n = map["name"], let name = r.string(n, "\(path).name") {
            if let problem = TopicName.problem(name) { r.report("\(path).name", n, problem) } else { input.name = name }
        }
        if let n = map["exclude"], let value = r.strings(n, "\(path).exclude") { input.exclude = value }
        if let n = map["start_at"], let value = r.choice(n, "\(path).start_at", as: StartPosition.self) { input.startAt = value }
        if let n = map["key"], let value = r.choice(n, "\(path).key", as: RecordKeyChoice.self) { input.key = value }
        if let n = map["max_line_bytes"], let value = r.byteSize(n, "\(path).max_line_bytes", range: 64 ... (256 << 20)) {
            input.maxLineBytes = value
        }
        if let n = map["partial_line_timeout"],
            let value = r.duration(n, "\(path).partial_line_timeout", range: .milliseconds(10) ... .seconds(3600))
        {
            input.partialLineTimeout = value
        }
        if let n = map["close_idle_after"],
            let value = r.duration(n, "\(path).close_idle_after", range: .milliseconds(10) ... .seconds(86400))
        {
            input.closeIdleAfter = value
        }
        if let n = map["rescan_interval"],
            let value = r.duration(n, "\(path).rescan_interval", range: .milliseconds(10) ... .seconds(3600))
        {
            input.rescanInterval = value
        }
        if let n = map["max_open_files"], let value = r.integer(n, "\(path).max_open_files", range: 1 ... 1_000_000) {
            input.maxOpenFiles = value
        }
        if let n = map["fingerprint_bytes"], let value = r.byteSize(n, "\(path).fingerprint_bytes", range: 16 ... 65536) {
            input.fingerprintBytes = value
        }
        if let n = map["multiline"], let multiline = readMultiline(n, "\(path).multiline", &r) {
            input.multiline = multiline
        }
        return topic != nil && paths != nil ? input : nil
    }

    private static func readMultiline(_ node: YAMLNode, _ path: String, _ r: inout ConfigNodeReader)
        -> FileInputConfiguration.Multiline?
    {
        guard let map = r.mapping(node, path, allowed: ["start_pattern", "flush_timeout"]) else { return nil }
        guard let patternNode = map["start_pattern"] else {
            r.report("\(path).start_pattern", node, "missing (a PCRE2 pattern matching the first line of an event)")
            return nil
        }
        guard let source = r.string(patternNode, "\(path).start_pattern") else { return nil }
        let pattern: LinePattern
        do {
            pattern = try LinePattern(source)
        } catch {
            r.report("\(path).start_pattern", patternNode, error.description)
            return nil
        }
        var multiline = FileInputConfiguration.Multiline(startPattern: pattern)
        if let n = map["flush_timeout"],
            let value = r.duration(n, "\(path).flush_timeout", range: .milliseconds(1) ... .seconds(3600))
        {
            multiline.flushTimeout = value
        }
        return multiline
    }

    private static func readJournaldInput(_ node: YAMLNode, _ path: String, _ r: inout ConfigNodeReader)
        -> JournaldInputConfiguration?
    {
        guard let map = r.mapping(node, path, allowed: journaldKeys) else { return nil }
        let topic = readTopic(map, node, path, &r)
        var input = JournaldInputConfiguration(topic: topic ?? "")
        if let n = map["units"], let units = r.strings(n, "\(path).units") { input.units = units }
        if let n = map["matches"], let matches = r.strings(n, "\(path).matches") {
            for (index, match) in matches.enumerated() {
                if let problem = JournalMatch.problem(match) { r.report("\(path).matches[\(index)]", n, problem) }
            }
            input.matches = matches
        }
        if let n = map["directory"], let directory = r.string(n, "\(path).directory") {
            if !directory.hasPrefix("/") { r.report("\(path).directory", n, "must be an absolute path") }
            input.directory = directory
        }
        if let n = map["max_line_bytes"], let value = r.byteSize(n, "\(path).max_line_bytes", range: 64 ... (256 << 20)) {
            input.maxLineBytes = value
        }
        if let n = map["key"], let value = r.choice(n, "\(path).key", as: RecordKeyChoice.self) { input.key = value }
        if let n = map["name"], let name = r.string(n, "\(path).name") {
            if let problem = TopicName.problem(name) { r.report("\(path).name", n, problem) } else { input.name = name }
        }
        if let n = map["start_at"], let value = r.choice(n, "\(path).start_at", as: StartPosition.self) {
            input.startAt = value
        }
        return topic != nil ? input : nil
    }
}

/// Kafka topic name rules.
enum TopicName {
    /// Why `name` is not a valid topic name, or nil.
    static func problem(_ name: String) -> String? {
        if name.utf8.count > 249 { return "topic names are at most 249 characters" }
        if name == "." || name == ".." { return "\"\(name)\" is not a valid topic name" }
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        return allowed ? nil : "\"\(name)\" may only contain letters, digits, '.', '_' and '-'"
    }
}

/// journald `FIELD=value` match rules.
enum JournalMatch {
    /// Why `match` is not a valid journal match, or nil.
    static func problem(_ match: String) -> String? {
        guard let equals = match.firstIndex(of: "=") else { return "\"\(match)\" is not FIELD=value" }
        let field = match[..<equals]
        let valid = !field.isEmpty && field.utf8.first.map { !($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) } == true
            && field.utf8.allSatisfy { ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") }
        return valid ? nil : "field \"\(field)\" must be upper-case letters, digits and '_' (not starting with a digit)"
    }
}
