#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failure of the journal reader, naming the library call or input and where it happened.
public enum JournalError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `dlopen` could not load libsystemd; `reason` is `dlerror()`'s text.
    case libraryUnavailable(library: String, reason: String)
    /// libsystemd loaded but lacks a function this reader needs (a libsystemd older than required).
    case symbolMissing(symbol: String, library: String, reason: String)
    /// An `sd_journal_*` call returned `-errno`; `journal` names the journal ("local journal", "journal directory X").
    case callFailed(call: String, journal: String, errno: Int32)
    /// A match is not `FIELD=value` with a valid journal field name.
    case invalidMatch(match: String, reason: String)
    /// A field name is not a valid journal field name.
    case invalidFieldName(name: String, reason: String)
    /// A `JournalEntry` was used after the journal moved to another entry.
    case entryNoLongerCurrent(journal: String)
    /// The journal was used after `close()`.
    case closed(journal: String)

    /// The `errno` of a failed call, if this is one.
    public var errno: Int32? {
        if case .callFailed(_, _, let code) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case .libraryUnavailable(let library, let reason):
            return "journald input unavailable: \(library) could not be loaded (\(reason))"
        case .symbolMissing(let symbol, let library, let reason):
            return "journald input unavailable: \(library) has no \(symbol) (\(reason)); libsystemd is too old"
        case .callFailed(let call, let journal, let code):
            return "\(call) failed on \(journal): \(Self.errorText(code)) (errno \(code))"
        case .invalidMatch(let match, let reason):
            return "invalid journal match \"\(match)\": \(reason)"
        case .invalidFieldName(let name, let reason):
            return "invalid journal field name \"\(name)\": \(reason)"
        case .entryNoLongerCurrent(let journal):
            return "journal entry of \(journal) used after the journal moved to another entry"
        case .closed(let journal):
            return "\(journal) used after it was closed"
        }
    }

    /// `strerror(code)` as a Swift string.
    static func errorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "unknown error" }
        return String(cString: text)
    }
}
