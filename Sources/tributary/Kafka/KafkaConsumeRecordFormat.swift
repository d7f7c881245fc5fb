import KafkaClient
import KafkaProtocol

/// How `tributary kafka consume` prints each record.
enum KafkaConsumeRecordFormat: String, CaseIterable, Sendable {
    /// The value's bytes exactly, then `\n` (a null value prints an empty line).
    case value
    /// One JSON object per line: topic, partition, offset, timestamp, key, headers, value.
    case json

    /// Appends `record` to `output` in this format. `jsonPrefix` is `{"topic":…,"partition":N,` for
    /// the record's partition (see `jsonPrefix(for:)`), built once per partition.
    func append(_ record: borrowing RecordView, jsonPrefix: [UInt8], to output: inout [UInt8]) {
        switch self {
        case .value:
            if let value = record.value { output.append(contentsOf: value) }
            output.append(UInt8(ascii: "\n"))
        case .json:
            output.append(contentsOf: jsonPrefix)
            output.append(contentsOf: #""offset":"#.utf8)
            JSONText.appendDecimal(record.offset, to: &output)
            output.append(contentsOf: #","timestamp":"#.utf8)
            JSONText.appendDecimal(record.timestamp, to: &output)
            output.append(contentsOf: #","key":"#.utf8)
            JSONText.appendNullableString(record.key, to: &output)
            output.append(contentsOf: #","headers":["#.utf8)
            var first = true
            for header in record.headers {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                output.append(UInt8(ascii: "["))
                JSONText.appendString(header.key, to: &output)
                output.append(UInt8(ascii: ","))
                JSONText.appendNullableString(header.value, to: &output)
                output.append(UInt8(ascii: "]"))
            }
            output.append(contentsOf: #"],"value":"#.utf8)
            JSONText.appendNullableString(record.value, to: &output)
            output.append(contentsOf: "}\n".utf8)
        }
    }

    /// `{"topic":"T","partition":N,` for `partition`.
    static func jsonPrefix(for partition: TopicPartition) -> [UInt8] {
        var prefix = Array(#"{"topic":"#.utf8)
        JSONText.appendString(Array(partition.topic.utf8), to: &prefix)
        prefix.append(contentsOf: #","partition":"#.utf8)
        JSONText.appendDecimal(Int64(partition.partition), to: &prefix)
        prefix.append(UInt8(ascii: ","))
        return prefix
    }
}

/// JSON string literals from raw bytes.
///
/// Valid UTF-8 is kept as is (with `"`, `\` and control characters escaped as JSON requires).
/// A byte that is not part of valid UTF-8 is written as the four characters `\xNN` (its backslash
/// escaped for JSON), like Python's `backslashreplace`: the output is always valid JSON and shows
/// every byte, and text that is valid UTF-8 round-trips exactly.
enum JSONText {
    static func appendNullableString(_ bytes: UnsafeRawBufferPointer?, to output: inout [UInt8]) {
        guard let bytes else {
            output.append(contentsOf: "null".utf8)
            return
        }
        appendString(bytes, to: &output)
    }

    static func appendString<Bytes: Collection<UInt8>>(_ bytes: Bytes, to output: inout [UInt8]) where Bytes.Index == Int {
        output.append(UInt8(ascii: "\""))
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte < 0x80 {
                appendASCII(byte, to: &output)
                index += 1
            } else if let length = validSequenceLength(bytes, at: index) {
                output.append(contentsOf: bytes[index..<(index + length)])
                index += length
            } else {
                output.append(contentsOf: #"\\x"#.utf8)
                output.append(hexDigit(byte >> 4))
                output.append(hexDigit(byte & 0xF))
                index += 1
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func appendASCII(_ byte: UInt8, to output: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): output.append(contentsOf: #"\""#.utf8)
        case UInt8(ascii: "\\"): output.append(contentsOf: #"\\"#.utf8)
        case UInt8(ascii: "\n"): output.append(contentsOf: #"\n"#.utf8)
        case UInt8(ascii: "\r"): output.append(contentsOf: #"\r"#.utf8)
        case UInt8(ascii: "\t"): output.append(contentsOf: #"\t"#.utf8)
        case 0..<0x20, 0x7F:
            output.append(contentsOf: #"\u00"#.utf8)
            output.append(hexDigit(byte >> 4))
            output.append(hexDigit(byte & 0xF))
        default: output.append(byte)
        }
    }

    /// The length of the well-formed UTF-8 sequence starting at `index` (Unicode Table 3-7: no
    /// overlong forms, no surrogates, nothing above U+10FFFF), or `nil`.
    private static func validSequenceLength<Bytes: Collection<UInt8>>(_ bytes: Bytes, at index: Int) -> Int? where Bytes.Index == Int {
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: return nil
        }
        guard bytes.endIndex - index >= length, secondRange.contains(bytes[index + 1]) else { return nil }
        for offset in 2..<length where !(0x80...0xBF).contains(bytes[index + offset]) { return nil }
        return length
    }

    /// Appends `value` in decimal without going through a `String`.
    static func appendDecimal(_ value: Int64, to output: inout [UInt8]) {
        if value < 0 { output.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { output.append(buffer[index]) }
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
