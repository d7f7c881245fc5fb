public import Logging
import NIOCore
import SystemdJournal

/// A `type: journald` input: reads the local journal or a `directory:` of journal files through libsystemd
/// (`JournalReader`, on its own thread), filtered by the journal with the input's units and `FIELD=value`
/// matches, and sends each entry's `MESSAGE` to a `RecordSink`; saves the journal cursor once acknowledged.
///
/// Driven by `poll(now:)` like `FileInput`: it only takes what the reader thread already produced and never
/// blocks. When the in-flight byte budget is used up it stops taking, the reader thread blocks after a couple of
/// batches and the journal itself is the buffer. Not thread-safe: one task owns it; acknowledgements come back
/// through `acknowledgements` from any thread.
public final class JournaldInput {
    /// Counters since start (for metrics and tests); the names match `FileInput.Statistics`.
    public struct Statistics: Sendable, Equatable {
        /// Events sent to the sink: one per entry, one per piece of a `MESSAGE` longer than `max_line_bytes` (as
        /// files count the pieces of a long line).
        public var linesSent = 0
        /// `MESSAGE` bytes sent.
        public var bytesRead = 0
        public var linesAcknowledged = 0
        /// `MESSAGE` bytes of the acknowledged entries.
        public var bytesAcknowledged = 0
        public var errors = 0
        /// Pieces of `MESSAGE`s longer than `max_line_bytes` (each shipped, marked truncated).
        public var truncatedPieces = 0
        /// Times the saved cursor could not be used (invalid, or its entry rotated or vacuumed away) and reading
        /// restarted at the oldest entry the journal holds.
        public var gaps = 0
    }

    /// What one `poll` did.
    public typealias PollOutcome = FileInput.PollOutcome

    /// The value of the `source` header of journald records.
    public static let sourceName = "journald"
    /// An environment variable naming the libsystemd to load instead of `libsystemd.so.0` (a path or a soname).
    public static let libraryEnvironmentVariable = "TRIBUTARY_AGENT_LIBSYSTEMD"

    public let configuration: JournaldInputConfiguration
    public let inputIndex: Int
    /// Where the cursor is saved: `<state_dir>/journald-<name>.cursor`.
    public var cursorPath: String { cursorFile.path }
    public let acknowledgements: AcknowledgementInbox
    public private(set) var statistics = Statistics()
    /// Bytes sent and not yet acknowledged (each entry's `MESSAGE` and cursor).
    public private(set) var inFlightBytes = 0
    /// Why the journal cannot be read (libsystemd missing, the journal cannot be opened), once known.
    public private(set) var unavailableReason: String?
    /// The cursor saved last (or loaded at start).
    public private(set) var savedCursor: String?

    private let sink: any RecordSink
    private let maxInFlightBytes: Int
    private let logger: Logger
    private let cursorFile: JournalCursorFile
    private let label: String
    private var iterator: JournalReader.Iterator?
    /// The reader's configuration (its start is moved on when the reader is restarted after an error).
    private var readerConfiguration: JournalReaderConfiguration?
    /// How long after a read error the reader is started again.
    private let retryInterval: Duration
    /// When the reader is started again after an error.
    private var retryAt: ContinuousClock.Instant?
    /// The last read error logged, so the same error at every retry is logged once (then at debug level).
    private var lastReadError: String?
    /// The last entry sent and the last caught-up cursor (with the entries sent before it): where a restarted
    /// reader continues.
    private var lastSent: (shared: SharedJournalBatch, index: Int)?
    private var lastCaughtUp: (sentBefore: UInt64, cursor: String)?
    private var tracker = JournalAckTracker()
    /// The batch being sent and the index of its next entry to send.
    private var current: (shared: SharedJournalBatch, next: Int)?
    private var lastSave: ContinuousClock.Instant?
    /// Acknowledgements taken from the inbox (storage reused: see `AcknowledgementInbox.drain(into:)`).
    private var drained: [AckToken] = []

