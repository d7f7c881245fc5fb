#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One open journal (`sd_journal`): the local journal, a directory of journal files, or a list of files.
///
/// Not thread-safe, like `sd_journal` itself: open, read and close it on one thread (`JournalReader` runs one on a
/// dedicated thread). `next()` returns a `JournalEntry`, a view of the current entry that is valid until the journal
/// moves again; its field bytes are read straight from libsystemd's memory, without copies.
public final class SystemdJournal {
    /// `sd_journal_open` flags.
    public struct OpenFlags: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// `SD_JOURNAL_LOCAL_ONLY`: only journal files of this machine (no remote or container journals).
        public static let localOnly = OpenFlags(rawValue: 1 << 0)
        /// `SD_JOURNAL_RUNTIME_ONLY`: only volatile files under /run.
        public static let runtimeOnly = OpenFlags(rawValue: 1 << 1)
        /// `SD_JOURNAL_SYSTEM`: system services and the kernel.
        public static let system = OpenFlags(rawValue: 1 << 2)
        /// `SD_JOURNAL_CURRENT_USER`: the current user's journal.
        public static let currentUser = OpenFlags(rawValue: 1 << 3)
    }

    /// What `wait`/`process` saw change (`SD_JOURNAL_NOP`, `SD_JOURNAL_APPEND`, `SD_JOURNAL_INVALIDATE`).
    public enum Change: Sendable, Equatable {
        /// Nothing changed (a timeout).
        case none
        /// Entries were appended to a journal file.
        case append
        /// Journal files were added or removed (rotation, vacuuming, a new file in the directory).
        case invalidate
    }

    /// Where reading continues when `seek(cursor:ifMissing:)` does not find the cursor's entry.
    public enum MissingCursorStart: Sendable, Equatable {
        /// The oldest entry (re-reads whatever the journal still holds).
        case head
        /// After the newest entry: only entries appended from now on.
        case tail
        /// The first entry the journal places after the cursor's position (by sequence number, monotonic or
        /// realtime timestamp): for a cursor whose entry was vacuumed, this continues after the lost entries.
        /// A malformed cursor has no position, so reading starts at the head.
        case closest
    }

    /// The outcome of `seek(cursor:ifMissing:)`.
    public enum CursorSeek: Sendable, Equatable {
        /// The cursor's entry exists; `next()` returns the entry after it.
        case found
        /// No entry has this cursor (vacuumed, rotated away, another journal, or filtered out by the matches).
        case notFound
        /// The cursor is not in libsystemd's cursor syntax.
        case malformed

        /// Whether the cursor's entry was found.
        public var found: Bool { self == .found }
    }

    /// Describes the journal in errors: "local journal", "journal directory /x", "journal files a, b".
    public let name: String
    let library: SystemdLibrary
    private var handle: OpaquePointer?
    /// Counts moves, so an entry view can tell it is stale.
    private(set) var position: UInt64 = 0
    /// `seek(cursor:ifMissing: .closest)` already stepped onto an entry that `next()` must return without moving.
    private var currentEntryPending = false

    /// Opens the local journal with `SD_JOURNAL_LOCAL_ONLY` (or every journal this user can read).
    public convenience init(localOnly: Bool = true, library: SystemdLibrary? = nil) throws(JournalError) {
        try self.init(flags: localOnly ? .localOnly : [], library: library)
    }

    /// Opens the local journal with explicit `sd_journal_open` flags.
    public init(flags: OpenFlags, library: SystemdLibrary? = nil) throws(JournalError) {
        let library = try Self.resolve(library)
        self.library = library
        self.name = "local journal"
        var handle: OpaquePointer?
        let result = library.open(&handle, flags.rawValue)
        guard result >= 0, let handle else {
            throw .callFailed(call: "sd_journal_open", journal: name, errno: -min(result, -1))
        }
        self.handle = handle
    }

    /// Opens the journal files in `directory` (not recursively), e.g. `/var/log/journal/<machine-id>`.
    public init(directory: String, library: SystemdLibrary? = nil) throws(JournalError) {
        let library = try Self.resolve(library)
        self.library = library
        self.name = "journal directory \(directory)"
        var handle: OpaquePointer?
        let result = library.openDirectory(&handle, directory, 0)
        guard result >= 0, let handle else {
            throw .callFailed(call: "sd_journal_open_directory", journal: name, errno: -min(result, -1))
        }
        self.handle = handle
    }

    /// Opens exactly the journal files at `paths`.
    public init(files paths: [String], library: SystemdLibrary? = nil) throws(JournalError) {
        let library = try Self.resolve(library)
        self.library = library
        self.name = "journal files \(paths.joined(separator: ", "))"
        var handle: OpaquePointer?
        let cStrings = paths.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var argv: [UnsafePointer<CChar>?] = cStrings.map { UnsafePointer($0) } + [nil]
        let result = argv.withUnsafeMutableBufferPointer { library.openFiles(&handle, $0.baseAddress, 0) }
        guard result >= 0, let handle else {
            throw .callFailed(call: "sd_journal_open_files", journal: name, errno: -min(result, -1))
        }
        self.handle = handle
    }

    deinit {
        if let handle { library.close(handle) }
    }

    /// `library`, or the shared `libsystemd.so.0` when `nil`.
    private static func resolve(_ library: SystemdLibrary?) throws(JournalError) -> SystemdLibrary {
        if let library { return library }
        return try SystemdLibrary.shared.get()
    }

    /// Closes the journal (`sd_journal_close`); later calls throw `JournalError.closed`.
    public func close() {
        if let handle { library.close(handle) }
        handle = nil
        position &+= 1
    }

    // MARK: Settings and matches

    /// Sets the size above which libsystemd may cut (compressed) fields; `0` returns every field whole.
    ///
    /// libsystemd's default is 64 KiB, so long `MESSAGE`s would be cut. The threshold is a hint: uncompressed fields
    /// come back whole regardless, so callers with a size limit must still apply it.
    public func setDataThreshold(_ bytes: Int) throws(JournalError) {
        try check(library.setDataThreshold(open(), max(0, bytes)), "sd_journal_set_data_threshold")
    }

    /// Adds one `FIELD=value` match (`sd_journal_add_match`): same field ORed, different fields ANDed.
    public func addMatch(_ match: [UInt8]) throws(JournalError) {
        var matches = JournalMatches()
        try matches.append(bytes: match)
        try add(matches)
    }

    /// Adds every match of `matches` to the current conjunction.
    public func add(_ matches: JournalMatches) throws(JournalError) {
        let handle = try open()
        for match in matches.matches {
            let result = match.withUnsafeBytes { library.addMatch(handle, $0.baseAddress, $0.count) }
            if result < 0 {
                throw .callFailed(
                    call: "sd_journal_add_match(\(String(decoding: match, as: UTF8.self)))", journal: name,
                    errno: -result)
            }
        }
    }

    /// Adds `_SYSTEMD_UNIT=<unit>` for each unit (ORed) and each `FIELD=value` of `fields`, ANDed with the units.
    public func addMatches(units: [String] = [], fields: [String] = []) throws(JournalError) {
        try add(JournalMatches(units: units, fields: fields))
    }

    /// Starts a new OR branch: entries matching the matches before or the matches after (`sd_journal_add_disjunction`).
    public func addDisjunction() throws(JournalError) {
        try check(library.addDisjunction(open()), "sd_journal_add_disjunction")
    }

    /// Starts a new AND level over the disjunctions before and after (`sd_journal_add_conjunction`).
    public func addConjunction() throws(JournalError) {
        try check(library.addConjunction(open()), "sd_journal_add_conjunction")
    }

    /// Removes every match (`sd_journal_flush_matches`).
    public func flushMatches() throws(JournalError) {
        library.flushMatches(try open())
    }

    // MARK: Positioning

    /// Moves before the oldest entry: `next()` returns the first entry.
    public func seekHead() throws(JournalError) {
        try check(library.seekHead(open()), "sd_journal_seek_head")
        moved()
    }

    /// Moves after the newest entry (`sd_journal_seek_tail`): `previous()` returns the newest entry.
    ///
    /// libsystemd 252 still returns the newest entry for a `next()` right after this; to read only entries
    /// appended from now on, use `seekPastNewest()`.
    public func seekTail() throws(JournalError) {
        try check(library.seekTail(open()), "sd_journal_seek_tail")
        moved()
    }

    /// Positions on the newest entry, so `next()` returns only entries appended from now on.
    public func seekPastNewest() throws(JournalError) {
        let handle = try open()
        try check(library.seekTail(handle), "sd_journal_seek_tail")
        // Step onto the newest entry (as if it had been read); `next()` then moves beyond it on every version.
        try check(library.previous(handle), "sd_journal_previous")
        moved()
    }

    /// Positions after the entry named by `cursor` (a string from `JournalEntry.cursor()`), so `next()` returns the
    /// entry that followed it.
    ///
    /// When no entry has this cursor, reading starts at `ifMissing` instead and the result says why, so the caller can
    /// log and count the gap.
    public func seek(cursor: String, ifMissing: MissingCursorStart) throws(JournalError) -> CursorSeek {
        let handle = try open()
        moved()
        let seekResult = library.seekCursor(handle, cursor)
        if seekResult == -EINVAL {
            try restart(at: ifMissing == .closest ? .head : ifMissing)
            return .malformed
        }
        try check(seekResult, "sd_journal_seek_cursor")
        let stepped = library.next(handle)
        try check(stepped, "sd_journal_next")
        if stepped > 0 {
            let test = library.testCursor(handle, cursor)
            if test == -EINVAL {
                try restart(at: ifMissing == .closest ? .head : ifMissing)
                return .malformed
            }
            try check(test, "sd_journal_test_cursor")
            if test > 0 { return .found }
        }
        switch ifMissing {
        case .closest: currentEntryPending = stepped > 0
        case .head, .tail: try restart(at: ifMissing)
        }
        return .notFound
    }

    private func restart(at start: MissingCursorStart) throws(JournalError) {
        switch start {
        case .head, .closest: try seekHead()
        case .tail: try seekPastNewest()
        }
    }

    // MARK: Reading

    /// Moves to the next entry (`sd_journal_next`); `nil` at the end of the journal.
    public func next() throws(JournalError) -> JournalEntry? {
        let handle = try open()
        if currentEntryPending {
            moved()
            return JournalEntry(journal: self, position: position)
        }
        let result = library.next(handle)
        try check(result, "sd_journal_next")
        moved()
        return result > 0 ? JournalEntry(journal: self, position: position) : nil
    }

    /// Moves to the previous entry (`sd_journal_previous`); `nil` at the start of the journal.
    public func previous() throws(JournalError) -> JournalEntry? {
        let handle = try open()
        let result = library.previous(handle)
        try check(result, "sd_journal_previous")
        moved()
        return result > 0 ? JournalEntry(journal: self, position: position) : nil
    }

    // MARK: Following

    /// Sets up the journal's inotify watches (`sd_journal_get_fd`) and returns the descriptor to poll.
    ///
    /// Call it right after opening and before reading when you will follow the journal, so files added while
    /// the first entries are read are not missed.
    @discardableResult
    public func prepareToFollow() throws(JournalError) -> Int32 {
        let fd = library.getFd(try open())
        try check(fd, "sd_journal_get_fd")
        return fd
    }

    /// Blocks until the journal changes or `timeout` passes (`sd_journal_wait`); `nil` waits without limit.
    ///
    /// Blocks the calling thread: never call it on the Swift cooperative pool.
    public func wait(timeout: Duration?) throws(JournalError) -> Change {
        let micros: UInt64 = timeout.map { Self.microseconds($0) } ?? UInt64.max
        let result = library.wait(try open(), micros)
        try check(result, "sd_journal_wait")
        return Self.change(result)
    }

    /// Processes pending inotify events after the descriptor polled readable (`sd_journal_process`).
    public func process() throws(JournalError) -> Change {
        let result = library.process(try open())
        try check(result, "sd_journal_process")
        return Self.change(result)
    }

    /// Blocks until the journal changes or `wakeDescriptor` becomes readable; `nil` when woken.
    ///
    /// Polls the journal's descriptor with libsystemd's events and timeout (`sd_journal_get_events`,
    /// `sd_journal_get_timeout`) next to `wakeDescriptor`, then runs `sd_journal_process`.
    func waitForChange(orReadable wakeDescriptor: Int32) throws(JournalError) -> Change? {
        let handle = try open()
        let fd = library.getFd(handle)
        try check(fd, "sd_journal_get_fd")
        let events = library.getEvents(handle)
        try check(events, "sd_journal_get_events")
        var deadline: UInt64 = 0
        try check(library.getTimeout(handle, &deadline), "sd_journal_get_timeout")
        var descriptors = [
            pollfd(fd: fd, events: Int16(truncatingIfNeeded: events), revents: 0),
            pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        let ready = descriptors.withUnsafeMutableBufferPointer {
            poll($0.baseAddress, nfds_t($0.count), Self.pollMilliseconds(untilMonotonic: deadline))
        }
        if ready < 0 {
            let code = errno
            if code != EINTR { throw .callFailed(call: "poll", journal: name, errno: code) }
        }
        if descriptors[1].revents != 0 { return nil }
        return try process()
    }

    // MARK: Entry access (used by JournalEntry)

    func currentHandle(for entryPosition: UInt64) throws(JournalError) -> OpaquePointer {
        let handle = try open()
        guard entryPosition == position else { throw .entryNoLongerCurrent(journal: name) }
        return handle
    }

    func check(_ result: Int32, _ call: String) throws(JournalError) {
        if result < 0 { throw .callFailed(call: call, journal: name, errno: -result) }
    }

    private func open() throws(JournalError) -> OpaquePointer {
        guard let handle else { throw .closed(journal: name) }
        return handle
    }

    private func moved() {
        position &+= 1
        currentEntryPending = false
    }

    private static func change(_ result: Int32) -> Change {
        switch result {
        case 1: return .append
        case 2: return .invalidate
        default: return .none
        }
    }

    static func microseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 { return 0 }
        let (micros, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000)
        if overflow { return UInt64.max - 1 }
        return micros &+ UInt64(attoseconds / 1_000_000_000_000)
    }

    /// The poll timeout in ms until `deadline` (CLOCK_MONOTONIC µs); -1 for none (`UInt64.max`).
    private static func pollMilliseconds(untilMonotonic deadline: UInt64) -> Int32 {
        if deadline == UInt64.max { return -1 }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nowMicros = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec / 1000)
        if deadline <= nowMicros { return 0 }
        return Int32(clamping: (deadline - nowMicros + 999) / 1000)
    }
}
