public import NIOCore

/// Journal entries copied out of libsystemd so they can cross threads: one buffer per batch holding each entry's
/// cursor and captured field values, sliced (not copied) by `JournalRecord`.
public struct JournalBatch: Sendable {
    /// Where one entry's cursor lies in `storage`.
    struct EntryLayout: Sendable {
        var realtimeMicroseconds: UInt64
        var cursorOffset: UInt32
        var cursorLength: UInt32
    }

    /// Where one captured field's value lies in `storage`; `absent` when the entry lacks the field.
    struct FieldSpan: Sendable {
        var offset: UInt32
        var length: UInt32
        static let absent = FieldSpan(offset: UInt32.max, length: 0)
        var isAbsent: Bool { offset == UInt32.max }
    }

    /// The field names whose values the records carry, in `JournalRecord.value(at:)` order.
    public let capturedFields: [String]
    /// Entries libsystemd returned but could not read (a corrupt or unsupported field), skipped and counted here.
    public let unreadableEntries: Int
    let storage: ByteBuffer
    let entries: [EntryLayout]
    /// `entries.count * capturedFields.count` spans, entry-major.
    let fieldSpans: [FieldSpan]

    /// The number of records.
    public var count: Int { entries.count }
    /// Whether the batch has no records.
    public var isEmpty: Bool { entries.isEmpty }
    /// The bytes the batch holds (cursors and captured values).
    public var byteCount: Int { storage.readableBytes }

    /// The record at `index` (`0..<count`).
    public subscript(index: Int) -> JournalRecord {
        JournalRecord(batch: self, index: index)
    }

    /// The cursor of the last record, to save once everything in the batch is acknowledged.
    public var lastCursor: String? {
        guard !entries.isEmpty else { return nil }
        return self[entries.count - 1].cursorString
    }
}

extension JournalBatch: RandomAccessCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { entries.count }
}

/// One entry of a `JournalBatch`: its timestamp, cursor and captured field values as slices of the batch buffer.
public struct JournalRecord: Sendable {
    let batch: JournalBatch
    let index: Int

    /// The entry's realtime timestamp in microseconds since the epoch.
    public var realtimeMicroseconds: UInt64 { batch.entries[index].realtimeMicroseconds }

    /// The realtime timestamp in milliseconds (the Kafka record timestamp).
    public var realtimeMilliseconds: Int64 { Int64(clamping: realtimeMicroseconds / 1000) }

    /// The cursor bytes (ASCII), e.g. for an `origin` header.
    public var cursor: ByteBuffer {
        let layout = batch.entries[index]
        return batch.storage.getSlice(at: Int(layout.cursorOffset), length: Int(layout.cursorLength))
            ?? ByteBuffer()
    }

    /// The cursor as a string, for `SystemdJournal.seek(cursor:ifMissing:)`.
    public var cursorString: String { String(buffer: cursor) }

    /// The value of captured field number `fieldIndex` (see `JournalBatch.capturedFields`), `nil` when absent.
    public func value(at fieldIndex: Int) -> ByteBuffer? {
        let fields = batch.capturedFields.count
        guard fieldIndex >= 0, fieldIndex < fields else { return nil }
        let span = batch.fieldSpans[index * fields + fieldIndex]
        guard !span.isAbsent else { return nil }
        return batch.storage.getSlice(at: Int(span.offset), length: Int(span.length))
    }

    /// The value of the captured field `name`, `nil` when absent or not captured.
    public func value(ofField name: String) -> ByteBuffer? {
        guard let fieldIndex = batch.capturedFields.firstIndex(of: name) else { return nil }
        return value(at: fieldIndex)
    }

    /// `MESSAGE`, byte-exact, when captured.
    public var message: ByteBuffer? { value(ofField: "MESSAGE") }
    /// `_SYSTEMD_UNIT`, when captured.
    public var unit: String? { value(ofField: "_SYSTEMD_UNIT").map { String(buffer: $0) } }
    /// `PRIORITY` as a number, when captured.
    public var priority: Int? { value(ofField: "PRIORITY").flatMap { Int(String(buffer: $0)) } }
    /// `_PID` as a number, when captured.
    public var pid: Int? { value(ofField: "_PID").flatMap { Int(String(buffer: $0)) } }
    /// `SYSLOG_IDENTIFIER`, when captured.
    public var syslogIdentifier: String? { value(ofField: "SYSLOG_IDENTIFIER").map { String(buffer: $0) } }
}

/// Fills a `JournalBatch` from the journal's current entries, one enumeration pass per entry.
struct JournalBatchBuilder {
    let capturedFields: [String]
    private let capturedNames: [[UInt8]]
    private let allocator = ByteBufferAllocator()
    private let initialCapacity: Int
    private var storage: ByteBuffer
    private var entries: [JournalBatch.EntryLayout] = []
    private var fieldSpans: [JournalBatch.FieldSpan] = []
    private var unreadable = 0

    private let expectedEntries: Int

    init(capturedFields: [String], expectedEntries: Int = 256, initialCapacity: Int = 64 * 1024) {
        self.capturedFields = capturedFields
        self.capturedNames = capturedFields.map { Array($0.utf8) }
        self.initialCapacity = initialCapacity
        self.expectedEntries = expectedEntries
        self.storage = allocator.buffer(capacity: initialCapacity)
        reserve()
    }

    private mutating func reserve() {
        entries.reserveCapacity(expectedEntries)
        fieldSpans.reserveCapacity(expectedEntries * capturedNames.count)
    }

    var count: Int { entries.count }
    var byteCount: Int { storage.readableBytes }
    var unreadableEntries: Int { unreadable }

    /// Copies the entry's timestamp, cursor and captured fields; an entry libsystemd cannot read is counted in
    /// `unreadableEntries` and left out.
    mutating func append(_ entry: JournalEntry) {
        let rollbackWriter = storage.writerIndex
        let rollbackSpans = fieldSpans.count
        do {
            let realtime = try entry.realtimeMicroseconds()
            let cursorOffset = storage.writerIndex
            let cursorLength = try entry.withCursor { storage.writeBytes($0) }
            fieldSpans.append(contentsOf: repeatElement(.absent, count: capturedNames.count))
            var missing = capturedNames.count
            let base = rollbackSpans
            if missing > 0 {
                try entry.forEachField { field in
                    guard let slot = capturedNames.firstIndex(where: { field.hasName($0) }),
                        fieldSpans[base + slot].isAbsent
                    else { return true }
                    let offset = storage.writerIndex
                    let length = storage.writeBytes(field.value)
                    fieldSpans[base + slot] = .init(offset: UInt32(offset), length: UInt32(length))
                    missing -= 1
                    return missing > 0
                }
            }
            entries.append(
                .init(
                    realtimeMicroseconds: realtime, cursorOffset: UInt32(cursorOffset),
                    cursorLength: UInt32(cursorLength)))
        } catch {
            storage.moveWriterIndex(to: rollbackWriter)
            fieldSpans.removeSubrange(rollbackSpans...)
            unreadable += 1
        }
    }

    /// Hands out the batch and starts an empty one.
    mutating func finish() -> JournalBatch {
        let batch = JournalBatch(
            capturedFields: capturedFields, unreadableEntries: unreadable, storage: storage, entries: entries,
            fieldSpans: fieldSpans)
        storage = allocator.buffer(capacity: initialCapacity)
        entries = []
        fieldSpans = []
        reserve()
        unreadable = 0
        return batch
    }
}
