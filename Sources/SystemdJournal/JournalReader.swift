import NIOConcurrencyHelpers

/// Which journal a `JournalReader` opens.
public enum JournalSource: Sendable, Equatable {
    /// The local journal (`sd_journal_open`), by default this machine's files only.
    case local(SystemdJournal.OpenFlags = .localOnly)
    /// The journal files in a directory (`sd_journal_open_directory`).
    case directory(String)
    /// Exactly these journal files (`sd_journal_open_files`).
    case files([String])
}

/// Where a `JournalReader` starts.
public enum JournalStart: Sendable, Equatable {
    /// The oldest entry.
    case head
    /// After the newest entry: only entries appended from now on.
    case tail
    /// After the entry with this cursor; when it is gone, at `ifMissing`, reported as `cursorNotFound` first.
    case cursor(String, ifMissing: SystemdJournal.MissingCursorStart)
}

/// What a `JournalReader` configuration asks for.
public struct JournalReaderConfiguration: Sendable {
    /// The fields every record carries by default: the message and the fields of the record headers.
    public static let defaultCapturedFields = [
        "MESSAGE", "_SYSTEMD_UNIT", "PRIORITY", "_PID", "SYSLOG_IDENTIFIER", "_HOSTNAME",
    ]

    /// The journal to open.
    public var source: JournalSource
    /// Matches the journal applies (units and `FIELD=value`); empty reads every entry.
    public var matches: JournalMatches
    /// Where reading starts.
    public var start: JournalStart
    /// Keep waiting for new entries at the end (true), or end the sequence there (false).
    public var follow: Bool
    /// The fields copied into each record (see `JournalBatch.capturedFields`).
    public var capturedFields: [String]
    /// `sd_journal_set_data_threshold`: 0 returns whole fields; a limit L returns at least L bytes of longer
    /// compressed fields (set it above your own size limit so cut fields are still recognisably too long).
    public var dataThreshold: Int
    /// A batch is handed over at this many entries, this many bytes, or when the journal has nothing more.
    public var maxBatchEntries: Int
    /// See `maxBatchEntries`.
    public var maxBatchBytes: Int
    /// Batches read ahead of the consumer; the reader thread blocks when they are all waiting (backpressure).
    public var bufferedBatches: Int
    /// The libsystemd to use; `nil` loads `libsystemd.so.0` (`SystemdLibrary.shared`).
    public var library: SystemdLibrary?
    /// With matches: yield `.caughtUp(cursor:)` whenever every matching entry was read, naming the newest entry of
    /// the journal whether it matches or not, and accept such a cursor as `start` (a non-matching entry's cursor
    /// then positions after it instead of being "not found"). Lets a consumer save its position past the entries
    /// the matches filter out. Costs a second, unfiltered journal handle on the reader thread. Default: false.
    public var reportsCaughtUp: Bool

    /// A configuration reading `source` from `start`, following new entries.
    public init(
        source: JournalSource, matches: JournalMatches = JournalMatches(), start: JournalStart = .head,
        follow: Bool = true
    ) {
        self.source = source
        self.matches = matches
        self.start = start
        self.follow = follow
        self.capturedFields = Self.defaultCapturedFields
        self.dataThreshold = 0
        self.maxBatchEntries = 1024
        self.maxBatchBytes = 1 << 20
        self.bufferedBatches = 2
        self.library = nil
        self.reportsCaughtUp = false
    }
}

/// What a `JournalReader` yields.
public enum JournalReadEvent: Sendable {
    /// Entries in journal order.
    case entries(JournalBatch)
    /// The start cursor's entry was not found (`reason` is `.notFound` or `.malformed`); reading continues at
    /// `restartedAt`. Entries between the cursor and the restart point may be lost or repeated: log and count a gap.
    case cursorNotFound(cursor: String, reason: SystemdJournal.CursorSeek, restartedAt: SystemdJournal.MissingCursorStart)
    /// Every matching entry up to and including the journal's newest entry `cursor` (matching or not) has been
    /// yielded; resuming after `cursor` loses nothing. Only with `reportsCaughtUp` and matches.
    case caughtUp(cursor: String)
}

