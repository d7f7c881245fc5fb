import Glibc
public import Logging
import NIOCore
import Synchronization

/// A committed consumer-group offset, as OffsetCommit stores it and OffsetFetch returns it.
public struct CommittedOffset: Hashable, Sendable {
    /// The next offset the group will consume from the partition.
    public var offset: Int64
    /// The leader epoch of the last consumed record, or -1 when the client sent none.
    public var leaderEpoch: Int32
    /// The client's free-form metadata string; `nil` when it sent null.
    public var metadata: String?
    /// When the commit was made, in milliseconds since the Unix epoch.
    public var commitTimestampMs: Int64

    /// Creates a value.
    public init(offset: Int64, leaderEpoch: Int32 = -1, metadata: String? = "", commitTimestampMs: Int64) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
        self.commitTimestampMs = commitTimestampMs
    }
}

/// The durable store of committed offsets: an append-only, checksummed log in
/// `<dataDir>/__consumer_offsets/offsets.log` with every live offset kept in memory.
///
/// - Each ``append(_:)`` writes one frame per offset and fsyncs the file before it returns, so an
///   OffsetCommit is acknowledged only once durable.
/// - Opening reads frames until the first short or corrupt one (a write torn by a crash),
///   truncates the file there and logs how many bytes were dropped; for each (group, topic,
///   partition) the latest frame wins.
/// - When the file grows past ``Configuration-swift.struct/compactionMinimumBytes`` and
///   ``Configuration-swift.struct/compactionRatio`` times the size of the live entries, it is
///   rewritten with the live entries only: temp file, fsync, rename over the log, fsync the
///   directory. Removing offsets (``removeOffsets(topic:)``, ``removeOffsets(group:)``) rewrites
///   the same way.
///
/// The frame format is described in `OffsetStore+Format.swift`. All methods are thread-safe.
/// Writers (``append(_:)``, the removals, ``compact()``) are serialized and block on disk I/O,
/// so call them off the cooperative pool (``GroupCoordinator`` uses NIO's thread pool); readers
/// never wait for a write's fsync.
public final class OffsetStore: Sendable {
    /// When the log is rewritten to drop superseded frames.
    public struct Configuration: Sendable, Hashable {
        /// The log is never compacted while smaller than this many bytes.
        ///
        /// Default: 1 MiB.
        public var compactionMinimumBytes: Int
        /// The log is compacted once larger than this many times the bytes of its live entries.
        ///
        /// Default: 4.
        public var compactionRatio: Int

        /// Creates a configuration; parameters default to the documented values.
        public init(compactionMinimumBytes: Int = 1 << 20, compactionRatio: Int = 4) {
            self.compactionMinimumBytes = compactionMinimumBytes
            self.compactionRatio = max(1, compactionRatio)
        }
    }

    /// The directory inside the broker's data directory that holds the offsets log. Partition
    /// directories are named `topic-partition`, so this name never collides with one.
    public static let directoryName = "__consumer_offsets"
    /// The offsets log's file name.
    public static let fileName = "offsets.log"
    /// The temporary file compaction writes before renaming it over the log.
    static let temporaryFileName = "offsets.log.tmp"

    /// `<dataDir>/__consumer_offsets`.
    public let directory: String
    /// `<dataDir>/__consumer_offsets/offsets.log`.
    public let path: String
    private let configuration: Configuration
    private let logger: Logger
    private let faults: OffsetStoreFaults?
    /// The file side; held for the whole of each write, fsync and rewrite, so writers are
    /// serialized. Lock order: `writer`, then `index`.
    private let writer: Mutex<Writer>
    /// The live offsets; held only briefly, so readers never wait for an fsync.
    private let index: Mutex<Index>

    private struct Writer: ~Copyable {
        /// The open log, or -1 after ``close()``.
        var fd: Int32
        /// Bytes of valid frames in the log; the next frame is written here.
        var fileBytes: Int
        /// Set when the log may no longer match memory (a failed fsync or a write that could
        /// not be undone); every later write fails with it.
        var failure: OffsetStoreError?
    }

    private struct Index {
        /// group → topic → partition → offset.
        var offsets: [String: [String: [Int32: CommittedOffset]]]
        /// Bytes the live entries take as frames: what a compacted log would hold.
        var liveBytes: Int
    }

