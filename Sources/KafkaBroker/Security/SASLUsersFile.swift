import Foundation

/// The `--sasl-users` file: one `user:password` per line (split at the first colon, so passwords
/// may contain colons); blank lines and lines starting with `#` are ignored; surrounding
/// whitespace is trimmed.
public enum SASLUsersFile {
    /// A file that cannot be read or a line that is not `user:password`; names file and line.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        /// The file.
        public var path: String
        /// The 1-based line number, or `nil` if the file itself is the problem.
        public var line: Int?
        /// What is wrong.
        public var reason: String

        public var description: String {
            if let line { "\(path):\(line): \(reason)" } else { "\(path): \(reason)" }
        }
    }

    /// Reads and parses the file at `path`.
    ///
    /// - Throws: ``ParseError`` naming the file (and line).
    public static func load(path: String) throws(ParseError) -> [String: String] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ParseError(path: path, line: nil, reason: "cannot read: \((error as NSError).localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ParseError(path: path, line: nil, reason: "not UTF-8 text")
        }
        return try self.parse(text, path: path)
    }

    /// Parses file contents; `path` is for error messages.
    ///
    /// - Throws: ``ParseError`` for a line without a colon, an empty user or password, a duplicate
    ///   user, or a file with no users at all.
    public static func parse(_ text: String, path: String) throws(ParseError) -> [String: String] {
        var users: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let number = index + 1
            guard let colon = line.firstIndex(of: ":") else {
                throw ParseError(path: path, line: number, reason: "expected user:password")
            }
            let user = String(line[..<colon])
            let password = String(line[line.index(after: colon)...])
            guard !user.isEmpty else { throw ParseError(path: path, line: number, reason: "empty user name") }
            guard !password.isEmpty else {
                throw ParseError(path: path, line: number, reason: "empty password for user \"\(user)\"")
            }
            guard users[user] == nil else {
                throw ParseError(path: path, line: number, reason: "user \"\(user)\" is listed twice")
            }
            users[user] = password
        }
        guard !users.isEmpty else { throw ParseError(path: path, line: nil, reason: "lists no users") }
        return users
    }
}
