#if canImport(Glibc)
import Glibc
#endif
import CAgentSystem
public import Logging
import NIOCore

/// A `type: file` input: finds files by glob (inotify plus a periodic rescan), tails them through every kind
/// of rotation, cuts lines and sends them to a `RecordSink`; saves per-stream positions once acknowledged.
///
/// Driven by `poll(now:)` (tests call it directly; `run()` loops it). Not thread-safe: one task owns it.
/// Acknowledgements come back through `acknowledgements` from any thread.
public final class FileInput {
    /// Counters since start (for metrics and tests).
    public struct Statistics: Sendable, Equatable {
        public var linesSent = 0
        public var bytesRead = 0
        public var linesAcknowledged = 0
        /// File bytes covered by the acknowledged lines (terminators included).
        public var bytesAcknowledged = 0
        public var truncatedPieces = 0
        public var streamsStarted = 0
        public var errors = 0
    }

    /// What one `poll` did.
    public struct PollOutcome: Sendable {
        public var eventsSent = 0
        public var bytesRead = 0
        /// Reading stopped because the in-flight byte budget is used up.
        public var blockedByBudget = false
    }

    public let configuration: FileInputConfiguration
    public let inputIndex: Int
    /// Where positions are saved.
    public let positionsPath: String
    public let acknowledgements: AcknowledgementInbox
    public private(set) var statistics = Statistics()
    /// Value bytes sent and not yet acknowledged.
    public private(set) var inFlightBytes = 0
    /// Why the saved positions could not be used at start, if they could not.
    public private(set) var positionsLoadError: String?

    private let sink: any RecordSink
    private let maxInFlightBytes: Int
    private let logger: Logger
    private let chunkSize: Int
    private let discovery: FileDiscovery
    private let watcher = DirectoryWatcher()
    private let allocator = ByteBufferAllocator()

    private var streams: [Int: FileStream] = [:]
    /// Slots of the streams with an open file, and of those no file holds: kept by `track` so that per-file
    /// work (descriptor cap, matching a new file) does not walk every stream (10,000 files would be quadratic).
    private var openSlots = Set<Int>()
    private var unattachedSlots = Set<Int>()
    private var nextSlot = 0
    /// Attached streams by the file holding them.
    private var attachedByKey: [FileKey: Int] = [:]
    /// The stream a file last held, to derive the id of its next stream deterministically.
    private var previousOccupant: [FileKey: StreamID] = [:]
    /// Paths of streams known from the saved positions: files there are not "never seen" for `start_at`.
    private var knownPaths = Set<String>()
    /// Problems already logged, by path, so a bad path is reported once (again when the problem changes).
    private var reportedProblems: [String: String] = [:]
    private var scannedOnce = false
    /// Matched files without a stream left alone when last seen, empty or maybe an unfinished copy (see
    /// `consider`): a write to one of them makes it considered again.
    private var undecidedPaths = Set<String>()
    /// Acknowledgements taken from the inbox (storage reused: see `AcknowledgementInbox.drain(into:)`).
    private var drained: [AckToken] = []
    private var rescanRequested = true
    private var nextRescan: ContinuousClock.Instant?
    private var positionsDirty = false
    private var lastSave: ContinuousClock.Instant?
    private var readCursor = 0
    /// Files found while every descriptor was in use, oldest first: attached as descriptors free up, without
    /// waiting for the next rescan (10,000 files under a cap of 16 would otherwise take 625 rescans).
    private var waitingForDescriptor: [DiscoveredFile] = []
    private var waitingKeys = Set<FileKey>()
    /// Set when a file could not get a descriptor; later new files of the same scan go straight to the queue.
    private var descriptorsExhausted = false

    /// How long an unattached stream is remembered (to recognise a late copy or rename) before it is dropped.
    private let forgetAfterSeconds: Int64 = 7 * 24 * 3600