    /// Builds the input and starts its reader thread. `libraryName` overrides `libsystemd.so.0` (by default from
    /// the `TRIBUTARY_AGENT_LIBSYSTEMD` environment variable); when it cannot be loaded the input logs why once and
    /// stays idle, so the other inputs keep shipping.
    public init(
        configuration: JournaldInputConfiguration, inputIndex: Int, stateDirectory: String, sink: any RecordSink,
        acknowledgements: AcknowledgementInbox, maxInFlightBytes: Int, logger: Logger,
        libraryName: String? = LocalSystem.environmentValue(JournaldInput.libraryEnvironmentVariable),
        retryInterval: Duration = .seconds(10)
    ) {
        self.retryInterval = retryInterval
        self.configuration = configuration
        self.inputIndex = inputIndex
        self.cursorFile = JournalCursorFile(stateDirectory: stateDirectory, inputName: configuration.name)
        self.sink = sink
        self.acknowledgements = acknowledgements
        self.maxInFlightBytes = maxInFlightBytes
        self.logger = logger
        self.label = "journald input \(configuration.name) (inputs[\(inputIndex)] → \(configuration.topic))"
        let library: SystemdLibrary
        do {
            if let libraryName { library = try SystemdLibrary.load(libraryName) } else { library = try SystemdLibrary.shared.get() }
        } catch {
            unavailable("\(error); this input is skipped, the other inputs keep shipping")
            return
        }
        let matches: JournalMatches
        do {
            matches = try JournalMatches(units: configuration.units, fields: configuration.matches)
        } catch {
            unavailable("\(error)")
            return
        }
        var reader = JournalReaderConfiguration(
            source: configuration.directory.map { .directory($0) } ?? .local(), matches: matches,
            start: startPosition(), follow: true)
        reader.library = library
        reader.capturedFields = JournalCapturedField.fieldNames
        reader.reportsCaughtUp = true
        reader.maxBatchBytes = max(4096, min(256 << 10, maxInFlightBytes / 4))
        reader.maxBatchEntries = 1024
        reader.bufferedBatches = 2
        readerConfiguration = reader
        startReader()
    }

    private func startReader() {
        guard let reader = readerConfiguration else { return }
        iterator = JournalReader(configuration: reader).makeAsyncIterator()
        let journal = configuration.directory.map { "journal directory \($0)" } ?? "local journal"
        logger.info("\(label): reading the \(journal) from \(describe(reader.start))")
    }

    /// Stops the reader after a read error and schedules a restart after the last entry sent.
    private func readFailed(_ reason: String, now: ContinuousClock.Instant) {
        statistics.errors += 1
        if reason == lastReadError {
            logger.debug("\(label): \(reason) (again); reading again in \(retryInterval)")
        } else {
            logger.error("\(label): \(reason); reading again in \(retryInterval)")
            lastReadError = reason
        }
        iterator?.stop()
        iterator = nil
        retryAt = now + retryInterval
        let position: String?
        if let lastCaughtUp, lastCaughtUp.sentBefore == tracker.sentCount {
            position = lastCaughtUp.cursor
        } else {
            position = lastSent.map { $0.shared.batch[$0.index].cursorString }
        }
        if let position { readerConfiguration?.start = .cursor(position, ifMissing: .head) }
    }

    deinit { iterator?.stop() }

    /// Whether the reader is running (false once the input is unavailable, and until the restart after a read
    /// error).
    public var isReading: Bool { iterator != nil }

    private func startPosition() -> JournalStart {
        switch cursorFile.load() {
        case .none:
            return configuration.startAt == .beginning ? .head : .tail
        case .cursor(let cursor):
            savedCursor = cursor
            return .cursor(cursor, ifMissing: .head)
        case .unusable(let reason):
            gap("cursor file \(cursorFile.path) is unusable (\(reason))")
            return .head
        }
    }

    private func describe(_ start: JournalStart) -> String {
        switch start {
        case .head: "the oldest entry"
        case .tail: "new entries on (start_at: end)"
        case .cursor(let cursor, _): "after the saved cursor \(cursor)"
        }
    }

    private func unavailable(_ reason: String) {
        unavailableReason = reason
        statistics.errors += 1
        logger.error("\(label): \(reason)")
        iterator?.stop()
        iterator = nil
    }

    private func gap(_ reason: String) {
        statistics.gaps += 1
        logger.warning("\(label): \(reason); gap: reading restarts at the oldest entry the journal holds (entries before it may be lost, entries already shipped are sent again with the same origin)")
    }

    // MARK: - Polling

    /// One step: take acknowledgements, send what the reader produced while the budget allows, save the cursor if
    /// due (at most once a second).
    @discardableResult
    public func poll(now: ContinuousClock.Instant = .now) -> PollOutcome {
        var outcome = PollOutcome()
        takeAcknowledgements()
        if let retryAt, now >= retryAt {
            self.retryAt = nil
            startReader()
        }
        while iterator != nil {
            if inFlightBytes >= maxInFlightBytes {
                outcome.blockedByBudget = true
                break
            }
            if let current, current.next < current.shared.batch.count {
                send(from: current.shared, index: current.next, outcome: &outcome)
                self.current?.next += 1
                continue
            }
            current = nil
            guard takeFromReader(now: now) else { break }
        }
        // Every poll: a sink may hold records the producer could not take yet.
        sink.flush()
        if lastSave.map({ now - $0 >= .seconds(1) }) ?? true {
            saveCursorIfMoved()
            lastSave = now
        }
        return outcome
    }

