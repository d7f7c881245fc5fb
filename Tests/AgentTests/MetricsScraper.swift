import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One HTTP exchange over a plain blocking socket to 127.0.0.1 (the client side of the metrics tests).
struct HTTPExchange {
    var status: Int
    var headers: [String: String]
    var body: String
    /// Whether the server closed the connection after its response (read returned 0).
    var closedByServer: Bool

    /// Sends `request` as raw bytes and reads until the server closes or 5 s pass.
    static func send(_ request: String, port: Int) throws -> HTTPExchange {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ShipProcessError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw ShipProcessError("connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
        let bytes = Array(request.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw ShipProcessError("short write") }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        var closedByServer = false
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count == 0 { closedByServer = true; break }
            if count < 0 { break }  // timeout: the server kept the connection open
            response += chunk[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else {
            return HTTPExchange(status: 0, headers: [:], body: text, closedByServer: closedByServer)
        }
        let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return HTTPExchange(
            status: status, headers: headers, body: String(text[split.upperBound...]), closedByServer: closedByServer)
    }

    /// `GET path` with `Connection: close`.
    static func get(_ path: String, port: Int) throws -> HTTPExchange {
        try send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", port: port)
    }
}

/// A metrics page parsed strictly as Prometheus text format 0.0.4: every line is a `# HELP`, a `# TYPE` or a
/// sample of the family last typed; names and label syntax are checked, label values unescaped.
struct PrometheusPage {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    private(set) var samples: [Sample] = []
    private(set) var types: [String: String] = [:]
    private(set) var help: [String: String] = [:]

    init(parsing text: String) throws {
        guard text.hasSuffix("\n") else { throw ShipProcessError("the page does not end with a newline") }
        var currentFamily: String?
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            let where_ = "line \(number + 1) \"\(line)\""
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                guard let space = rest.firstIndex(of: " ") else { throw ShipProcessError("\(where_): HELP without text") }
                let name = String(rest[..<space])
                guard Self.isMetricName(name), help[name] == nil else { throw ShipProcessError("\(where_): bad or repeated HELP") }
                help[name] = String(rest[rest.index(after: space)...])
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                guard parts.count == 2, Self.isMetricName(String(parts[0])), ["counter", "gauge"].contains(parts[1]),
                    types[String(parts[0])] == nil, help[String(parts[0])] != nil
                else { throw ShipProcessError("\(where_): bad TYPE (or no HELP before it)") }
                types[String(parts[0])] = String(parts[1])
                currentFamily = String(parts[0])
                if parts[1] == "counter" && !parts[0].hasSuffix("_total") {
                    throw ShipProcessError("\(where_): counter name without _total")
                }
            } else {
                let sample = try Self.parseSample(Substring(line), where_)
                guard sample.name == currentFamily else { throw ShipProcessError("\(where_): sample outside its family") }
                samples.append(sample)
            }
        }
    }

    /// The value of the one sample of `name` whose labels include `labels`; nil when none or several match.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
        return matching.count == 1 ? matching[0].value : nil
    }

    private static func isMetricName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first == ":" || (first.isASCII && first.properties.isAlphabetic)
        else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0 == ":" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    private static func parseSample(_ line: Substring, _ where_: String) throws -> Sample {
        var rest = line
        let nameEnd = rest.firstIndex { $0 == "{" || $0 == " " } ?? rest.endIndex
        let name = String(rest[..<nameEnd])
        guard isMetricName(name) else { throw ShipProcessError("\(where_): bad metric name") }
        rest = rest[nameEnd...]
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                guard let equals = rest.firstIndex(of: "=") else { throw ShipProcessError("\(where_): label without =") }
                let label = String(rest[..<equals])
                guard isMetricName(label), !label.contains(":"), labels[label] == nil else { throw ShipProcessError("\(where_): bad label name") }
                rest = rest[rest.index(after: equals)...]
                guard rest.first == "\"" else { throw ShipProcessError("\(where_): label value not quoted") }
                rest = rest.dropFirst()
                var value = ""
                while true {
                    guard let character = rest.first else { throw ShipProcessError("\(where_): unterminated label value") }
                    rest = rest.dropFirst()
                    if character == "\"" { break }
                    if character == "\\" {
                        switch rest.first {
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        case "n": value += "\n"
                        default: throw ShipProcessError("\(where_): bad escape in label value")
                        }
                        rest = rest.dropFirst()
                    } else {
                        value.append(character)
                    }
                }
                labels[label] = value
                if rest.first == "," { rest = rest.dropFirst() } else if rest.first != "}" {
                    throw ShipProcessError("\(where_): expected , or } after a label")
                }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " ", let value = Double(rest.dropFirst()) else { throw ShipProcessError("\(where_): bad value") }
        return Sample(name: name, labels: labels, value: value)
    }
}

/// The `http://127.0.0.1:PORT` the agent logged as its metrics listener.
enum AgentMetricsPort {
    static let marker = "metrics listening on http://127.0.0.1:"

    /// Waits up to 30 s for the port in `stderr()`; nil if the agent did not log it.
    static func wait(_ stderr: () -> String) -> Int? {
        var port: Int?
        _ = ShipWait.until(seconds: 30) {
            let text = stderr()
            guard let range = text.range(of: marker) else { return false }
            port = Int(text[range.upperBound...].prefix { $0.isNumber })
            return port != nil
        }
        return port
    }
}