    public init(
        configuration: FileInputConfiguration, inputIndex: Int, stateDirectory: String, sink: any RecordSink,
        acknowledgements: AcknowledgementInbox, maxInFlightBytes: Int, logger: Logger, chunkSize: Int = 64 * 1024
    ) {
        self.configuration = configuration
        self.inputIndex = inputIndex
        self.positionsPath = "\(stateDirectory)/files-\(configuration.name).json"
        self.sink = sink
        self.acknowledgements = acknowledgements
        self.maxInFlightBytes = maxInFlightBytes
        self.logger = logger
        self.chunkSize = chunkSize
        self.discovery = FileDiscovery(include: configuration.paths, exclude: configuration.exclude)
        if let reason = watcher.unavailableReason {
            logger.warning("file input \(configuration.topic): \(reason); relying on the periodic rescan")
        }
        loadPositions()
    }

    deinit {
        for stream in streams.values { stream.closeFile() }
    }

    /// Number of files open right now.
    public var openFileCount: Int { openSlots.count }

    /// For each file holding a stream: its path and its size now (fstat when open, stat of the path when
    /// closed) minus the stream's acknowledged offset (0 when the file is shorter).
    public func fileLags() -> [FileLag] {
        streams.values.filter(\.attached).sorted { $0.slot < $1.slot }.map { stream in
            var info = stat()
            var size = stream.lastSize
            if stream.isOpen {
                if fstat(stream.fd, &info) == 0 { size = UInt64(info.st_size) }
            } else if stat(stream.currentPath, &info) == 0, UInt64(info.st_dev) == stream.key.device,
                UInt64(info.st_ino) == stream.key.inode
            {
                size = UInt64(info.st_size)
            }
            let acknowledged = stream.acks.acknowledgedOffset
            return FileLag(path: stream.currentPath, lagBytes: size > acknowledged ? size - acknowledged : 0)
        }
    }

    // MARK: - Positions

    private func loadPositions() {
        let file: PositionFile?
        do {
            file = try PositionFile.load(path: positionsPath)
        } catch {
            positionsLoadError = error.description
            statistics.errors += 1
            let aside = positionsPath + ".corrupt"
            rename(positionsPath, aside)
            logger.error(
                "file input \(configuration.topic): \(error); moved it to \(aside), starting every file at start_at (\(configuration.startAt.rawValue))")
            return
        }
        guard let file else { return }
        let now = ContinuousClock.now
        for saved in file.streams {
            guard let id = StreamID(hex: saved.id) else { continue }
            let stream = FileStream(
                id: id, slot: takeSlot(), source: saved.path, key: FileKey(device: saved.device, inode: saved.inode),
                offset: saved.offset, signature: saved.signature, maxLineBytes: configuration.maxLineBytes,
                multiline: configuration.multiline, now: now, lastSeen: saved.lastSeen)
            stream.mayContinueInCopy = saved.continuesInCopy ?? true
            insert(stream)
            knownPaths.insert(saved.path)
        }
    }

    /// Writes the acknowledged positions now (atomically, durably).
    public func savePositions() throws {
        takeAcknowledgements()
        var saved: [PositionFile.Stream] = []
        for stream in streams.values.sorted(by: { $0.slot < $1.slot }) {
            if stream.signatureStale, stream.isOpen,
                let signature = ContentSignature.compute(fd: stream.fd, upTo: stream.readOffset, window: configuration.fingerprintBytes)
            {
                stream.signature = signature
                stream.signatureStale = false
            }
            saved.append(PositionFile.Stream(
                id: stream.id.description, device: stream.key.device, inode: stream.key.inode, path: stream.source,
                offset: stream.acks.acknowledgedOffset, signature: stream.signature, lastSeen: stream.lastSeen,
                continuesInCopy: stream.mayContinueInCopy ? nil : false))
        }
        try PositionFile(version: PositionFile.currentVersion, streams: saved).save(path: positionsPath)
        positionsDirty = false
    }

