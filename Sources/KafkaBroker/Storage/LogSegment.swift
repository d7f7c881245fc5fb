#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import KafkaProtocol
import NIOCore

/// One segment of a partition log: `<base>.log` with the record batches, `<base>.index` (sparse
/// offset index) and `<base>.timeindex` (sparse time index).
///
/// Formats (big-endian, as Kafka's):
/// * `.index`: entries of 8 bytes, `relativeOffset: u32` (batch base offset − segment base) and
///   `position: u32` (the batch's byte position in `.log`), one per `indexIntervalBytes` of log.
/// * `.timeindex`: entries of 12 bytes, `timestamp: i64` (the largest batch timestamp so far) and
///   `relativeOffset: u32` (the base offset of the batch that reached it), added with an offset
///   index entry when the segment's largest timestamp has grown since the previous time entry.
///
/// - Important: The mutable fields are guarded by the owning `PartitionLog`'s lock. The files
///   themselves may be read outside it, below a `size` read under it.
final class LogSegment: @unchecked Sendable {
    struct OffsetIndexEntry: Hashable {
        var relativeOffset: UInt32
        var position: UInt32
    }

    struct TimeIndexEntry: Hashable {
        var timestamp: Int64
        var relativeOffset: UInt32
    }

    /// Size of an `.index` entry.
    static let offsetIndexEntrySize = 8
    /// Size of a `.timeindex` entry.
    static let timeIndexEntrySize = 12

    /// The offset of the first batch this segment may hold; also its file name.
    let baseOffset: Int64
    /// The partition directory.
    let directory: String
    let log: FileDescriptor
    /// The index files, open while the segment is active (or being recovered or closed) and
    /// released once it is sealed: a sealed segment's indexes live in memory, so it holds one
    /// descriptor instead of three.
    private var offsetIndexHandle: FileDescriptor?
    private var timeIndexHandle: FileDescriptor?

    // Guarded by the partition's lock.
    /// Bytes of whole batches in `.log`.
    var size: Int = 0
    /// The offset after the last batch (`baseOffset` while empty).
    var nextOffset: Int64
    /// The largest batch `maxTimestamp` seen, -1 if none.
    var maxTimestamp: Int64 = -1
    /// The broker's clock when the first batch was appended (segment.ms counts from it; the
    /// producer's timestamps are not used, so a backlog with old timestamps does not roll a
    /// segment per request); `nil` while empty.
    var rollTimestamp: Int64?
    /// The broker's clock at the last append (the file's modification time after a restart), -1
    /// if unknown.
    var lastAppendTime: Int64 = -1
    var offsetIndex: [OffsetIndexEntry] = []
    var timeIndex: [TimeIndexEntry] = []
    /// Log bytes appended since the last offset index entry.
    var bytesSinceIndexEntry = 0
    /// Timestamp of the last time index entry (-1 if none).
    var lastIndexedTimestamp: Int64 = -1
    /// Set when writing an index entry failed: the files must be rewritten from memory.
    var indexFilesNeedRewrite = false

    /// `<20-digit base>` as Kafka names segment files.
    static func fileStem(_ baseOffset: Int64) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    var logPath: String { "\(directory)/\(Self.fileStem(baseOffset)).log" }
    var offsetIndexPath: String { "\(directory)/\(Self.fileStem(baseOffset)).index" }
    var timeIndexPath: String { "\(directory)/\(Self.fileStem(baseOffset)).timeindex" }

    /// Opens (creating if needed) the three files of the segment at `baseOffset`; nothing is read.
    init(directory: String, baseOffset: Int64) throws(StorageError) {
        self.directory = directory
        self.baseOffset = baseOffset
        self.nextOffset = baseOffset
        let stem = "\(directory)/\(Self.fileStem(baseOffset))"
        self.log = try FileDescriptor(path: stem + ".log", flags: O_RDWR | O_CREAT)
        self.offsetIndexHandle = try FileDescriptor(path: stem + ".index", flags: O_RDWR | O_CREAT)
        self.timeIndexHandle = try FileDescriptor(path: stem + ".timeindex", flags: O_RDWR | O_CREAT)
    }

