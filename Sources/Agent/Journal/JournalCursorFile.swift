/// The saved position of one journald input: the journal cursor after which reading resumes, as one line of
/// text in `<state_dir>/journald-<name>.cursor`, replaced atomically (`AtomicFile`).
struct JournalCursorFile {
    /// The file's path.
    let path: String

    /// The file of input `name` in `stateDirectory`.
    init(stateDirectory: String, inputName: String) {
        path = "\(stateDirectory)/journald-\(inputName).cursor"
    }

    /// What the file holds.
    enum Content: Equatable {
        /// No file: nothing was saved yet.
        case none
        /// A saved cursor (not yet checked against the journal).
        case cursor(String)
        /// The file exists but holds no usable cursor text; `reason` says why.
        case unusable(reason: String)
    }

    /// Reads the saved cursor.
    func load() -> Content {
        let bytes: [UInt8]
        switch LocalSystem.readFile(path) {
        case .success(let content): bytes = content
        case .failure(.missing): return .none
        case .failure(.unreadable): return .unusable(reason: "cannot be read")
        }
        var end = bytes.endIndex
        while end > bytes.startIndex, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: " ") {
            end -= 1
        }
        let text = bytes[..<end]
        if text.isEmpty { return .unusable(reason: "empty") }
        // Cursors are printable ASCII without newlines; anything else cannot be one (a NUL would cut the C string).
        guard text.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .unusable(reason: "not a journal cursor (\(text.count) bytes that are not printable ASCII)")
        }
        return .cursor(String(decoding: text, as: UTF8.self))
    }

    /// Replaces the file with `cursor` (atomically, durably).
    func save(_ cursor: String) throws(AtomicFile.WriteError) {
        try AtomicFile.write(Array((cursor + "\n").utf8), to: path)
    }
}