/// Reads a journal on a dedicated thread and yields batches of entries with bounded buffering.
///
/// The journal is opened and read on its own thread (`sd_journal_wait`/`poll` block), never on the Swift cooperative
/// pool. At most `bufferedBatches` batches wait for the consumer; then the thread stops reading until the consumer
/// catches up, so the journal itself is the buffer. The thread starts on the first `next()` and stops when the
/// iterator is released, the consuming task is cancelled, or `stop()` is called. Errors (the journal cannot be
/// opened, libsystemd is missing) are thrown from `next()`.
public struct JournalReader: AsyncSequence, Sendable {
    public typealias Element = JournalReadEvent

    /// The reader's configuration.
    public let configuration: JournalReaderConfiguration

    /// A reader for `configuration`; nothing happens until iteration starts.
    public init(configuration: JournalReaderConfiguration) {
        self.configuration = configuration
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(configuration: configuration)
    }

    /// Yields the reader's events; one consumer.
    public final class Iterator: AsyncIteratorProtocol, Sendable {
        private let session: JournalReadSession

        init(configuration: JournalReaderConfiguration) {
            session = JournalReadSession(configuration: configuration)
        }

        /// The next event; `nil` at the end (not following) or after `stop()`/cancellation.
        public func next() async throws -> JournalReadEvent? {
            try session.startIfNeeded()
            return try await session.handoff.next()
        }

        /// What `poll()` found.
        public enum PollResult: Sendable {
            /// The next event.
            case event(JournalReadEvent)
            /// No event is ready yet; the reader thread is still reading or waiting for the journal.
            case pending
            /// The sequence ended (not following, or stopped).
            case finished
        }

        /// Takes the next event if the reader thread already produced one: never suspends or blocks, for a
        /// consumer that polls (use either `poll()` or `next()`, not both at once). Starts the thread on first
        /// use; throws the reader's error (the journal cannot be opened, libsystemd is missing) once.
        public func poll() throws -> PollResult {
            try session.startIfNeeded()
            switch try session.handoff.poll() {
            case .element(let event): return .event(event)
            case .pending: return .pending
            case .finished: return .finished
            }
        }

        /// Stops the reader thread; `next()` returns `nil` afterwards.
        public func stop() {
            session.handoff.cancel()
        }

        deinit { session.handoff.cancel() }
    }
}

/// The reader thread's shared state: its handoff, its stop signal, whether it started.
final class JournalReadSession: Sendable {
    let configuration: JournalReaderConfiguration
    let handoff: BlockingHandoff<JournalReadEvent>
    private let wakeup: Result<WakeupDescriptor, JournalError>
    private let started = NIOLockedValueBox(false)

    init(configuration: JournalReaderConfiguration) {
        self.configuration = configuration
        let wakeup = Result { () throws(JournalError) in try WakeupDescriptor() }
        self.wakeup = wakeup
        self.handoff = BlockingHandoff(capacity: configuration.bufferedBatches) {
            if case .success(let descriptor) = wakeup { descriptor.wake() }
        }
    }

    func startIfNeeded() throws(JournalError) {
        let first = started.withLockedValue { started in
            defer { started = true }
            return !started
        }
        guard first else { return }
        let wakeup = try wakeup.get()
        let configuration = configuration
        let handoff = handoff
        try DedicatedThread.start(name: "journal-reader") {
            JournalReadLoop(configuration: configuration, handoff: handoff, wakeup: wakeup).run()
        }
    }
}

/// The body of the reader thread: open, position, then read batches and wait for more until stopped.
struct JournalReadLoop {
    let configuration: JournalReaderConfiguration
    let handoff: BlockingHandoff<JournalReadEvent>
    let wakeup: WakeupDescriptor

