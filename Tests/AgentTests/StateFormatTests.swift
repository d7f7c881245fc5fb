import Testing

@testable import Agent

/// The agent's own YAML composer (libyaml events) and JSON reader/writer, which replace Yams and Foundation's
/// JSON coders: what they accept, what they refuse, and that earlier agents' files still load.
@Suite("Config YAML and state JSON formats")
struct StateFormatTests {
    @Test func yamlKeepsStylesLinesOrderAndResolvesAliases() throws {
        let text = "a: &x plain\nb: 'quoted'\nc: *x\nlist:\n  - 1\n  - \"two\"\nd: |\n  block\n"
        let root = try #require(try YAMLComposer.compose(text))
        guard case .mapping(let mapping) = root else { Issue.record("not a mapping: \(root)"); return }
        #expect(mapping.map { $0.key.string } == ["a", "b", "c", "list", "d"])
        guard case .scalar(let b) = mapping[1].value, case .scalar(let c) = mapping[2].value,
            case .sequence(let list) = mapping[3].value, case .scalar(let d) = mapping[4].value
        else { Issue.record("unexpected shapes"); return }
        #expect(b.string == "quoted" && b.style == .singleQuoted && b.mark.line == 2)
        #expect(c.string == "plain" && c.style == .plain, "the alias resolves to the anchored node")
        #expect(list.map(\.string) == ["1", "two"] && list.mark.line == 5)
        #expect(d.string == "block\n" && d.style == .literal)
    }

    @Test func yamlRefusesBadTextSecondDocumentsAndUnknownAliases() throws {
        #expect(throws: YAMLComposer.SyntaxError.self) { try YAMLComposer.compose("a: [1, 2\n") }
        #expect(throws: YAMLComposer.SyntaxError.self) { try YAMLComposer.compose("a: 1\n---\nb: 2\n") }
        #expect(throws: YAMLComposer.SyntaxError.self) { try YAMLComposer.compose("a: *nowhere\n") }
        #expect(try YAMLComposer.compose("") == nil, "no document at all")
        do {
            _ = try YAMLComposer.compose("brokers: [b:1\n")
            Issue.record("accepted an unclosed flow sequence")
        } catch {
            #expect(error.description.contains("line 2"), "\(error)")
        }
    }

    /// A file as Foundation's `JSONEncoder` (`.sortedKeys`) wrote it before: escaped slashes, UInt64 maxima.
    static let foundationWritten = #"{"streams":[{"continuesInCopy":false,"device":64769,"id":"00000000000fc1a1","inode":18446744073709551615,"lastSeen":1764090000,"offset":1234,"path":"\/var\/log\/app \"1\".log","signature":{"checkEnd":1234,"checkHash":18446744073709551615,"checkLength":1024,"headHash":42,"headLength":1024}}],"version":1}"#

    @Test func positionFileReadsFoundationOutputAndRoundTrips() throws {
        let file = try PositionFile(json: try JSONValue.parse(Array(Self.foundationWritten.utf8)))
        #expect(file.version == 1 && file.streams.count == 1)
        let stream = try #require(file.streams.first)
        #expect(stream.path == "/var/log/app \"1\".log" && stream.inode == UInt64.max && stream.continuesInCopy == false)
        #expect(stream.signature.checkHash == UInt64.max && stream.offset == 1234 && stream.lastSeen == 1_764_090_000)
        let bytes = file.jsonBytes()
        // The same members in the same order as Foundation wrote them (it escaped `/`, which we need not).
        #expect(try JSONValue.parse(bytes) == JSONValue.parse(Array(Self.foundationWritten.utf8)))
        #expect(try PositionFile(json: try JSONValue.parse(bytes)) == file)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"streams":[{"continuesInCopy":false,"device":64769,"#) && text.hasSuffix(#""version":1}"#))
    }

    @Test(arguments: [
        (#"{"version":1,"streams":[{"id":"zz""#, "not JSON"),
        (#"{"version":1}"#, ".streams: missing"),
        (#"{"version":"1","streams":[]}"#, ".version: expected an integer"),
        (#"{"version":1,"streams":[{"id":"0000000000000001"}]}"#, ".streams[0].device: missing"),
        (#"{"version":1,"streams":[]} x"#, "unexpected text after the value"),
        (#"[1,2"#, "not JSON"),
        (String(repeating: "[", count: 100), "nesting deeper than 64"),
    ])
    func corruptJSONIsDescribedByPath(_ text: String, _ expected: String) throws {
        do {
            _ = try PositionFile(json: try JSONValue.parse(Array(text.utf8)))
            Issue.record("accepted \(text)")
        } catch let error as JSONValue.SyntaxError {
            // A syntax error is what the "not JSON" cases expect; the others name its text.
            #expect(expected == "not JSON" || error.description.contains(expected), "\(error)")
        } catch {
            #expect(expected != "not JSON", "\(error) is not a syntax error")
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    @Test func jsonStringsEscapeAndUnescape() throws {
        let original = "tab\t quote\" back\\ nl\n ctl\u{01} é 🎉"
        var bytes: [UInt8] = []
        JSONValue.writeString(original, into: &bytes)
        #expect(try JSONValue.parse(bytes) == .string(original))
        #expect(try JSONValue.parse(Array(#""\u00e9\ud83c\udf89\/""#.utf8)) == .string("é🎉/"))
    }
}
