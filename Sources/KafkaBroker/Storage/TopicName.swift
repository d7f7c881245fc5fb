import KafkaProtocol

/// Kafka's rules for topic names, checked before a name ever becomes part of a path.
public enum TopicName {
    /// The longest legal topic name (Kafka's `Topic.MAX_NAME_LENGTH`).
    public static let maximumLength = 249

    /// Checks `name` against Kafka's rules: 1 to 249 characters from `[a-zA-Z0-9._-]`, and not
    /// `.` or `..`. Anything that passes is a single, harmless path component.
    ///
    /// - Throws: `StorageError` with `INVALID_TOPIC_EXCEPTION` naming the rule broken.
    public static func validate(_ name: String) throws(StorageError) {
        let bytes = name.utf8
        guard !bytes.isEmpty else {
            throw StorageError(.invalidTopicException, "topic name is empty")
        }
        guard bytes.count <= maximumLength else {
            throw StorageError(
                .invalidTopicException,
                "topic name is \(bytes.count) characters long, the maximum is \(maximumLength)")
        }
        guard name != ".", name != ".." else {
            throw StorageError(.invalidTopicException, "topic name cannot be '\(name)'")
        }
        for byte in bytes where !isLegal(byte) {
            throw StorageError(
                .invalidTopicException,
                "topic name '\(printable(name))' contains an illegal character; allowed are ASCII letters, digits, '.', '_' and '-'")
        }
    }

    /// Whether `name` is a legal topic name.
    public static func isValid(_ name: String) -> Bool {
        (try? validate(name)) != nil
    }

    private static func isLegal(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// The name shortened and with control characters escaped, safe to put in a message.
    private static func printable(_ name: String) -> String {
        let short = name.count > 64 ? String(name.prefix(64)) + "..." : name
        return short.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "\\u{\(String($0.value, radix: 16))}" : String($0) }
            .joined()
    }
}
