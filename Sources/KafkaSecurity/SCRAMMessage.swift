/// The attribute syntax of SCRAM messages (RFC 5802 §5): `a=value` pairs separated by commas.
struct SCRAMAttributes {
    /// The attributes in order, as (name, value).
    var pairs: [(name: Character, value: Substring)]
    /// The mechanism name for error messages.
    let mechanism: String

    /// Splits `text` into attributes.
    ///
    /// - Throws: ``KafkaSASLError/malformedMessage(mechanism:reason:)`` for a part that is not `x=value`.
    init(_ text: Substring, mechanism: String) throws(KafkaSASLError) {
        self.mechanism = mechanism
        self.pairs = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard part.count >= 2, let name = part.first, name.isASCII, name.isLetter,
                part[part.index(after: part.startIndex)] == "="
            else {
                throw .malformedMessage(mechanism: mechanism, reason: "\"\(part.prefix(40))\" is not an attribute")
            }
            self.pairs.append((name, part.dropFirst(2)))
        }
    }

    /// The value of attribute `name` at position `index`, or a malformed-message error naming what was expected.
    func require(_ name: Character, at index: Int, _ meaning: String) throws(KafkaSASLError) -> Substring {
        guard index < self.pairs.count, self.pairs[index].name == name else {
            throw .malformedMessage(mechanism: self.mechanism, reason: "expected \(meaning) (\(name)=) as attribute \(index + 1)")
        }
        return self.pairs[index].value
    }
}

/// SCRAM message helpers shared by client and server.
enum SCRAMMessage {
    /// The GS2 header Kafka clients send: no channel binding, no authorization identity.
    static let gs2Header = "n,,"

    /// `text` decoded as UTF-8, or a malformed-message error.
    static func text(_ bytes: some Collection<UInt8>, mechanism: String) throws(KafkaSASLError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .malformedMessage(mechanism: mechanism, reason: "not valid UTF-8")
        }
        return text
    }

    /// A user name with `=` and `,` escaped as `=3D` and `=2C` (RFC 5802 §5.1).
    static func escape(username: String) -> String {
        var escaped = ""
        for character in username {
            switch character {
            case "=": escaped += "=3D"
            case ",": escaped += "=2C"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// The user name with `=3D` and `=2C` unescaped; any other `=` is an error.
    static func unescape(username: Substring, mechanism: String) throws(KafkaSASLError) -> String {
        var result = ""
        var index = username.startIndex
        while index < username.endIndex {
            let character = username[index]
            if character == "=" {
                let code = username[username.index(after: index)...].prefix(2)
                switch code {
                case "3D": result.append("=")
                case "2C": result.append(",")
                default:
                    throw .malformedMessage(mechanism: mechanism, reason: "user name has an invalid escape \"=\(code)\"")
                }
                index = username.index(index, offsetBy: 3)
            } else {
                result.append(character)
                index = username.index(after: index)
            }
        }
        return result
    }

    /// Decodes a base64 attribute value, or a malformed-message error naming `field`.
    static func base64(_ value: Substring, _ field: String, mechanism: String) throws(KafkaSASLError) -> [UInt8] {
        guard let bytes = Base64.decode(value) else {
            throw .malformedMessage(mechanism: mechanism, reason: "\(field) is not valid base64")
        }
        return bytes
    }

    /// Checks that a nonce is non-empty printable ASCII without commas.
    static func validateNonce(_ nonce: Substring, mechanism: String) throws(KafkaSASLError) {
        guard !nonce.isEmpty, nonce.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E && $0 != UInt8(ascii: ",") }) else {
            throw .malformedMessage(mechanism: mechanism, reason: "nonce must be non-empty printable ASCII")
        }
    }

    /// `lhs ⊕ rhs` for equal-length byte strings.
    static func xor(_ lhs: [UInt8], _ rhs: [UInt8]) -> [UInt8] {
        zip(lhs, rhs).map { $0 ^ $1 }
    }
}
