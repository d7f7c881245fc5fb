/// The `host:port` of a Kafka broker.
public struct KafkaBrokerAddress: Hashable, Sendable, CustomStringConvertible {
    /// Host name or IP address (IPv6 without brackets).
    public var host: String
    /// TCP port, 1...65535.
    public var port: Int

    /// Creates an address from its parts.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; an IPv6 host is written in brackets (`[::1]:9092`).
    ///
    /// - Throws: ``KafkaClientError`` (`invalidConfiguration`) naming the text when the host is
    ///   empty or the port is missing, not a number or outside 1...65535.
    public init(parsing text: String) throws(KafkaClientError) {
        let trimmed = text.trimmingSpaces
        let host: Substring
        let portText: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]"), trimmed[trimmed.index(after: close)...].hasPrefix(":") else {
                throw Self.invalid(text, "expected [IPv6]:PORT")
            }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            portText = trimmed[trimmed.index(close, offsetBy: 2)...]
        } else {
            guard let colon = trimmed.lastIndex(of: ":") else { throw Self.invalid(text, "expected HOST:PORT") }
            host = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
            guard !host.contains(":") else { throw Self.invalid(text, "write an IPv6 host in brackets: [HOST]:PORT") }
        }
        guard !host.isEmpty else { throw Self.invalid(text, "the host is empty") }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw Self.invalid(text, "the port must be a number in 1...65535")
        }
        self.init(host: String(host), port: port)
    }

    /// Parses a comma-separated list such as `kafka1:9092,kafka2:9092` (empty entries are skipped).
    ///
    /// - Throws: ``KafkaClientError`` for the first invalid entry, or if the list is empty.
    public static func parseList(_ text: String) throws(KafkaClientError) -> [KafkaBrokerAddress] {
        var addresses: [KafkaBrokerAddress] = []
        for entry in text.split(separator: ",") where !String(entry).trimmingSpaces.isEmpty {
            addresses.append(try KafkaBrokerAddress(parsing: String(entry)))
        }
        guard !addresses.isEmpty else {
            throw KafkaClientError(.invalidConfiguration, "broker list \"\(text)\" names no broker (expected HOST:PORT,...)")
        }
        return addresses
    }

    /// `host:port`, with brackets around an IPv6 host.
    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }

    private static func invalid(_ text: String, _ reason: String) -> KafkaClientError {
        KafkaClientError(.invalidConfiguration, "invalid broker address \"\(text)\": \(reason)")
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