    /// Opens (creating if needed) the offsets log under `dataDirectory`, recovering from a torn tail.
    ///
    /// - Parameters:
    ///   - dataDirectory: The broker's data directory; created if missing (one level).
    ///   - configuration: When to compact.
    ///   - logger: Receives recovery and compaction messages.
    /// - Throws: `OffsetStoreError` if the directory or file cannot be created, read, truncated
    ///   or synced, or if the log holds a frame of a newer format version.
    public convenience init(
        dataDirectory: String,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "tributary.broker.offsets")
    ) throws(OffsetStoreError) {
        try self.init(dataDirectory: dataDirectory, configuration: configuration, logger: logger, faults: nil)
    }

    /// The designated initializer; `faults` lets tests make file operations fail.
    init(
        dataDirectory: String,
        configuration: Configuration,
        logger: Logger,
        faults: OffsetStoreFaults?
    ) throws(OffsetStoreError) {
        self.faults = faults
        self.directory = dataDirectory + "/" + Self.directoryName
        self.path = directory + "/" + Self.fileName
        self.configuration = configuration
        self.logger = logger

        try OffsetStoreFile.makeDirectory(dataDirectory)
        let directoryExisted = OffsetStoreFile.exists(directory)
        try OffsetStoreFile.makeDirectory(directory)
        if !directoryExisted { try OffsetStoreFile.syncDirectory(dataDirectory) }

        // A temp file left by a crash during compaction: the rename never happened, so the
        // log itself is complete.
        let temporary = directory + "/" + Self.temporaryFileName
        if OffsetStoreFile.exists(temporary) {
            logger.warning("removing unfinished offsets compaction", metadata: ["path": "\(temporary)"])
            try OffsetStoreFile.remove(temporary)
        }

        let fileExisted = OffsetStoreFile.exists(path)
        let fd = try OffsetStoreFile.open(path, flags: O_RDWR | O_CREAT)
        do throws(OffsetStoreError) {
            if !fileExisted { try OffsetStoreFile.syncDirectory(directory) }
            let bytes = try OffsetStoreFile.readAll(fd, path: path)
            let scan = try OffsetStoreFormat.scan(bytes, path: path)
            if scan.validBytes < bytes.readableBytes {
                logger.warning(
                    "truncating torn tail of the offsets log",
                    metadata: [
                        "path": "\(path)",
                        "validBytes": "\(scan.validBytes)",
                        "droppedBytes": "\(bytes.readableBytes - scan.validBytes)",
                        "reason": "\(scan.stopReason ?? "unknown")",
                    ])
                try OffsetStoreFile.truncate(fd, to: scan.validBytes, path: path)
                try OffsetStoreFile.fsync(fd, path: path)
            }
            var offsets: [String: [String: [Int32: CommittedOffset]]] = [:]
            var liveBytes = 0
            for record in scan.records {
                Self.apply(record, to: &offsets, liveBytes: &liveBytes)
            }
            self.writer = Mutex(Writer(fd: fd, fileBytes: scan.validBytes))
            self.index = Mutex(Index(offsets: offsets, liveBytes: liveBytes))
            logger.debug(
                "opened offsets log",
                metadata: ["path": "\(path)", "frames": "\(scan.records.count)", "bytes": "\(scan.validBytes)"])
        } catch {
            OffsetStoreFile.close(fd)
            throw error
        }
    }

    deinit {
        close()
    }

    /// Closes the log; later writes throw. Safe to call more than once.
    public func close() {
        writer.withLock { writer in
            if writer.fd >= 0 {
                OffsetStoreFile.close(writer.fd)
                writer.fd = -1
            }
        }
    }

    // MARK: - Reading

    /// The committed offset of one partition for a group, if any.
    public func committedOffset(group: String, topic: String, partition: Int32) -> CommittedOffset? {
        index.withLock { $0.offsets[group]?[topic]?[partition] }
    }

    /// Every committed offset of a group: topic → partition → offset.
    public func committedOffsets(group: String) -> [String: [Int32: CommittedOffset]] {
        index.withLock { $0.offsets[group] ?? [:] }
    }

    /// The groups with at least one committed offset.
    public var groups: [String] {
        index.withLock { Array($0.offsets.keys) }
    }

    /// The size of the log in bytes (valid frames only).
    public var fileBytes: Int {
        writer.withLock { $0.fileBytes }
    }

    // MARK: - Writing

    /// Appends `records` and fsyncs; when this returns they are durable and visible to readers.
    ///
    /// On failure nothing is visible: a partly written tail is truncated away. If even that, or
    /// the fsync, fails, the store refuses every later write (the file may no longer match
    /// memory; reopening recovers from the file).
    ///
    /// - Throws: `OffsetStoreError` naming the failed operation.
    public func append(_ records: [OffsetStoreRecord]) throws(OffsetStoreError) {
        guard !records.isEmpty else { return }
        var frames = ByteBufferAllocator().buffer(capacity: records.count * 64)
        for record in records {
            guard record.group.utf8.count <= Int(UInt16.max) && record.topic.utf8.count <= Int(UInt16.max) else {
                throw OffsetStoreError(operation: "append", path: path, detail: "group or topic name longer than 65535 bytes")
            }
            OffsetStoreFormat.writeFrame(record, into: &frames)
        }
        try writer.withLock { (state: inout Writer) throws(OffsetStoreError) in
            if let failure = state.failure { throw failure }
            guard state.fd >= 0 else { throw OffsetStoreError(operation: "append", path: path, detail: "store is closed") }
            do throws(OffsetStoreError) {
                if let errno = faults?.take(.write) {
                    // Simulates a write that fails half-way through.
                    try OffsetStoreFile.write(
                        state.fd, frames.getSlice(at: frames.readerIndex, length: frames.readableBytes / 2)!,
                        at: state.fileBytes, path: path)
                    throw OffsetStoreError(operation: "write", path: path, errno: errno)
                }
                try OffsetStoreFile.write(state.fd, frames, at: state.fileBytes, path: path)
            } catch {
                do throws(OffsetStoreError) {
                    try OffsetStoreFile.truncate(state.fd, to: state.fileBytes, path: path)
                } catch let truncateError {
                    state.failure = truncateError
                }
                throw error
            }
            do throws(OffsetStoreError) {
                if let errno = faults?.take(.fsync) { throw OffsetStoreError(operation: "fsync", path: path, errno: errno) }
                try OffsetStoreFile.fsync(state.fd, path: path)
            } catch {
                // After a failed fsync the page cache may have dropped the dirty pages: the file
                // content is unknown, so no later write can be trusted either.
                state.failure = error
                logger.error("offsets log fsync failed; refusing further commits", metadata: ["error": "\(error)"])
                throw error
            }
            state.fileBytes += frames.readableBytes
            let liveBytes = index.withLock { index in
                for record in records {
                    Self.apply(record, to: &index.offsets, liveBytes: &index.liveBytes)
                }
                return index.liveBytes
            }
            if state.fileBytes > max(configuration.compactionMinimumBytes, configuration.compactionRatio * liveBytes) {
                do throws(OffsetStoreError) {
                    try rewrite(&state, offsets: index.withLock { $0.offsets })
                } catch {
                    logger.error("offsets log compaction failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Removes every committed offset of `topic` (in all groups), for example when the topic is
    /// deleted, by rewriting the log without them.
    ///
    /// - Throws: `OffsetStoreError`; the offsets stay in place when the rewrite fails.
    public func removeOffsets(topic: String) throws(OffsetStoreError) {
        try remove { offsets in
            var changed = false
            for group in Array(offsets.keys) where offsets[group]?[topic] != nil {
                offsets[group]![topic] = nil
                if offsets[group]!.isEmpty { offsets[group] = nil }
                changed = true
            }
            return changed
        }
    }

    /// Removes every committed offset of `group`, by rewriting the log without them.
    ///
    /// - Throws: `OffsetStoreError`; the offsets stay in place when the rewrite fails.
    public func removeOffsets(group: String) throws(OffsetStoreError) {
        try remove { offsets in offsets.removeValue(forKey: group) != nil }
    }

    /// Rewrites the log with the live entries only, whatever its size.
    ///
    /// - Throws: `OffsetStoreError` if the rewrite fails; the old log is then kept.
    public func compact() throws(OffsetStoreError) {
        try remove { _ in true }
    }

    private func remove(
        _ change: (inout [String: [String: [Int32: CommittedOffset]]]) -> Bool
    ) throws(OffsetStoreError) {
        try writer.withLock { (state: inout Writer) throws(OffsetStoreError) in
            if let failure = state.failure { throw failure }
            guard state.fd >= 0 else { throw OffsetStoreError(operation: "rewrite", path: path, detail: "store is closed") }
            var offsets = index.withLock { $0.offsets }
            guard change(&offsets) else { return }
            try rewrite(&state, offsets: offsets)
        }
    }

    /// Writes `offsets` to the temp file, fsyncs it, renames it over the log, fsyncs the
    /// directory and switches to the new file; on success `state` and the index describe it.
    /// Called with the writer lock held.
    private func rewrite(_ state: inout Writer, offsets: [String: [String: [Int32: CommittedOffset]]]) throws(OffsetStoreError) {
        let temporary = directory + "/" + Self.temporaryFileName
        var frames = ByteBufferAllocator().buffer(capacity: 4096)
        for (group, topics) in offsets.sorted(by: { $0.key < $1.key }) {
            for (topic, partitions) in topics.sorted(by: { $0.key < $1.key }) {
                for (partition, committed) in partitions.sorted(by: { $0.key < $1.key }) {
                    OffsetStoreFormat.writeFrame(
                        OffsetStoreRecord(group: group, topic: topic, partition: partition, committed: committed),
                        into: &frames)
                }
            }
        }
        let fd = try OffsetStoreFile.open(temporary, flags: O_RDWR | O_CREAT | O_TRUNC)
        do throws(OffsetStoreError) {
            try OffsetStoreFile.write(fd, frames, at: 0, path: temporary)
            try OffsetStoreFile.fsync(fd, path: temporary)
            if let errno = faults?.take(.rename) {
                throw OffsetStoreError(operation: "rename", path: "\(temporary) -> \(path)", errno: errno)
            }
            try OffsetStoreFile.rename(temporary, to: path)
        } catch {
            OffsetStoreFile.close(fd)
            try? OffsetStoreFile.remove(temporary)
            throw error
        }
        // The rename happened: the log is the new file whatever comes next.
        OffsetStoreFile.close(state.fd)
        state.fd = fd
        let before = state.fileBytes
        state.fileBytes = frames.readableBytes
        index.withLock { index in
            index.offsets = offsets
            index.liveBytes = frames.readableBytes
        }
        do throws(OffsetStoreError) {
            try OffsetStoreFile.syncDirectory(directory)
        } catch {
            state.failure = error
            logger.error("fsync of the offsets directory failed after compaction", metadata: ["error": "\(error)"])
            throw error
        }
        logger.info(
            "rewrote offsets log",
            metadata: ["path": "\(path)", "bytesBefore": "\(before)", "bytesAfter": "\(frames.readableBytes)"])
    }

    private static func apply(
        _ record: OffsetStoreRecord,
        to offsets: inout [String: [String: [Int32: CommittedOffset]]],
        liveBytes: inout Int
    ) {
        let frameSize = Self.frameSize(record)
        if let old = offsets[record.group]?[record.topic]?[record.partition] {
            liveBytes -= Self.frameSize(OffsetStoreRecord(
                group: record.group, topic: record.topic, partition: record.partition, committed: old))
        }
        offsets[record.group, default: [:]][record.topic, default: [:]][record.partition] = record.committed
        liveBytes += frameSize
    }

    /// The bytes one frame of `record` takes (header, version and payload).
    static func frameSize(_ record: OffsetStoreRecord) -> Int {
        OffsetStoreFormat.headerSize + 2
            + 2 + record.group.utf8.count
            + 2 + record.topic.utf8.count
            + 4 + 8 + 4
            + 4 + (record.committed.metadata?.utf8.count ?? 0)
            + 8
    }
}

/// Test hook: makes the next file operation of a kind fail with an `errno`, in the spirit of
/// franz-go's `memFS.failNextSync` (a full fault-injecting `FileSystem` twin is not shared yet).
final class OffsetStoreFaults: Sendable {
    /// The operations that can be made to fail.
    enum Operation: Hashable, Sendable {
        /// An append writes half its frames, then fails.
        case write
        /// The fsync after an append fails.
        case fsync
        /// The rename of a compaction fails (after the temp file was written and synced).
        case rename
    }

    private let pending = Mutex<[Operation: Int32]>([:])

    init() {}

    /// The next `operation` fails with `errno`.
    func failNext(_ operation: Operation, errno: Int32) {
        pending.withLock { $0[operation] = errno }
    }

    /// The `errno` to fail `operation` with, consuming it, or `nil` to go ahead.
    func take(_ operation: Operation) -> Int32? {
        pending.withLock { $0.removeValue(forKey: operation) }
    }
}