    /// The `.index` file, reopened if it was released.
    var offsetIndexFile: FileDescriptor {
        get throws(StorageError) {
            if let handle = offsetIndexHandle { return handle }
            let handle = try FileDescriptor(path: offsetIndexPath, flags: O_RDWR | O_CREAT)
            offsetIndexHandle = handle
            return handle
        }
    }

    /// The `.timeindex` file, reopened if it was released.
    var timeIndexFile: FileDescriptor {
        get throws(StorageError) {
            if let handle = timeIndexHandle { return handle }
            let handle = try FileDescriptor(path: timeIndexPath, flags: O_RDWR | O_CREAT)
            timeIndexHandle = handle
            return handle
        }
    }

    /// Closes the index files (a sealed segment); they are reopened when needed.
    func releaseIndexFiles() {
        offsetIndexHandle = nil
        timeIndexHandle = nil
    }

    /// Whether the segment holds no batch.
    var isEmpty: Bool { size == 0 }

    // MARK: Appending

    /// Records that the batch with `header` now sits at `position` (the old `size`) and takes
    /// `header.totalSize` bytes: updates size, offsets, timestamps and the indexes (in memory and,
    /// if `persistIndexes`, in the index files).
    ///
    /// A failed index file write is not an error for the append (the batch is already in the
    /// log): the in-memory index stays right and the files are rewritten when the segment is
    /// sealed or closed (`indexFilesNeedRewrite`), or rebuilt by recovery after a crash.
    func noteAppended(
        _ header: RecordBatchHeader, at position: Int, appendTime: Int64, indexIntervalBytes: Int, persistIndexes: Bool
    ) {
        if rollTimestamp == nil { rollTimestamp = appendTime }
        if bytesSinceIndexEntry >= indexIntervalBytes || offsetIndex.isEmpty {
            let entry = OffsetIndexEntry(
                relativeOffset: UInt32(truncatingIfNeeded: header.baseOffset - baseOffset), position: UInt32(position))
            offsetIndex.append(entry)
            if persistIndexes {
                var bytes = ByteBuffer()
                bytes.writeInteger(entry.relativeOffset)
                bytes.writeInteger(entry.position)
                do {
                    try offsetIndexFile.write(bytes, at: (offsetIndex.count - 1) * Self.offsetIndexEntrySize)
                } catch {
                    indexFilesNeedRewrite = true
                }
            }
            bytesSinceIndexEntry = 0
            let newMax = max(maxTimestamp, header.maxTimestamp)
            if newMax > lastIndexedTimestamp {
                let timeEntry = TimeIndexEntry(timestamp: newMax, relativeOffset: entry.relativeOffset)
                timeIndex.append(timeEntry)
                lastIndexedTimestamp = newMax
                if persistIndexes {
                    var bytes = ByteBuffer()
                    bytes.writeInteger(timeEntry.timestamp)
                    bytes.writeInteger(timeEntry.relativeOffset)
                    do {
                        try timeIndexFile.write(bytes, at: (timeIndex.count - 1) * Self.timeIndexEntrySize)
                    } catch {
                        indexFilesNeedRewrite = true
                    }
                }
            }
        }
        bytesSinceIndexEntry += header.totalSize
        maxTimestamp = max(maxTimestamp, header.maxTimestamp)
        size = position + header.totalSize
        nextOffset = header.nextOffset
    }

    /// Writes the in-memory indexes to their files in full (after a rebuild), cutting any excess.
    func rewriteIndexFiles() throws(StorageError) {
        var offsets = ByteBuffer()
        offsets.reserveCapacity(offsetIndex.count * Self.offsetIndexEntrySize)
        for entry in offsetIndex {
            offsets.writeInteger(entry.relativeOffset)
            offsets.writeInteger(entry.position)
        }
        try offsetIndexFile.truncate(to: 0)
        try offsetIndexFile.write(offsets, at: 0)
        var times = ByteBuffer()
        times.reserveCapacity(timeIndex.count * Self.timeIndexEntrySize)
        for entry in timeIndex {
            times.writeInteger(entry.timestamp)
            times.writeInteger(entry.relativeOffset)
        }
        try timeIndexFile.truncate(to: 0)
        try timeIndexFile.write(times, at: 0)
    }

