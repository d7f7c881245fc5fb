/// The agent's whole configuration, as loaded from `agent.yaml` by `AgentConfigurationLoader`.
public struct AgentConfiguration: Sendable {
    /// Bootstrap brokers, `host:port`.
    public var brokers: [BrokerEndpoint]
    /// The host name put in records' `host` header and key. Default: the machine's hostname.
    public var host: String
    /// Where positions are kept. Default: `/var/lib/tributary-agent`.
    public var stateDirectory: String
    /// Record batch compression. Default: lz4.
    public var compression: Compression
    /// How long the producer waits to fill a batch. Default: 50 ms.
    public var linger: Duration
    /// Largest record batch in bytes. Default: 1 MiB.
    public var batchBytes: Int
    /// Bytes of lines read but not yet acknowledged (plus a per-record overhead); reading stops at this budget.
    /// Default: 4 MiB.
    public var maxInFlightBytes: Int
    /// TLS to the brokers, when set.
    public var tls: TLS?
    /// SASL authentication to the brokers, when set.
    public var sasl: SASL?
    /// Address of the Prometheus `/metrics` and `/health` listener; nil disables it.
    public var metricsListen: BrokerEndpoint?
    /// The inputs, in config order.
    public var inputs: [Input]
    /// How long SIGTERM/SIGINT waits for the producer to deliver what was read before positions are saved.
    /// Default: 10 s.
    public var shutdownTimeout: Duration = .seconds(10)

    /// Record batch compression codecs.
    public enum Compression: String, Sendable, CaseIterable {
        case none, gzip, snappy, lz4, zstd
    }

    /// TLS settings for broker connections.
    public struct TLS: Sendable, Equatable {
        /// PEM file of CA certificates to trust; the system store when nil.
        public var caFile: String?
        /// PEM client certificate (needs `keyFile`).
        public var certFile: String?
        /// PEM private key of the client certificate.
        public var keyFile: String?
        /// Name to verify in the broker's certificate; the broker's host when nil.
        public var serverName: String?
        /// Whether to verify the broker's certificate. Default: true.
        public var verify: Bool = true
    }

    /// SASL settings for broker connections.
    public struct SASL: Sendable, Equatable {
        /// SASL mechanisms the agent speaks.
        public enum Mechanism: String, Sendable, CaseIterable {
            case plain = "PLAIN"
            case scramSHA256 = "SCRAM-SHA-256"
            case scramSHA512 = "SCRAM-SHA-512"
        }
        public var mechanism: Mechanism
        public var username: String
        /// Either the password itself or `passwordFile` (read at start).
        public var password: String?
        public var passwordFile: String?
    }

    /// One input.
    public enum Input: Sendable {
        case file(FileInputConfiguration)
        case journald(JournaldInputConfiguration)

        /// The topic the input ships to.
        public var topic: String {
            switch self {
            case .file(let file): file.topic
            case .journald(let journal): journal.topic
            }
        }
    }
}

/// `host:port` of a broker or listener.
public struct BrokerEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `host:port` or `[ipv6]:port`; nil when malformed or the port is outside 1...65535
    /// (0 too when `allowPortZero`).
    public init?(parsing text: String, allowPortZero: Bool = false) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return nil }
        }
        guard !host.isEmpty, !host.contains(where: \.isWhitespace), let port = Int(portText),
            port <= 65535, port >= (allowPortZero ? 0 : 1)
        else { return nil }
        self.host = String(host)
        self.port = port
    }
}

/// Which bytes become a record's key.
public enum RecordKeyChoice: String, Sendable, CaseIterable {
    /// The agent's host name (default: a host's lines stay in order in one partition).
    case host
    /// The source file path (or `journald`).
    case source
    /// No key.
    case none
}

/// Where a file never seen before starts.
public enum StartPosition: String, Sendable, CaseIterable {
    case beginning, end
}

/// A `type: file` input.
public struct FileInputConfiguration: Sendable {
    public var topic: String
    /// Names the input's position file (`files-<name>.json` in the state directory); unique among file inputs.
    /// Default: the topic.
    public var name: String
    /// Glob patterns of files to tail (absolute).
    public var paths: [String]
    /// Glob patterns of files to leave alone, matched against the full path and the file name.
    public var exclude: [String] = []
    /// Where files present at start and never seen before begin; files appearing later are read from the beginning.
    public var startAt: StartPosition = .end
    public var key: RecordKeyChoice = .host
    /// Longer lines are split into pieces of this size, each marked truncated. Default: 1 MiB.
    public var maxLineBytes: Int = 1 << 20
    /// Joining of continuation lines, when set.
    public var multiline: Multiline?
    /// How long a partial last line waits for its newline after the file stopped growing. Default: 5 s.
    public var partialLineTimeout: Duration = .seconds(5)
    /// Files not growing for this long are closed (and reopened when they grow). Default: 5 min.
    public var closeIdleAfter: Duration = .seconds(300)
    /// Most files open at once. Default: 1024.
    public var maxOpenFiles: Int = 1024
    /// Interval of the full rescan of the globs, besides inotify. Default: 10 s.
    public var rescanInterval: Duration = .seconds(10)
    /// How many leading bytes identify a file's content. Default: 1024.
    public var fingerprintBytes: Int = 1024

    /// Multiline joining: a line matching `startPattern` starts an event, other lines are appended to it.
    public struct Multiline: Sendable {
        public var startPattern: LinePattern
        /// An event is shipped when no continuation line came for this long. Default: 1 s.
        public var flushTimeout: Duration = .seconds(1)

        public init(startPattern: LinePattern, flushTimeout: Duration = .seconds(1)) {
            self.startPattern = startPattern
            self.flushTimeout = flushTimeout
        }
    }

    public init(topic: String, paths: [String]) {
        self.topic = topic
        self.name = topic
        self.paths = paths
    }
}

/// A `type: journald` input: the local journal or a directory of journal files, filtered by the journal.
public struct JournaldInputConfiguration: Sendable {
    public var topic: String
    /// Names the input's cursor file (`journald-<name>.cursor` in the state directory); unique among journald
    /// inputs. Default: the topic.
    public var name: String
    /// Where reading starts when no cursor was saved yet: the oldest entry or only new ones. Default: end.
    public var startAt: StartPosition = .end
    /// Units to read (`_SYSTEMD_UNIT=`), empty for all.
    public var units: [String] = []
    /// Extra `FIELD=value` matches.
    public var matches: [String] = []
    /// A directory of journal files instead of the local journal.
    public var directory: String?
    public var key: RecordKeyChoice = .host
    /// Longer `MESSAGE`s are split into pieces of this size, each marked truncated. Default: 1 MiB.
    public var maxLineBytes: Int = 1 << 20

    public init(topic: String) {
        self.topic = topic
        self.name = topic
    }
}