    /// The acknowledged offset of the stream whose first path is `source` and which a file holds now (tests).
    public func acknowledgedOffset(source: String) -> UInt64? {
        streams.values.first { $0.source == source && $0.attached }?.acks.acknowledgedOffset
    }

    // MARK: - Polling

    /// One step: take acknowledgements, rescan if due, read what is new, apply timeouts, save positions if
    /// due (at most once a second).
    @discardableResult
    public func poll(now: ContinuousClock.Instant = .now) -> PollOutcome {
        var outcome = PollOutcome()
        takeAcknowledgements()
        let changes = watcher.drain()
        if changes.needsRescan { rescanRequested = true }
        if !changes.modifiedPaths.isEmpty {
            let modified = Set(changes.modifiedPaths)
            for stream in streams.values where stream.attached && modified.contains(stream.currentPath) {
                if stream.isOpen { stream.needsRead = true } else { rescanRequested = true }  // reopen it
            }
            // A file left alone (empty, or maybe a copy) was written to: look at it again (see `consider`), after
            // the truncations (a copytruncate copy must find its stream detached, not mistake it for a new file).
            let written = undecidedPaths.intersection(modified)
            if !written.isEmpty {
                detectTruncations(now: now)
                for path in written {
                    undecidedPaths.remove(path)
                    if let file = DiscoveredFile(path: path) { consider(file, now: now, wall: Self.wallSeconds()) }
                }
            }
        }
        if rescanRequested || nextRescan.map({ now >= $0 }) ?? true {
            rescan(now: now)
        }
        readPass(now: now, outcome: &outcome)
        applyTimeouts(now: now, outcome: &outcome)
        attachWaiting(now: now)
        if rescanRequested {
            // A stream detached during this poll: look for a copy of it (copytruncate) at once.
            rescan(now: now)
            readPass(now: now, outcome: &outcome)
        }
        // Every poll: a sink may hold records the producer could not take yet.
        sink.flush()
        if positionsDirty, lastSave.map({ now - $0 >= .seconds(1) }) ?? true {
            do {
                try savePositions()
            } catch {
                statistics.errors += 1
                logger.error("file input \(configuration.topic): cannot save positions: \(error)")
            }
            lastSave = now
        }
        return outcome
    }

    /// Saves positions and closes every file. Held partial lines and unacknowledged events are read again
    /// after a restart (from the acknowledged offsets).
    public func shutdown() {
        sink.flush()
        takeAcknowledgements()
        do {
            try savePositions()
        } catch {
            statistics.errors += 1
            logger.error("file input \(configuration.topic): cannot save positions at shutdown: \(error)")
        }
        for stream in streams.values { stream.closeFile() }
    }

    private func takeAcknowledgements() {
        acknowledgements.drain(into: &drained)
        for token in drained where token.input == inputIndex {
            guard let stream = streams[token.slot], stream.acks.acknowledge(token.sequence) else { continue }
            inFlightBytes -= token.bytes
            statistics.linesAcknowledged += 1
            statistics.bytesAcknowledged += token.sourceBytes
            positionsDirty = true
        }
    }

    // MARK: - Discovery

    private func rescan(now: ContinuousClock.Instant) {
        rescanRequested = false
        descriptorsExhausted = false
        nextRescan = now + configuration.rescanInterval
        for (directory, reason) in watcher.watch(discovery.directories()) {
            report(directory, "cannot watch directory: \(reason)")
        }
        // Truncations first, so a copytruncate copy found by this scan continues the truncated stream.
        detectTruncations(now: now)
        let (files, problems) = discovery.scan()
        for problem in problems { report(problem.path, problem.reason) }
        let wall = Self.wallSeconds()
        var seen = Set<FileKey>()
        undecidedPaths.removeAll()  // `consider` puts back the ones still undecided
        for file in files {
            seen.insert(file.key)
            consider(file, now: now, wall: wall)
        }
        for stream in streams.values where stream.attached && !seen.contains(stream.key) {
            if stream.isOpen {
                stream.needsRead = true  // renamed out of the globs or deleted: read it to its end
            } else {
                detach(stream, reason: "is gone", now: now, mayContinueInCopy: false)
            }
        }
        let cutoff = wall - forgetAfterSeconds
        for stream in streams.values where !stream.attached && stream.acks.pendingCount == 0 && stream.lastSeen < cutoff {
            remove(stream)
            positionsDirty = true
        }
        scannedOnce = true
    }