    /// fsyncs the log and both indexes (when the segment is sealed, and at close), rewriting the
    /// index files first if an entry could not be written.
    func syncAll() throws(StorageError) {
        if indexFilesNeedRewrite {
            try rewriteIndexFiles()
            indexFilesNeedRewrite = false
        }
        try log.sync()
        // Index files not open have not been written since they were last synced.
        try offsetIndexHandle?.sync()
        try timeIndexHandle?.sync()
    }

    // MARK: Lookup

    /// The position of the last indexed batch starting at or before `offset` (0 if none).
    func indexedPosition(atOrBefore offset: Int64) -> Int {
        let relative = offset - baseOffset
        guard relative > 0 else { return 0 }
        var low = 0, high = offsetIndex.count - 1, found = 0
        while low <= high {
            let mid = (low + high) / 2
            if Int64(offsetIndex[mid].relativeOffset) <= relative {
                found = Int(offsetIndex[mid].position)
                low = mid + 1
            } else {
                high = mid - 1
            }
        }
        return found
    }

    /// The offset of the last time index entry whose timestamp is below `timestamp` (the base
    /// offset if none): a batch at or after it is the first that can reach `timestamp`.
    func indexedOffset(beforeTimestamp timestamp: Int64) -> Int64 {
        var result = baseOffset
        for entry in timeIndex {
            guard entry.timestamp < timestamp else { break }
            result = baseOffset + Int64(entry.relativeOffset)
        }
        return result
    }

    // MARK: Loading indexes from disk

    /// Loads `.index` and `.timeindex` into memory if they are consistent with a log of
    /// `logSize` bytes: whole entries, a first entry at position 0, strictly increasing offsets
    /// and positions, positions inside the log, non-decreasing timestamps. The caller checks the
    /// offsets against the log's end once it knows it.
    ///
    /// - Returns: false (nothing loaded) if either file is missing or inconsistent.
    func loadIndexes(logSize: Int) throws(StorageError) -> Bool {
        let offsetBytes = try offsetIndexFile.size()
        let timeBytes = try timeIndexFile.size()
        guard logSize > 0 else { return offsetBytes == 0 && timeBytes == 0 }
        guard offsetBytes > 0, offsetBytes % Self.offsetIndexEntrySize == 0,
            timeBytes % Self.timeIndexEntrySize == 0
        else { return false }
        var offsets = try offsetIndexFile.read(count: offsetBytes, at: 0)
        var loaded: [OffsetIndexEntry] = []
        loaded.reserveCapacity(offsetBytes / Self.offsetIndexEntrySize)
        while let relative = offsets.readInteger(as: UInt32.self), let position = offsets.readInteger(as: UInt32.self) {
            if let last = loaded.last, relative <= last.relativeOffset || position <= last.position { return false }
            guard Int(position) < logSize else { return false }
            loaded.append(OffsetIndexEntry(relativeOffset: relative, position: position))
        }
        guard loaded.first?.position == 0 else { return false }
        var times = try timeIndexFile.read(count: timeBytes, at: 0)
        var loadedTimes: [TimeIndexEntry] = []
        while let timestamp = times.readInteger(as: Int64.self), let relative = times.readInteger(as: UInt32.self) {
            if let last = loadedTimes.last, timestamp < last.timestamp || relative < last.relativeOffset { return false }
            loadedTimes.append(TimeIndexEntry(timestamp: timestamp, relativeOffset: relative))
        }
        offsetIndex = loaded
        timeIndex = loadedTimes
        lastIndexedTimestamp = loadedTimes.last?.timestamp ?? -1
        return true
    }
}
