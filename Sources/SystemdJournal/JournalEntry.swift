#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One field of a journal entry, as libsystemd holds it: `NAME=value` bytes, valid only inside the visitor call.
public struct JournalField {
    /// The field name bytes (before the first `=`).
    public let name: UnsafeRawBufferPointer
    /// The value bytes (after the first `=`); any bytes, including NUL and invalid UTF-8.
    public let value: UnsafeRawBufferPointer

    /// Whether the name equals `other`, compared byte for byte without allocating.
    public func hasName(_ other: StaticString) -> Bool {
        other.withUTF8Buffer { name.elementsEqual($0) }
    }

    /// Whether the name equals the bytes `other`.
    public func hasName(_ other: some Collection<UInt8>) -> Bool {
        name.elementsEqual(other)
    }

    /// Splits `NAME=value` bytes; `nil` if there is no `=`.
    init?(_ data: UnsafeRawBufferPointer) {
        guard let equals = data.firstIndex(of: UInt8(ascii: "=")) else { return nil }
        self.name = UnsafeRawBufferPointer(rebasing: data[..<equals])
        self.value = UnsafeRawBufferPointer(rebasing: data[(equals + 1)...])
    }
}

/// The journal's current entry: valid until the journal moves (`next`, `previous`, a seek, `close`).
///
/// Reads go straight to libsystemd; using the entry after the journal moved throws
/// `JournalError.entryNoLongerCurrent` instead of silently reading another entry.
public struct JournalEntry {
    let journal: SystemdJournal
    let position: UInt64

    /// The entry's realtime (wall clock) timestamp in microseconds since the epoch (`sd_journal_get_realtime_usec`).
    public func realtimeMicroseconds() throws(JournalError) -> UInt64 {
        let handle = try journal.currentHandle(for: position)
        var usec: UInt64 = 0
        try journal.check(journal.library.getRealtimeUsec(handle, &usec), "sd_journal_get_realtime_usec")
        return usec
    }

    /// The entry's cursor (`sd_journal_get_cursor`), to resume after it with `SystemdJournal.seek(cursor:ifMissing:)`.
    public func cursor() throws(JournalError) -> String {
        let cursor = try allocatedCursor()
        defer { free(cursor) }
        return String(cString: cursor)
    }

    /// Calls `body` with the cursor's bytes (no NUL), freed after `body` returns.
    public func withCursor<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        let cursor = try allocatedCursor()
        defer { free(cursor) }
        return try body(UnsafeRawBufferPointer(start: cursor, count: strlen(cursor)))
    }

    /// `sd_journal_get_cursor`'s string; the caller frees it with `free()`.
    private func allocatedCursor() throws(JournalError) -> UnsafeMutablePointer<CChar> {
        let handle = try journal.currentHandle(for: position)
        var cursor: UnsafeMutablePointer<CChar>?
        try journal.check(journal.library.getCursor(handle, &cursor), "sd_journal_get_cursor")
        guard let cursor else {
            throw .callFailed(call: "sd_journal_get_cursor", journal: journal.name, errno: ENODATA)
        }
        return cursor
    }

    /// Visits every field of the entry in journal order (`sd_journal_restart_data` + `sd_journal_enumerate_data`),
    /// without copying; return `false` from `body` to stop early.
    ///
    /// The buffers are valid only during the call; do not use other accessors of this entry inside `body`.
    public func forEachField(_ body: (JournalField) throws -> Bool) throws {
        let handle = try journal.currentHandle(for: position)
        let library = journal.library
        library.restartData(handle)
        while true {
            var data: UnsafeRawPointer?
            var length = 0
            let result = library.enumerateData(handle, &data, &length)
            try journal.check(result, "sd_journal_enumerate_data")
            if result == 0 { return }
            guard let data, let field = JournalField(UnsafeRawBufferPointer(start: data, count: length)) else {
                continue  // libsystemd never returns fields without "="; skip rather than trust it blindly
            }
            if try !body(field) { return }
        }
    }

    /// Calls `body` with the value bytes of field `name` (`sd_journal_get_data`), or `nil` when the entry lacks it.
    public func withValue<Result>(
        ofField name: String, _ body: (UnsafeRawBufferPointer?) throws -> Result
    ) throws -> Result {
        try JournalFieldName.validate(name)
        let handle = try journal.currentHandle(for: position)
        var data: UnsafeRawPointer?
        var length = 0
        let result = journal.library.getData(handle, name, &data, &length)
        if result == -ENOENT { return try body(nil) }
        try journal.check(result, "sd_journal_get_data(\(name))")
        guard let data, let field = JournalField(UnsafeRawBufferPointer(start: data, count: length)) else {
            return try body(nil)
        }
        return try body(field.value)
    }

    /// The value of field `name` as bytes, or `nil` when the entry lacks it.
    public func value(ofField name: String) throws -> [UInt8]? {
        try withValue(ofField: name) { $0.map { Array($0) } }
    }

    /// The value of field `name` decoded as UTF-8 (invalid bytes replaced), or `nil`.
    public func string(ofField name: String) throws -> String? {
        try withValue(ofField: name) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// `MESSAGE`, byte-exact (it may be binary).
    public func message() throws -> [UInt8]? { try value(ofField: "MESSAGE") }
    /// `_SYSTEMD_UNIT`: the unit that logged the entry.
    public func unit() throws -> String? { try string(ofField: "_SYSTEMD_UNIT") }
    /// `SYSLOG_IDENTIFIER`.
    public func syslogIdentifier() throws -> String? { try string(ofField: "SYSLOG_IDENTIFIER") }
    /// `PRIORITY` (0 emerg … 7 debug), `nil` when absent or not a number.
    public func priority() throws -> Int? { try string(ofField: "PRIORITY").flatMap { Int($0) } }
    /// `_PID`, `nil` when absent or not a number.
    public func pid() throws -> Int? { try string(ofField: "_PID").flatMap { Int($0) } }
}