    /// Detaches every open stream whose file was truncated (or truncated and rewritten).
    private func detectTruncations(now: ContinuousClock.Instant) {
        for slot in openSlots.sorted() {
            guard let stream = streams[slot] else { continue }
            _ = sizeIfStillTheSameContent(stream, now: now)
        }
    }

    private func consider(_ file: DiscoveredFile, now: ContinuousClock.Instant, wall: Int64, fromQueue: Bool = false) {
        if let slot = attachedByKey[file.key], let stream = streams[slot] {
            stream.currentPath = file.path
            stream.lastSeen = wall
            if stream.isOpen {
                stream.needsRead = true
                return
            }
            let unchanged = file.size == stream.lastSize && file.size == stream.readOffset
                && stream.modifiedAtClose == file.modified
            guard !unchanged else { return }
            guard let fd = openFile(file.path, expecting: file.key) else { return }
            if stream.signature.matches(fd: fd, size: file.size) || stream.readOffset == 0 {
                guard hasDescriptorToSpare() else {
                    close(fd)
                    return  // stays attached and closed; a later scan tries again
                }
                stream.fd = fd
                stream.needsRead = true
                reportedProblems[file.path] = nil
                return
            }
            detach(stream, reason: "was replaced (inode reused)", now: now, mayContinueInCopy: false)
            close(fd)
        }
        if descriptorsExhausted || (waitingKeys.contains(file.key) && !waitingForDescriptor.isEmpty && !fromQueue)
            || !hasDescriptorToSpare()
        {
            if !descriptorsExhausted && waitingForDescriptor.isEmpty {
                logger.warning("file input \(configuration.topic): open-files cap (\(configuration.maxOpenFiles)) reached; files wait for a descriptor (first: \(file.path))")
            }
            descriptorsExhausted = true
            enqueueWaiting(file)
            return
        }
        guard let fd = openFile(file.path, expecting: file.key) else { return }
        reportedProblems[file.path] = nil
        var candidate = CandidateFile(fd: fd, size: file.size)
        if let stream = matchUnattached(&candidate, key: file.key) {
            attach(stream, fd: fd, file: file, now: now, wall: wall)
            logger.debug("file input \(configuration.topic): \(file.path) continues stream \(stream.id) at \(stream.readOffset)")
            return
        }
        // A copy is a snapshot, never longer than its original is now.
        let isCopyOfLiveStream = streams.values.contains { stream in
            stream.attached && stream.signature.checkEnd > 0 && file.size <= currentSize(of: stream)
                && (candidate.holds(stream.signature, upTo: 0)
                    || candidate.mayBeUnfinishedCopy(of: stream.signature, original: stream.isOpen ? stream.fd : nil))
        }
        // A copy of a stream still being read (copytruncate before the truncation), maybe still being written, or
        // an empty file (copytruncate creates the copy empty, then writes it; a new file looks the same until its
        // first write): leave it, and look again at its next write. Once the original is truncated the stream
        // detaches and continues in the copy.
        if isCopyOfLiveStream || file.size == 0 {
            undecidedPaths.insert(file.path)
            close(fd)
            return
        }
        undecidedPaths.remove(file.path)
        let predecessor = previousOccupant[file.key]
            ?? streams.values.first { !$0.attached && $0.key == file.key }?.id
        let id = FileStream.makeID(key: file.key, birthTime: tributary_birth_time_ns(fd), predecessor: predecessor)
        let startAtEnd = !scannedOnce && configuration.startAt == .end && !knownPaths.contains(file.path)
            && predecessor == nil
        let offset = startAtEnd ? file.size : 0
        // A known stream with this id but other content (same device, inode and birth time, no predecessor
        // recorded): derive a fresh id from it.
        let uniqueID = streams.values.contains { $0.id == id }
            ? FileStream.makeID(key: file.key, birthTime: tributary_birth_time_ns(fd), predecessor: id) : id
        let stream = FileStream(
            id: uniqueID, slot: takeSlot(), source: file.path, key: file.key, offset: offset, signature: .empty,
            maxLineBytes: configuration.maxLineBytes, multiline: configuration.multiline, now: now, lastSeen: wall)
        stream.signatureStale = offset > 0
        insert(stream)
        statistics.streamsStarted += 1
        attach(stream, fd: fd, file: file, now: now, wall: wall)
        positionsDirty = true
        logger.info("file input \(configuration.topic): tailing \(file.path) from offset \(offset) (stream \(stream.id))")
    }

