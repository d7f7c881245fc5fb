import FoundationEssentials

/// The saved positions of one file input: per stream its identity, content signature and acknowledged offset.
/// JSON, versioned, replaced atomically (`AtomicFile`).
struct PositionFile: Codable, Equatable {
    static let currentVersion = 1

    struct Stream: Codable, Equatable {
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
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(path: path, reason: "cannot be read")
        }
        let file: PositionFile
        do {
            file = try JSONDecoder().decode(PositionFile.self, from: data)
        } catch {
            throw LoadError(path: path, reason: "corrupt: \(Self.describe(error))")
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
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding plain structs of integers and strings cannot fail.
        let data = (try? encoder.encode(self)) ?? Data()
        try AtomicFile.write([UInt8](data), to: path)
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): "not JSON: \(context.debugDescription)"
        case DecodingError.keyNotFound(let key, let context):
            "missing \(Self.path(context.codingPath + [key]))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "\(Self.path(context.codingPath)): \(context.debugDescription)"
        default: "\(error)"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}
