public import SystemdJournal

/// A journal batch shared by the line events made from it: one allocation per batch, none per event.
final class SharedJournalBatch: Sendable {
    let batch: JournalBatch
    init(_ batch: JournalBatch) { self.batch = batch }
}

/// The journal entry behind a journald `LineEvent`: its cursor and captured fields, sliced from the batch the
/// reader produced (nothing copied).
public struct JournalEntryReference: Sendable {
    let shared: SharedJournalBatch
    let index: Int
    /// For a piece of a `MESSAGE` longer than `max_line_bytes`: the piece's byte offset in the message (the
    /// `origin` header then ends in `:<offset>`, so every piece has its own); `nil` for a whole message.
    var pieceOffset: Int? = nil

    /// The entry as the reader produced it.
    public var record: JournalRecord { shared.batch[index] }
}

/// The journal fields a journald input captures, in `JournalBatch.capturedFields` order, and the record header
/// each one becomes (DESIGN.md's record contract: unit, priority and pid; plus the syslog identifier).
enum JournalCapturedField: Int, CaseIterable {
    case message, unit, priority, pid, identifier

    /// The journal field name.
    var fieldName: String {
        switch self {
        case .message: "MESSAGE"
        case .unit: "_SYSTEMD_UNIT"
        case .priority: "PRIORITY"
        case .pid: "_PID"
        case .identifier: "SYSLOG_IDENTIFIER"
        }
    }

    /// The record header carrying the field (none for the message: it is the record value).
    var headerName: StaticString? {
        switch self {
        case .message: nil
        case .unit: "unit"
        case .priority: "priority"
        case .pid: "pid"
        case .identifier: "identifier"
        }
    }

    /// Every field name, for `JournalReaderConfiguration.capturedFields`.
    static let fieldNames = allCases.map(\.fieldName)
}
