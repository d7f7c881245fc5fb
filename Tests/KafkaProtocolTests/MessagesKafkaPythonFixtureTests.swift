import Foundation
import KafkaProtocol
import NIOCore
import Testing

/// Frames written by kafka-python 2.3.3 (see `Fixtures/kafka-python/README.md`): decoded here field
/// by field against the JSON sidecar, then re-encoded to the identical bytes.
@Suite("Messages: kafka-python fixtures")
struct MessagesKafkaPythonFixtureTests {
    struct Fixture: CustomTestStringConvertible, Sendable {
        var name: String
        var frame: [UInt8]
        var sidecar: JSONValue
        var testDescription: String { name }
    }

    static let directory: URL? = Bundle.module.url(
        forResource: "requests", withExtension: nil, subdirectory: "Fixtures/kafka-python")

    static func loadFixtures() throws -> [Fixture] {
        guard let directory else { return [] }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".bin") }
            .sorted()
        return try names.map { name in
            let base = String(name.dropLast(4))
            let frame = try Data(contentsOf: directory.appendingPathComponent(name))
            let json = try Data(contentsOf: directory.appendingPathComponent(base + ".json"))
            return Fixture(name: base, frame: Array(frame), sidecar: try JSONDecoder().decode(JSONValue.self, from: json))
        }
    }

    @Test("the fixture set covers every API, request and response")
    func coverage() throws {
        let fixtures = try Self.loadFixtures()
        #expect(fixtures.count >= 76)
        for key in KafkaAPIKey.allCases {
            #expect(fixtures.contains { $0.name.hasPrefix("\(key.name)Request-v") }, "\(key)")
            #expect(fixtures.contains { $0.name.hasPrefix("\(key.name)Response-v") }, "\(key)")
        }
    }

    @Test("decode, compare every field, re-encode to the same bytes", arguments: try loadFixtures())
    func fixture(_ fixture: Fixture) throws {
        let sidecar = fixture.sidecar
        let version = Int16(try #require(sidecar["version"]?.int))
        let rawKey = Int16(try #require(sidecar["apiKey"]?.int))
        let apiKey = try #require(KafkaAPIKey(rawValue: rawKey))
        let frameBuffer = ByteBuffer(bytes: fixture.frame)
        var body = try #require(stripSizePrefix(frameBuffer), "size prefix")
        let expectedHeader = try #require(sidecar["header"])
        let expectedBody = try #require(sidecar["body"])

        if sidecar["kind"]?.string == "request" {
            let (header, request) = try KafkaRequest.decode(frame: &body)
            #expect(header.apiKey == apiKey && header.apiVersion == version)
            #expect(Int(header.correlationId) == expectedHeader["correlationId"]?.int)
            #expect(header.clientId == expectedHeader["clientId"]?.string)
            #expect(Int(header.headerVersion) == expectedHeader["headerVersion"]?.int)
            #expect(request.apiKey == apiKey)
            let mismatches = compare(request.message, expectedBody, path: fixture.name)
            #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
            let again = try KafkaFrame.encodeRequest(request.message, header: header)
            #expect(again.bytes == fixture.frame, "re-encoded frame differs")
        } else {
            let (header, response, again) = try Self.responseRoundTrip(
                apiKey.responseType, version: version, frame: &body)
            #expect(Int(header.correlationId) == expectedHeader["correlationId"]?.int)
            #expect(
                Int(KafkaResponseHeader.headerVersion(apiKey: apiKey, apiVersion: version))
                    == expectedHeader["headerVersion"]?.int)
            let mismatches = compare(response, expectedBody, path: fixture.name)
            #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
            #expect(again.bytes == fixture.frame, "re-encoded frame differs")
        }
    }

    static func responseRoundTrip<Response: KafkaResponseMessage>(
        _: Response.Type, version: Int16, frame: inout ByteBuffer
    ) throws -> (KafkaResponseHeader, Response, ByteBuffer) {
        let (header, response) = try KafkaFrame.decodeResponse(Response.self, version: version, frame: &frame)
        let again = try KafkaFrame.encodeResponse(response, header: header, version: version)
        return (header, response, again)
    }
}

/// Compares a decoded value with the sidecar's JSON, by Swift property name (via `Mirror`).
/// Returns one line per difference.
func compare(_ value: Any, _ expected: JSONValue, path: String) -> [String] {
    // Unwrap optionals.
    let mirror = Mirror(reflecting: value)
    if mirror.displayStyle == .optional {
        guard let wrapped = mirror.children.first?.value else {
            return expected == .null ? [] : ["\(path): nil, expected \(expected)"]
        }
        return compare(wrapped, expected, path: path)
    }
    switch expected {
    case .null:
        return ["\(path): \(value), expected null"]
    case .bool(let bool):
        return (value as? Bool) == bool ? [] : ["\(path): \(value), expected \(bool)"]
    case .int(let int):
        guard let integer = value as? any BinaryInteger, Int64(exactly: integer) == int else {
            return ["\(path): \(value), expected \(int)"]
        }
        return []
    case .double(let double):
        return (value as? Double) == double ? [] : ["\(path): \(value), expected \(double)"]
    case .string(let string):
        if let uuid = value as? KafkaUUID { return uuid.description == string ? [] : ["\(path): \(uuid), expected \(string)"] }
        return (value as? String) == string ? [] : ["\(path): \(value), expected \(string)"]
    case .array(let elements):
        guard mirror.displayStyle == .collection else { return ["\(path): \(value) is not an array"] }
        let children = Array(mirror.children)
        guard children.count == elements.count else {
            return ["\(path): \(children.count) elements, expected \(elements.count)"]
        }
        return zip(children, elements).enumerated().flatMap { index, pair in
            compare(pair.0.value, pair.1, path: "\(path)[\(index)]")
        }
    case .object(let fields):
        if case .string(let hex)? = fields["bytes"], fields.count == 1 {
            guard let buffer = value as? ByteBuffer else { return ["\(path): \(value) is not bytes"] }
            let actual = buffer.readableBytesView.map { String(format: "%02x", $0) }.joined()
            return actual == hex ? [] : ["\(path): bytes \(actual), expected \(hex)"]
        }
        var children: [String: Any] = [:]
        for child in mirror.children {
            if let label = child.label { children[label] = child.value }
        }
        return fields.keys.sorted().flatMap { key -> [String] in
            guard let child = children[key] else { return ["\(path): no property \(key)"] }
            return compare(child, fields[key]!, path: "\(path).\(key)")
        }
    }
}

/// A JSON value, decoded strictly (a `true` never reads as 1).
enum JSONValue: Decodable, Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let int = try? container.decode(Int64.self) {
            self = .int(int)
        } else if let double = try? container.decode(Double.self) {
            self = .double(double)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    var int: Int? {
        if case .int(let value) = self { return Int(value) }
        return nil
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .int(let value): "\(value)"
        case .double(let value): "\(value)"
        case .string(let value): "\"\(value)\""
        case .array(let values): "[\(values.map(\.description).joined(separator: ", "))]"
        case .object(let fields): "{\(fields.keys.sorted().map { "\($0): \(fields[$0]!)" }.joined(separator: ", "))}"
        }
    }
}