    /// An unattached stream whose content this file holds: first one last held by this very file, then any
    /// (oldest first).
    private func matchUnattached(_ candidate: inout CandidateFile, key: FileKey) -> FileStream? {
        var best: FileStream?
        for slot in unattachedSlots {
            guard let stream = streams[slot] else { continue }
            // A stream with no content signature yet, or whose file was deleted, only continues in its own file.
            guard stream.key == key || (stream.signature.checkEnd > 0 && stream.mayContinueInCopy) else { continue }
            let better = best.map { current in
                (stream.key == key ? 0 : 1, stream.slot) < (current.key == key ? 0 : 1, current.slot)
            } ?? true
            if better && candidate.holds(stream.signature, upTo: stream.readOffset) { best = stream }
        }
        return best
    }

    private func attach(_ stream: FileStream, fd: Int32, file: DiscoveredFile, now: ContinuousClock.Instant, wall: Int64) {
        if !hasDescriptorToSpare() {
            close(fd)
            // No descriptor free: stay unattached and wait in the queue.
            if waitingForDescriptor.isEmpty {
                logger.warning("file input \(configuration.topic): open-files cap (\(configuration.maxOpenFiles)) reached; files wait for a descriptor (first: \(file.path))")
            }
            descriptorsExhausted = true
            enqueueWaiting(file)
            return
        }
        stream.fd = fd
        stream.key = file.key
        stream.currentPath = file.path
        stream.attached = true
        stream.needsRead = true
        stream.lastGrowth = now
        stream.lastSeen = wall
        stream.deleted = false
        attachedByKey[file.key] = stream.slot
    }

    private func insert(_ stream: FileStream) {
        streams[stream.slot] = stream
        stream.onStateChange = { [weak self] in self?.track($0) }
        track(stream)
    }

    private func remove(_ stream: FileStream) {
        stream.onStateChange = nil
        streams.removeValue(forKey: stream.slot)
        openSlots.remove(stream.slot)
        unattachedSlots.remove(stream.slot)
    }

    private func track(_ stream: FileStream) {
        if stream.isOpen { openSlots.insert(stream.slot) } else { openSlots.remove(stream.slot) }
        if stream.attached { unattachedSlots.remove(stream.slot) } else { unattachedSlots.insert(stream.slot) }
    }

    private func enqueueWaiting(_ file: DiscoveredFile) {
        if waitingKeys.insert(file.key).inserted { waitingForDescriptor.append(file) }
    }

    /// Attaches waiting files while descriptors can be had (an idle file is closed for each, oldest first);
    /// stops at the first file that has to wait again. A file gone or replaced meanwhile is left to the rescan.
    private func attachWaiting(now: ContinuousClock.Instant) {
        guard !waitingForDescriptor.isEmpty else { return }
        descriptorsExhausted = false
        let wall = Self.wallSeconds()
        var taken = 0
        while taken < waitingForDescriptor.count, !descriptorsExhausted {
            let file = waitingForDescriptor[taken]
            taken += 1
            waitingKeys.remove(file.key)
            consider(file, now: now, wall: wall, fromQueue: true)
        }
        // Those that had to wait again were appended at the end; drop the ones handled.
        waitingForDescriptor.removeFirst(taken)
    }

