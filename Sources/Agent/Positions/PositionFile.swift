/// The saved positions of one file input: per stream its identity, content signature and acknowledged offset.
/// JSON, versioned, replaced atomically (`AtomicFile`).
struct PositionFile: Equatable {
    static let currentVersion = 1

    struct Stream: Equatable {
        /// `StreamID` as 16 hex digits.
        var id: String
        var device: UInt64
        var inode: UInt64
        /// The path the stream was first seen at.
        var path: String
        /// Everything before this offset was acknowledged by the broker.
        var offset: UInt64
        var signature: ContentSignature
        /// Unix seconds when the stream's file was last seen.
        var lastSeen: Int64
        /// false when the stream's file was deleted: only that same file continues it, never a copy.
        var continuesInCopy: Bool?
    }

    var version: Int
    var streams: [Stream]

    /// A position file that cannot be used, naming it and why.
    struct LoadError: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "position file \(path) is unusable (\(reason))" }
    }

    /// Loads `path`; nil when it does not exist.
    static func load(path: String) throws(LoadError) -> PositionFile? {
        let bytes: [UInt8]
        switch LocalSystem.readFile(path) {
        case .success(let content): bytes = content
        case .failure(.missing): return nil
        case .failure(.unreadable): throw LoadError(path: path, reason: "cannot be read")
        }
        let file: PositionFile
        do {
            file = try PositionFile(json: try JSONValue.parse(bytes))
        } catch let error as JSONValue.SyntaxError {
            throw LoadError(path: path, reason: "corrupt: not JSON: \(error)")
        } catch {
            throw LoadError(path: path, reason: "corrupt: \(error)")
        }
        guard file.version == currentVersion else {
            throw LoadError(path: path, reason: "version \(file.version), this agent reads version \(currentVersion)")
        }
        for stream in file.streams where StreamID(hex: stream.id) == nil {
            throw LoadError(path: path, reason: "corrupt: stream id \"\(stream.id)\" is not 16 hex digits")
        }
        return file
    }

    func save(path: String) throws(AtomicFile.WriteError) {
        try AtomicFile.write(jsonBytes(), to: path)
    }
}

/// The JSON form: `{"streams":[{...}],"version":1}`, keys sorted as `JSONEncoder`'s `.sortedKeys` wrote them
/// (files written by earlier agents load unchanged).
extension PositionFile {
    /// A member that is missing or has the wrong type, named by its path (`.streams[0].offset`).
    struct FieldError: Error, CustomStringConvertible {
        var path: String
        var problem: String
        var description: String { "\(path): \(problem)" }
    }

    /// The file's bytes, written straight into one buffer (no tree): saved every second while lines are shipped,
    /// for up to thousands of streams. `init(json:)` reads them back.
    func jsonBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + streams.count * 320)
        out.append(contentsOf: #"{"streams":["#.utf8)
        for (index, stream) in streams.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            if let continuesInCopy = stream.continuesInCopy {
                out.append(contentsOf: (continuesInCopy ? #"{"continuesInCopy":true,"# : #"{"continuesInCopy":false,"#).utf8)
            } else {
                out.append(UInt8(ascii: "{"))
            }
            out.append(contentsOf: #""device":\#(stream.device),"id":"#.utf8)
            JSONValue.writeString(stream.id, into: &out)
            out.append(contentsOf: #","inode":\#(stream.inode),"lastSeen":\#(stream.lastSeen),"offset":\#(stream.offset),"path":"#.utf8)
            JSONValue.writeString(stream.path, into: &out)
            let signature = stream.signature
            out.append(contentsOf: #","signature":{"checkEnd":\#(signature.checkEnd),"checkHash":\#(signature.checkHash),"#.utf8)
            out.append(contentsOf: #""checkLength":\#(signature.checkLength),"headHash":\#(signature.headHash),"#.utf8)
            out.append(contentsOf: #""headLength":\#(signature.headLength)}}"#.utf8)
        }
        out.append(contentsOf: #"],"version":\#(version)}"#.utf8)
        return out
    }

    init(json: JSONValue) throws(FieldError) {
        let fields = JSONFields(json, path: "")
        version = try fields.integer("version", as: Int.self)
        streams = []
        for (index, element) in try fields.array("streams").enumerated() {
            streams.append(try Stream(json: element, path: ".streams[\(index)]"))
        }
    }
}

extension PositionFile.Stream {
    init(json: JSONValue, path: String) throws(PositionFile.FieldError) {
        let fields = JSONFields(json, path: path)
        id = try fields.string("id")
        device = try fields.integer("device", as: UInt64.self)
        inode = try fields.integer("inode", as: UInt64.self)
        self.path = try fields.string("path")
        offset = try fields.integer("offset", as: UInt64.self)
        lastSeen = try fields.integer("lastSeen", as: Int64.self)
        continuesInCopy = try fields.optionalBool("continuesInCopy")
        let signature = JSONFields(try fields.member("signature"), path: path + ".signature")
        self.signature = ContentSignature(
            headLength: try signature.integer("headLength", as: Int.self),
            headHash: try signature.integer("headHash", as: UInt64.self),
            checkEnd: try signature.integer("checkEnd", as: UInt64.self),
            checkLength: try signature.integer("checkLength", as: Int.self),
            checkHash: try signature.integer("checkHash", as: UInt64.self))
    }
}

/// Typed access to an object's members, with errors naming the member's path.
private struct JSONFields {
    let value: JSONValue
    let path: String

    init(_ value: JSONValue, path: String) {
        self.value = value
        self.path = path
    }

    func member(_ key: String) throws(PositionFile.FieldError) -> JSONValue {
        guard case .object = value else { throw PositionFile.FieldError(path: path.isEmpty ? "." : path, problem: "expected an object") }
        guard let member = value[key] else { throw PositionFile.FieldError(path: "\(path).\(key)", problem: "missing") }
        return member
    }

    func integer<T: FixedWidthInteger>(_ key: String, as: T.Type) throws(PositionFile.FieldError) -> T {
        guard case .number(let text) = try member(key), let number = T(text) else {
            throw PositionFile.FieldError(path: "\(path).\(key)", problem: "expected an integer in range of \(T.self)")
        }
        return number
    }

    func string(_ key: String) throws(PositionFile.FieldError) -> String {
        guard case .string(let text) = try member(key) else {
            throw PositionFile.FieldError(path: "\(path).\(key)", problem: "expected a string")
        }
        return text
    }

    func array(_ key: String) throws(PositionFile.FieldError) -> [JSONValue] {
        guard case .array(let elements) = try member(key) else {
            throw PositionFile.FieldError(path: "\(path).\(key)", problem: "expected an array")
        }
        return elements
    }

    func optionalBool(_ key: String) throws(PositionFile.FieldError) -> Bool? {
        switch value[key] {
        case nil, .null?: return nil
        case .bool(let flag)?: return flag
        default: throw PositionFile.FieldError(path: "\(path).\(key)", problem: "expected true or false")
        }
    }
}