    func run() {
        defer { wakeup.release() }
        do {
            try read()
        } catch {
            handoff.finish(throwing: error)
        }
    }

    private func read() throws(JournalError) {
        let journal = try open()
        defer { journal.close() }
        if configuration.follow { try journal.prepareToFollow() }
        try journal.setDataThreshold(configuration.dataThreshold)
        try journal.add(configuration.matches)
        // Without matches the last entry read is the newest: no second handle needed.
        var unfiltered: SystemdJournal?
        if configuration.reportsCaughtUp && !configuration.matches.isEmpty { unfiltered = try open() }
        defer { unfiltered?.close() }
        if configuration.follow { try unfiltered?.prepareToFollow() }
        guard try position(journal, unfiltered: unfiltered) else { return }
        var reportedCaughtUp: String?

        var builder = JournalBatchBuilder(
            capturedFields: configuration.capturedFields,
            expectedEntries: min(max(1, configuration.maxBatchEntries), 4096))
        let maxEntries = max(1, configuration.maxBatchEntries)
        let maxBytes = max(1, configuration.maxBatchBytes)
        while !handoff.isCancelled {
            while builder.count < maxEntries, builder.byteCount < maxBytes, let entry = try journal.next() {
                builder.append(entry)
            }
            if builder.count > 0 || builder.unreadableEntries > 0 {
                guard handoff.push(.entries(builder.finish())) else { return }
                continue
            }
            if let unfiltered, let newest = try newestCursor(unfiltered), newest != reportedCaughtUp {
                // Entries up to `newest` exist now; pick up any that arrived since the last `next()` returned nil
                // (new files too), so `newest` is reported only once no matching entry before it is unread.
                if configuration.follow { _ = try journal.process() }
                if let entry = try journal.next() {
                    builder.append(entry)
                    continue
                }
                guard handoff.push(.caughtUp(cursor: newest)) else { return }
                reportedCaughtUp = newest
            }
            guard configuration.follow else {
                handoff.finish()
                return
            }
            guard try journal.waitForChange(orReadable: wakeup.fileDescriptor) != nil else { return }
        }
    }

    private func open() throws(JournalError) -> SystemdJournal {
        switch configuration.source {
        case .local(let flags): return try SystemdJournal(flags: flags, library: configuration.library)
        case .directory(let path): return try SystemdJournal(directory: path, library: configuration.library)
        case .files(let paths): return try SystemdJournal(files: paths, library: configuration.library)
        }
    }

    /// The cursor of the newest entry of `unfiltered` (a journal without matches), `nil` when it is empty.
    private func newestCursor(_ unfiltered: SystemdJournal) throws(JournalError) -> String? {
        if configuration.follow { _ = try unfiltered.process() }
        try unfiltered.seekTail()
        return try unfiltered.previous()?.cursor()
    }

    /// Seeks to the start; `false` when the consumer went away meanwhile. With an `unfiltered` journal, a cursor
    /// is looked up there, so the cursor of an entry the matches filter out still positions after it.
    private func position(_ journal: SystemdJournal, unfiltered: SystemdJournal?) throws(JournalError) -> Bool {
        switch configuration.start {
        case .head:
            try journal.seekHead()
        case .tail:
            try journal.seekPastNewest()
        case .cursor(let cursor, let ifMissing):
            if let unfiltered {
                let exists = try unfiltered.seek(cursor: cursor, ifMissing: .head)
                if exists.found {
                    // Found or not among the matching entries, `.closest` leaves `journal` right after it.
                    _ = try journal.seek(cursor: cursor, ifMissing: .closest)
                    return true
                }
            }
            let result = try journal.seek(cursor: cursor, ifMissing: ifMissing)
            if !result.found {
                return handoff.push(.cursorNotFound(cursor: cursor, reason: result, restartedAt: ifMissing))
            }
        }
        return true
    }
}