    /// Ends reading `stream` in its current file. A stream whose file was truncated may continue in a copy
    /// (copytruncate); one whose file was deleted or is gone only ever continues in that same file (a new file
    /// that merely starts with the same bytes is a new stream).
    private func detach(_ stream: FileStream, reason: String, now: ContinuousClock.Instant, mayContinueInCopy: Bool = true) {
        logger.info("file input \(configuration.topic): \(stream.currentPath) \(reason); stream \(stream.id) ends at \(stream.readOffset)")
        stream.mayContinueInCopy = mayContinueInCopy
        flushHeld(stream, now: now)
        stream.closeFile()
        stream.attached = false
        if attachedByKey[stream.key] == stream.slot { attachedByKey[stream.key] = nil }
        previousOccupant[stream.key] = stream.id
        rescanRequested = true
        positionsDirty = true
    }

    /// The size of the file holding `stream` now (its last known size when it is closed).
    private func currentSize(of stream: FileStream) -> UInt64 {
        var info = stat()
        guard stream.isOpen, fstat(stream.fd, &info) == 0 else { return stream.lastSize }
        return UInt64(info.st_size)
    }

    /// Whether one more file may be opened under the cap, closing the longest-idle open file if needed.
    private func hasDescriptorToSpare() -> Bool {
        openFileCount < configuration.maxOpenFiles || closeOneIdleFile()
    }

    /// Closes the open file that has been idle longest (read to its end, nothing held); false if none can be.
    /// A file not read since it was opened (`needsRead`) is not idle: its size is not known yet.
    private func closeOneIdleFile() -> Bool {
        let idle = openSlots.compactMap { streams[$0] }.filter {
            $0.isOpen && !$0.needsRead && $0.holdsNothing && $0.readOffset >= $0.lastSize
        }
        guard let victim = idle.min(by: { $0.lastGrowth < $1.lastGrowth }) else { return false }
        if victim.signatureStale { refreshSignature(victim) }
        victim.closeFile()
        return true
    }