    /// Takes the next event of the reader if it has one ready; false when there is none (or the reader ended).
    private func takeFromReader(now: ContinuousClock.Instant) -> Bool {
        guard let iterator else { return false }
        let result: JournalReader.Iterator.PollResult
        do {
            result = try iterator.poll()
        } catch {
            readFailed("cannot read the journal: \(error)", now: now)
            return false
        }
        switch result {
        case .pending:
            return false
        case .finished:
            readFailed("the journal reader stopped", now: now)
            return false
        case .event(.entries(let batch)):
            if batch.unreadableEntries > 0 {
                statistics.errors += batch.unreadableEntries
                logger.warning("\(label): skipped \(batch.unreadableEntries) journal entries libsystemd could not read")
            }
            guard !batch.isEmpty else { return true }
            let shared = SharedJournalBatch(batch)
            tracker.add(shared)
            current = (shared, 0)
        case .event(.caughtUp(let cursor)):
            tracker.caughtUp(at: cursor)
            lastCaughtUp = (tracker.sentCount, cursor)
        case .event(.cursorNotFound(let cursor, let reason, _)):
            let why = reason == .malformed ? "is not a valid journal cursor" : "names no entry of the journal (rotated or vacuumed away, or another journal)"
            gap("saved cursor \"\(cursor)\" from \(cursorFile.path) \(why)")
        }
        return true
    }

    /// Sends the entry's `MESSAGE` as one event, or as pieces of `max_line_bytes` each marked truncated when it
    /// is longer; the entry counts as acknowledged (its cursor can be saved) once every piece is.
    private func send(from shared: SharedJournalBatch, index: Int, outcome: inout PollOutcome) {
        let record = shared.batch[index]
        let message = record.value(at: JournalCapturedField.message.rawValue) ?? ByteBuffer()
        let bytes = message.readableBytes
        let pieceBytes = configuration.maxLineBytes
        let truncated = bytes > pieceBytes
        let ordinal = tracker.sentCount
        lastSent = (shared, index)
        statistics.bytesRead += bytes
        outcome.bytesRead += bytes
        var pieceOffset = 0
        repeat {
            let length = min(pieceBytes, bytes - pieceOffset)
            let isLast = pieceOffset + length == bytes
            // The batch keeps the cursor too until the entry is acknowledged: count it against the budget (so a
            // flood of empty messages is bounded as well).
            let cost = length + record.cursor.readableBytes
            let sequence = tracker.send(completingEntry: isLast)
            inFlightBytes += cost
            statistics.linesSent += 1
            outcome.eventsSent += 1
            if truncated { statistics.truncatedPieces += 1 }
            sink.accept(LineEvent(
                value: message.getSlice(at: message.readerIndex + pieceOffset, length: length) ?? ByteBuffer(),
                readTimeMilliseconds: record.realtimeMilliseconds, source: Self.sourceName,
                origin: EventOrigin(stream: StreamID(rawValue: 0), offset: ordinal),
                endOffset: ordinal + 1, truncated: truncated, inputIndex: inputIndex,
                ackToken: AckToken(
                    input: inputIndex, slot: 0, sequence: sequence, bytes: cost, sourceBytes: length),
                journalEntry: JournalEntryReference(shared: shared, index: index, pieceOffset: truncated ? pieceOffset : nil)))
            pieceOffset += length
        } while pieceOffset < bytes
    }

    private func takeAcknowledgements() {
        acknowledgements.drain(into: &drained)
        for token in drained where token.input == inputIndex {
            guard tracker.acknowledge(token.sequence) else { continue }
            inFlightBytes -= token.bytes
            statistics.linesAcknowledged += 1
            statistics.bytesAcknowledged += token.sourceBytes
        }
    }

    // MARK: - Cursor

    /// Writes the cursor of the acknowledged prefix now, if it moved (atomically, durably).
    public func saveCursor() throws {
        takeAcknowledgements()
        guard let cursor = tracker.resumeCursor(), cursor != savedCursor else { return }
        try cursorFile.save(cursor)
        savedCursor = cursor
    }

    private func saveCursorIfMoved() {
        do {
            try saveCursor()
        } catch {
            statistics.errors += 1
            logger.error("\(label): cannot save the cursor: \(error)")
        }
    }

    /// Saves the cursor and stops the reader. Entries sent and not acknowledged are read again after a restart.
    public func shutdown() {
        sink.flush()
        saveCursorIfMoved()
        iterator?.stop()
        iterator = nil
        retryAt = nil
    }
}
