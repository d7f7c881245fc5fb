/// Journal field names and `FIELD=value` matches, validated before they reach libsystemd so a bad config names
/// the offending entry instead of an `EINVAL`.
public enum JournalFieldName {
    /// The longest field name journald accepts.
    public static let maximumLength = 64

    /// Checks `name` against the journal's rules: `A-Z`, `0-9` and `_`, not starting with a digit, 1…64 bytes.
    public static func validate(_ name: String) throws(JournalError) {
        let bytes = Array(name.utf8)
        if let reason = problem(bytes) { throw .invalidFieldName(name: name, reason: reason) }
    }

    /// Why `bytes` is not a valid field name, or `nil` when it is.
    static func problem(_ bytes: some Collection<UInt8>) -> String? {
        guard let first = bytes.first else { return "empty field name" }
        if bytes.count > maximumLength { return "longer than \(maximumLength) bytes" }
        if first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") { return "starts with a digit" }
        for byte in bytes {
            let upper = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")
            let digit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            if !(upper || digit || byte == UInt8(ascii: "_")) {
                return "only A-Z, 0-9 and _ are allowed"
            }
        }
        return nil
    }
}

/// The matches of one journal reader, as the journal applies them: matches on the same field are ORed, matches on
/// different fields are ANDed (`sd_journal_add_match` within one conjunction).
public struct JournalMatches: Sendable, Equatable {
    /// `FIELD=value` byte strings in the order they are added.
    public private(set) var matches: [[UInt8]] = []

    /// No matches: every entry.
    public init() {}

    /// Units become `_SYSTEMD_UNIT=<unit>` matches (ORed with each other), `fields` are `FIELD=value` strings.
    ///
    /// - Throws: `JournalError.invalidMatch` naming the first malformed match.
    public init(units: [String] = [], fields: [String] = []) throws(JournalError) {
        for unit in units {
            guard !unit.isEmpty else { throw .invalidMatch(match: "_SYSTEMD_UNIT=", reason: "empty unit name") }
            try append(field: "_SYSTEMD_UNIT=" + unit)
        }
        for field in fields { try append(field: field) }
    }

    /// Adds one `FIELD=value` match; the value may be any bytes (including empty).
    public mutating func append(field match: String) throws(JournalError) {
        try append(bytes: Array(match.utf8), display: match)
    }

    /// Adds one `FIELD=value` match given as bytes.
    public mutating func append(bytes match: [UInt8]) throws(JournalError) {
        try append(bytes: match, display: String(decoding: match, as: UTF8.self))
    }

    private mutating func append(bytes match: [UInt8], display: String) throws(JournalError) {
        guard let equals = match.firstIndex(of: UInt8(ascii: "=")) else {
            throw .invalidMatch(match: display, reason: "expected FIELD=value")
        }
        if let reason = JournalFieldName.problem(match[..<equals]) {
            throw .invalidMatch(match: display, reason: "field name: \(reason)")
        }
        matches.append(match)
    }

    /// Whether there are no matches (every entry is read).
    public var isEmpty: Bool { matches.isEmpty }
}