    private func openFile(_ path: String, expecting key: FileKey) -> Int32? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let error = errno
            if error != ENOENT { report(path, "cannot open: \(String(cString: strerror(error)))") }
            return nil
        }
        var info = stat()
        guard fstat(fd, &info) == 0, UInt64(info.st_dev) == key.device, UInt64(info.st_ino) == key.inode else {
            close(fd)  // replaced between stat and open; the next scan sees the new file
            rescanRequested = true
            return nil
        }
        return fd
    }

    private func report(_ path: String, _ reason: String, isError: Bool = true) {
        guard reportedProblems[path] != reason else { return }
        reportedProblems[path] = reason
        if isError {
            statistics.errors += 1
            logger.error("file input \(configuration.topic): \(path): \(reason)")
        } else {
            logger.warning("file input \(configuration.topic): \(path): \(reason)")
        }
    }

    // MARK: - Reading

    private func readPass(now: ContinuousClock.Instant, outcome: inout PollOutcome) {
        let ordered = openSlots.sorted().compactMap { streams[$0] }.filter { $0.isOpen && $0.needsRead }
        guard !ordered.isEmpty else { return }
        let start = readCursor % ordered.count
        readCursor += 1
        for index in 0..<ordered.count {
            if inFlightBytes >= maxInFlightBytes {
                outcome.blockedByBudget = true
                return
            }
            read(ordered[(start + index) % ordered.count], now: now, outcome: &outcome)
        }
    }

    /// The size of `stream`'s open file, or nil after detaching the stream because the file was truncated
    /// (shorter than the read offset), or truncated and rewritten (the bytes before the offset changed; one
    /// small pread, done on inotify events and rescans only), or cannot be examined.
    private func sizeIfStillTheSameContent(_ stream: FileStream, now: ContinuousClock.Instant) -> UInt64? {
        var info = stat()
        guard fstat(stream.fd, &info) == 0 else {
            detach(stream, reason: "cannot be examined (\(String(cString: strerror(errno))))", now: now)
            return nil
        }
        let size = UInt64(info.st_size)
        stream.deleted = info.st_nlink == 0
        if size < stream.readOffset {
            detach(stream, reason: "was truncated (size \(size) < offset \(stream.readOffset))", now: now)
            return nil
        }
        if let check = stream.tailCheck,
            ContentSignature.hashRange(fd: stream.fd, offset: stream.readOffset - UInt64(check.length), length: check.length)
                != check.hash
        {
            detach(stream, reason: "was truncated and rewritten (bytes before offset \(stream.readOffset) changed)", now: now)
            return nil
        }
        return size
    }

    /// Reads what is new in `stream`'s file, at most 1 MiB per call (fairness) and within the budget.
    private func read(_ stream: FileStream, now: ContinuousClock.Instant, outcome: inout PollOutcome) {
        guard var size = sizeIfStillTheSameContent(stream, now: now) else { return }
        stream.lastSize = size
        let readTime = LocalSystem.wallClockMilliseconds()
        var budget = 1 << 20
        stream.needsRead = false
        while budget > 0 {
            if inFlightBytes >= maxInFlightBytes {
                outcome.blockedByBudget = true
                stream.needsRead = true
                break
            }
            let offset = stream.splitter.endOffset
            // Only what the file holds (its size checked again once reached): line slices keep their read
            // buffer alive until acknowledged, so 1,000 tailed files with a line each must not pin 64 KiB each.
            if offset >= size {
                size = currentSize(of: stream)
                if offset >= size { break }
            }
            let count = min(chunkSize, Int(size - offset))
            var buffer = stream.splitter.makeReadBuffer(allocator: allocator, chunkSize: count)
            let fd = stream.fd
            let got = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { target in
                let result = pread(fd, target.baseAddress, min(count, target.count), off_t(offset))
                return max(result, 0)
            }
            guard got > 0 else { break }
            stream.readOffset = offset + UInt64(got)
            stream.lastSize = max(stream.lastSize, stream.readOffset)
            stream.lastGrowth = now
            stream.signatureStale = true
            statistics.bytesRead += got
            outcome.bytesRead += got
            budget -= got
            stream.splitter.consume(buffer) { line in
                emit(line, from: stream, readTime: readTime, now: now, outcome: &outcome)
            }
            let tailLength = min(64, buffer.readableBytes)
            stream.tailCheck = buffer.withUnsafeReadableBytes { raw in
                var hasher = FNV1a()
                hasher.add(UnsafeRawBufferPointer(rebasing: raw[(raw.count - tailLength)...]))
                return (hasher.value, tailLength)
            }
            if budget <= 0 { stream.needsRead = true }
        }
        if stream.signatureStale && stream.signature.headLength < configuration.fingerprintBytes {
            refreshSignature(stream)
        }
    }

    /// Recomputes the content signature up to the read offset, so a copy made now is recognised.
    private func refreshSignature(_ stream: FileStream) {
        guard stream.isOpen,
            let signature = ContentSignature.compute(fd: stream.fd, upTo: stream.readOffset, window: configuration.fingerprintBytes)
        else { return }
        stream.signature = signature
        stream.signatureStale = false
    }

    private func emit(
        _ line: SplitLine, from stream: FileStream, readTime: Int64, now: ContinuousClock.Instant, outcome: inout PollOutcome
    ) {
        if stream.joiner != nil {
            var joined: [SplitLine] = []
            stream.joiner?.add(line, now: now) { joined.append($0) }
            for event in joined { send(event, from: stream, readTime: readTime, outcome: &outcome) }
        } else {
            send(line, from: stream, readTime: readTime, outcome: &outcome)
        }
    }

    private func send(_ line: SplitLine, from stream: FileStream, readTime: Int64, outcome: inout PollOutcome) {
        let sequence = stream.acks.append(endOffset: line.endOffset)
        let bytes = line.value.readableBytes + Self.inFlightOverheadPerEvent
        inFlightBytes += bytes
        statistics.linesSent += 1
        if line.truncated { statistics.truncatedPieces += 1 }
        outcome.eventsSent += 1
        sink.accept(LineEvent(
            value: line.value, readTimeMilliseconds: readTime, source: stream.source,
            origin: EventOrigin(stream: stream.id, offset: line.offset), endOffset: line.endOffset,
            truncated: line.truncated, inputIndex: inputIndex,
            ackToken: AckToken(
                input: inputIndex, slot: stream.slot, sequence: sequence, bytes: bytes,
                sourceBytes: Int(line.endOffset - line.offset))))
    }

    /// Ships the held partial line and multiline event of `stream`.
    private func flushHeld(_ stream: FileStream, now: ContinuousClock.Instant) {
        var outcome = PollOutcome()
        let readTime = LocalSystem.wallClockMilliseconds()
        var partial: [SplitLine] = []
        stream.splitter.flushPartial { partial.append($0) }
        for line in partial { emit(line, from: stream, readTime: readTime, now: now, outcome: &outcome) }
        var joined: [SplitLine] = []
        stream.joiner?.flush { joined.append($0) }
        for event in joined { send(event, from: stream, readTime: readTime, outcome: &outcome) }
        if outcome.eventsSent > 0 { sink.flush() }
    }

    /// Ships held partial lines and multiline events that are due (counted in `outcome`, so the poll flushes the
    /// sink), detaches deleted files read to their end and closes idle ones.
    private func applyTimeouts(now: ContinuousClock.Instant, outcome: inout PollOutcome) {
        for stream in streams.values where stream.attached {
            let idle = now - stream.lastGrowth
            let atEnd = stream.readOffset >= stream.lastSize && !stream.needsRead
            if stream.splitter.pending.readableBytes > 0, atEnd, idle >= configuration.partialLineTimeout, stream.isOpen {
                // Only when the file stopped growing: re-check its size first.
                var info = stat()
                if fstat(stream.fd, &info) == 0, UInt64(info.st_size) == stream.readOffset {
                    let readTime = LocalSystem.wallClockMilliseconds()
                    var partial: [SplitLine] = []
                    stream.splitter.flushPartial { partial.append($0) }
                    for line in partial { emit(line, from: stream, readTime: readTime, now: now, outcome: &outcome) }
                } else {
                    stream.needsRead = true
                }
            }
            if stream.joiner != nil {
                var joined: [SplitLine] = []
                stream.joiner?.flushIfDue(now: now) { joined.append($0) }
                for event in joined { send(event, from: stream, readTime: LocalSystem.wallClockMilliseconds(), outcome: &outcome) }
            }
            if stream.deleted, atEnd, idle >= configuration.partialLineTimeout {
                detach(stream, reason: "was deleted and read to its end", now: now, mayContinueInCopy: false)
            } else if stream.isOpen, atEnd, stream.holdsNothing, idle >= configuration.closeIdleAfter {
                if stream.signatureStale { refreshSignature(stream) }
                stream.closeFile()
            }
        }
    }

    /// Bytes counted against the in-flight budget for each event beyond its line: its share of headers
    /// (`host`, `source`, `origin`), record framing and acknowledgement bookkeeping, so many short lines are
    /// bounded as well as a few long ones.
    public static let inFlightOverheadPerEvent = 128

    private func takeSlot() -> Int {
        defer { nextSlot += 1 }
        return nextSlot
    }

    private static func wallSeconds() -> Int64 { LocalSystem.wallClockMilliseconds() / 1000 }
}
