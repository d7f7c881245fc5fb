import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix

/// The durable log of one topic-partition: record batches in segment files, offsets assigned on
/// append, group-committed fsyncs, reads up to the high watermark, retention and crash recovery.
///
/// Thread-safe: Produce handlers on many connections, Fetch long polls and the retention
/// scheduler call it concurrently. One lock guards the in-memory state and the order of writes;
/// file reads and fsyncs happen outside it.
///
/// Typical produce (acks = -1 or 1):
/// ```swift
/// let result = try log.append(records, now: nowMs)
/// try await log.waitDurable(through: result.lastOffset)   // group commit
/// ```
/// Typical fetch:
/// ```swift
/// await log.waitForData(after: fetchOffset, timeout: .milliseconds(maxWaitMs))  // returns at once if there is data

/// let result = try log.read(from: fetchOffset, maxBytes: partitionMaxBytes)
/// ```
public final class PartitionLog: @unchecked Sendable {
    /// What `append` did.
    public struct AppendResult: Hashable, Sendable {
        /// The offset assigned to the first record (of the original batch for a duplicate).
        public var baseOffset: Int64
        /// The offset of the last record appended; wait for durability through this one.
        public var lastOffset: Int64
        /// -1: batches keep their CreateTime (LogAppendTime is not supported).
        public var logAppendTime: Int64
        /// The log start offset after the append.
        public var logStartOffset: Int64
        /// True if the batch had been appended before (an idempotent producer's retry): nothing
        /// was written and the offsets are the original's. Kafka answers this as success.
        public var isDuplicate: Bool
    }

    /// What `read` found.
    public struct ReadResult: Sendable {
        /// Whole record batches, exactly as stored (empty if nothing is readable at the offset).
        public var records: ByteBuffer
        /// The high watermark: the durable end of the log. No batch at or above it is returned.
        public var highWatermark: Int64
        /// The first offset still in the log.
        public var logStartOffset: Int64
        /// Equal to the high watermark (no transactions).
        public var lastStableOffset: Int64
    }

    /// The topic name.
    public let topic: String
    /// The partition index.
    public let partition: Int32
    /// `<data>/<topic>-<partition>`.
    public let directory: String
    let logger: Logger
    /// Log bytes between offset index entries.
    let indexIntervalBytes: Int
    /// Read chunk size during recovery scans (small in tests).
    let scanChunkBytes: Int

    private let lock = NIOLock()
    /// Guarded by `lock`.
    private var state: State

    /// The lock-guarded state.
    struct State {
        var config: TopicConfig
        /// Oldest first; the last one is the active segment. Never empty.
        var segments: [LogSegment]
        var logStartOffset: Int64
        /// The offset the next appended batch gets.
        var logEndOffset: Int64
        /// Everything below is fsync'd: the high watermark.
        var durableEndOffset: Int64
        var producers = ProducerStateTable()
        /// Whether a caller of `waitDurable` is currently fsyncing.
        var isFlushing = false
        var durableWaiters: [(offset: Int64, continuation: CheckedContinuation<DurableWake, Never>)] = []
        var dataWaiters: [UInt64: (offset: Int64, continuation: CheckedContinuation<Void, Never>)] = [:]
        var nextWaiterID: UInt64 = 0
        /// Set once the log is closed or deleted; every operation then fails with it.
        var closedError: StorageError?
        /// Number of group-commit fsyncs performed (for tests and metrics).
        var flushCount = 0
        /// Test hook: the next group-commit fsync fails with this instead of running.
        var injectedFlushFailure: StorageError?
    }

    /// How a `waitDurable` caller is woken.
    enum DurableWake {
        case durable
        case becomeFlusher
        case failed(StorageError)
    }

    init(
        topic: String, partition: Int32, directory: String, state: State, indexIntervalBytes: Int,
        scanChunkBytes: Int, logger: Logger
    ) {
        self.topic = topic
        self.partition = partition
        self.directory = directory
        self.state = state
        self.indexIntervalBytes = indexIntervalBytes
        self.scanChunkBytes = scanChunkBytes
        self.logger = logger
    }

    // MARK: Offsets

    /// The first offset still in the log (earliest for ListOffsets).
    public var logStartOffset: Int64 { lock.withLock { state.logStartOffset } }
    /// The durable end of the log (latest for ListOffsets): offsets below are fsync'd and readable.
    public var highWatermark: Int64 { lock.withLock { state.durableEndOffset } }
    /// The offset the next append gets (may be above the high watermark until the next fsync).
    public var logEndOffset: Int64 { lock.withLock { state.logEndOffset } }
    /// The topic configuration in force.
    public var config: TopicConfig { lock.withLock { state.config } }
    /// Bytes in all segments.
    public var sizeInBytes: Int { lock.withLock { state.segments.reduce(0) { $0 + $1.size } } }
    /// Number of segments.
    var segmentCount: Int { lock.withLock { state.segments.count } }
    /// Base offsets of the segments, oldest first.
    var segmentBaseOffsets: [Int64] { lock.withLock { state.segments.map(\.baseOffset) } }
    /// Sizes of the segments, oldest first.
    var segmentSizes: [Int] { lock.withLock { state.segments.map(\.size) } }
    /// Group-commit fsyncs so far.
    var flushCount: Int { lock.withLock { state.flushCount } }

    /// Test hook: makes the next group-commit fsync fail with `error`.
    func injectFlushFailure(_ error: StorageError) {
        lock.withLock { state.injectedFlushFailure = error }
    }

    /// Replaces the configuration (AlterConfigs); takes effect for the next append and retention run.
    func updateConfig(_ config: TopicConfig) {
        lock.withLock { state.config = config }
    }

    // MARK: Append

    /// Validates and appends the record batches of one Produce request's partition data.
    ///
    /// Every batch is checked first (CRC, magic 2, complete, at least one record, size against
    /// `max.message.bytes`, idempotent-producer sequence); if any fails nothing is written.
    /// Offsets are assigned in place (`baseOffset`, `partitionLeaderEpoch` = 0) and the whole
    /// request is written with one `pwrite`. The data is **not yet durable** nor readable: call
    /// `waitDurable(through: result.lastOffset)` before acknowledging with acks != 0 (with acks = 0,
    /// call it too, or leave it to the next group commit or long poll).
    ///
    /// - Parameters:
    ///   - records: the partition's `records` field: one or more complete v2 record batches.
    ///   - now: the broker's clock in ms (segment age, retention of batches without timestamps).
    /// - Throws: `StorageError` with `CORRUPT_MESSAGE` (bad CRC, truncated or malformed batch),
    ///   `INVALID_RECORD` (no records, inconsistent `lastOffsetDelta`), `MESSAGE_TOO_LARGE`,
    ///   `RECORD_LIST_TOO_LARGE` (bigger than a segment), `INVALID_PRODUCER_EPOCH`,
    ///   `OUT_OF_ORDER_SEQUENCE_NUMBER`, `KAFKA_STORAGE_ERROR` (the write failed; nothing appended),
    ///   `UNKNOWN_TOPIC_OR_PARTITION` (closed or deleted).
    public func append(_ records: ByteBuffer, now: Int64) throws(StorageError) -> AppendResult {
        // Validation needs no lock.
        var headers: [RecordBatchHeader] = []
        var reader = RecordBatchReader(records)
        do {
            while let batch = try reader.next() { headers.append(batch.header) }
        } catch {
            throw StorageError(.corruptMessage, "invalid record batch for \(topic)-\(partition): \(error)")
        }
        if reader.stoppedEarly {
            throw StorageError(
                .corruptMessage,
                "truncated record batch for \(topic)-\(partition): \(reader.trailingBytes) bytes after the last complete batch")
        }
        guard !headers.isEmpty else {
            throw StorageError(.corruptMessage, "no record batch in the produce data for \(topic)-\(partition)")
        }
        for header in headers {
            guard header.recordsCount > 0, header.lastOffsetDelta == header.recordsCount - 1 else {
                throw StorageError(
                    .invalidRecord,
                    "batch with \(header.recordsCount) records and lastOffsetDelta \(header.lastOffsetDelta) for \(topic)-\(partition)")
            }
        }
        let totalSize = records.readableBytes

        return try lock.withLockTyped { () throws(StorageError) -> AppendResult in
            if let error = state.closedError { throw error }
            let config = state.config
            for header in headers where header.totalSize > config.maxMessageBytes {
                throw StorageError(
                    .messageTooLarge,
                    "record batch of \(header.totalSize) bytes exceeds max.message.bytes \(config.maxMessageBytes) of \(topic)")
            }
            guard totalSize <= config.segmentBytes else {
                throw StorageError(
                    .recordListTooLarge,
                    "\(totalSize) bytes of record batches exceed segment.bytes \(config.segmentBytes) of \(topic)")
            }
            // Idempotent producers: check every batch against the state as it will be after the
            // batches before it in this request.
            var producers = state.producers
            var offset = state.logEndOffset
            var assigned: [RecordBatchHeader] = []
            assigned.reserveCapacity(headers.count)
            for var header in headers {
                switch try producers.check(header) {
                case .duplicate(let original):
                    logger.debug(
                        "duplicate batch from producer",
                        metadata: [
                            "partition": "\(topic)-\(partition)", "producerId": "\(header.producerId)",
                            "sequence": "\(header.baseSequence)", "offset": "\(original.firstOffset)",
                        ])
                    return AppendResult(
                        baseOffset: original.firstOffset, lastOffset: original.lastOffset, logAppendTime: -1,
                        logStartOffset: state.logStartOffset, isDuplicate: true)
                case .append:
                    header.baseOffset = offset
                    header.partitionLeaderEpoch = 0
                    producers.record(header)
                    offset = header.nextOffset
                    assigned.append(header)
                }
            }
            // Roll first if the request does not fit the active segment.
            try rollIfNeeded(incomingBytes: totalSize, lastOffset: offset - 1, now: now)
            let segment = state.segments[state.segments.count - 1]

            var bytes = records
            var position = bytes.readerIndex
            for header in assigned {
                bytes.setKafkaRecordBatchBaseOffset(header.baseOffset, batchAt: position)
                bytes.setKafkaRecordBatchPartitionLeaderEpoch(0, batchAt: position)
                position += header.totalSize
            }
            let start = segment.size
            do throws(StorageError) {
                try segment.log.write(bytes, at: start)
            } catch {
                // Cut off whatever part was written so the next append starts at a batch boundary;
                // if even that fails the file's end is unknown: take the partition offline.
                do throws(StorageError) {
                    try segment.log.truncate(to: start)
                } catch {
                    state.closedError = StorageError(
                        .kafkaStorageError,
                        "\(topic)-\(partition) is offline after a failed write (\(error.message)); restart to recover")
                }
                throw error
            }
            var at = start
            for header in assigned {
                segment.noteAppended(
                    header, at: at, appendTime: now, indexIntervalBytes: indexIntervalBytes, persistIndexes: true)
                at += header.totalSize
            }
            segment.lastAppendTime = now
            state.producers = producers
            state.logEndOffset = offset
            return AppendResult(
                baseOffset: assigned[0].baseOffset, lastOffset: offset - 1, logAppendTime: -1,
                logStartOffset: state.logStartOffset, isDuplicate: false)
        }
    }

    /// Starts a new active segment when the current one is non-empty and would pass
    /// `segment.bytes`, is older than `segment.ms`, or could not index the offsets or positions
    /// (u32 relative values). The old segment and its indexes are fsync'd before the new one is
    /// created, so only the active segment can ever hold a torn write. Lock held.
    private func rollIfNeeded(incomingBytes: Int, lastOffset: Int64, now: Int64) throws(StorageError) {
        let active = state.segments[state.segments.count - 1]
        guard !active.isEmpty else { return }
        let tooBig = active.size + incomingBytes > state.config.segmentBytes
        let tooOld = now - (active.rollTimestamp ?? now) > state.config.segmentMs
        let offsetsOverflow = lastOffset - active.baseOffset > Int64(UInt32.max)
        let positionsOverflow = active.size + incomingBytes > Int(UInt32.max)
        guard tooBig || tooOld || offsetsOverflow || positionsOverflow else { return }
        try active.syncAll()
        active.releaseIndexFiles()
        // Recovery then needs to read producer state only from the new segment on.
        try FileIO.atomicReplace(
            directory + "/" + Self.producerSnapshotFileName, contents: state.producers.snapshot(offset: state.logEndOffset))
        let segment = try LogSegment(directory: directory, baseOffset: state.logEndOffset)
        try FileIO.syncDirectory(directory)
        state.segments.append(segment)
        logger.debug(
            "rolled segment",
            metadata: [
                "partition": "\(topic)-\(partition)", "baseOffset": "\(segment.baseOffset)",
                "reason": "\(tooBig ? "segment.bytes" : tooOld ? "segment.ms" : "index range")",
            ])
    }

    // MARK: Group commit

    /// Returns once everything through `offset` is fsync'd (and so part of the high watermark).
    ///
    /// Group commit: the first caller that finds no fsync in progress performs one for everything
    /// written so far, off the concurrency pool (`NIOThreadPool`); callers arriving meanwhile
    /// queue and are woken by it, or one of them does the next fsync for all. Concurrent
    /// producers therefore share fsyncs instead of paying one each.
    ///
    /// - Throws: `KAFKA_STORAGE_ERROR` if the fsync fails, `UNKNOWN_TOPIC_OR_PARTITION` if the
    ///   log is closed or deleted meanwhile, `OFFSET_OUT_OF_RANGE` for an offset never appended.
    public func waitDurable(through offset: Int64) async throws(StorageError) {
        while true {
            let wake: DurableWake = await withCheckedContinuation { continuation in
                lock.withLock {
                    if offset < state.durableEndOffset {
                        continuation.resume(returning: .durable)
                    } else if let error = state.closedError {
                        continuation.resume(returning: .failed(error))
                    } else if offset >= state.logEndOffset {
                        continuation.resume(
                            returning: .failed(
                                StorageError(
                                    .offsetOutOfRange,
                                    "offset \(offset) of \(topic)-\(partition) was never appended (log end \(state.logEndOffset))")))
                    } else if !state.isFlushing {
                        state.isFlushing = true
                        continuation.resume(returning: .becomeFlusher)
                    } else {
                        state.durableWaiters.append((offset, continuation))
                    }
                }
            }
            switch wake {
            case .durable:
                return
            case .failed(let error):
                throw error
            case .becomeFlusher:
                try await flush()
            }
        }
    }

    /// One group-commit round: fsyncs the active segment (older ones were fsync'd when sealed),
    /// then advances the high watermark and wakes the waiters it covers. Called with
    /// `isFlushing` set; clears it.
    private func flush() async throws(StorageError) {
        let (target, segment, injected) = lock.withLock {
            defer { state.injectedFlushFailure = nil }
            return (state.logEndOffset, state.segments[state.segments.count - 1], state.injectedFlushFailure)
        }
        // On the thread pool, and not cancellable: other producers' acknowledgements depend on it.
        let failure: StorageError? = await withCheckedContinuation { (continuation: CheckedContinuation<StorageError?, Never>) in
            if let injected {
                continuation.resume(returning: injected)
                return
            }
            NIOThreadPool.singleton.submit { workState in
                guard workState == .active else {
                    continuation.resume(returning: StorageError(.kafkaStorageError, "the I/O thread pool is shut down"))
                    return
                }
                do throws(StorageError) {
                    try segment.log.sync()
                    continuation.resume(returning: nil)
                } catch {
                    continuation.resume(returning: error)
                }
            }
        }
        let waitersToWake: [(CheckedContinuation<DurableWake, Never>, DurableWake)]
        let dataToWake: [CheckedContinuation<Void, Never>]
        (waitersToWake, dataToWake) = lock.withLock {
            state.isFlushing = false
            var wake: [(CheckedContinuation<DurableWake, Never>, DurableWake)] = []
            var data: [CheckedContinuation<Void, Never>] = []
            if let failure {
                // After a failed fsync the kernel may have dropped the dirty pages: what is on disk
                // is unknown. As Kafka does for a failed log directory, take the partition offline;
                // a restart recovers it from what is really on disk. Nothing new is durable, and
                // every waiter fails (the produce is not acknowledged).
                let offline = StorageError(
                    .kafkaStorageError,
                    "\(topic)-\(partition) is offline after a failed fsync (\(failure.message)); restart to recover")
                if state.closedError == nil { state.closedError = offline }
                wake = state.durableWaiters.map { ($0.continuation, .failed(offline)) }
                data = state.dataWaiters.values.map(\.continuation)
                state.durableWaiters = []
                state.dataWaiters = [:]
                return (wake, data)
            }
            state.flushCount += 1
            if target > state.durableEndOffset {
                state.durableEndOffset = target
                for (id, waiter) in state.dataWaiters where waiter.offset < target {
                    data.append(waiter.continuation)
                    state.dataWaiters[id] = nil
                }
            }
            var remaining: [(offset: Int64, continuation: CheckedContinuation<DurableWake, Never>)] = []
            for waiter in state.durableWaiters {
                if waiter.offset < state.durableEndOffset {
                    wake.append((waiter.continuation, .durable))
                } else {
                    remaining.append(waiter)
                }
            }
            // Writes that arrived during the fsync: hand the next round to one of their waiters.
            if !remaining.isEmpty {
                state.isFlushing = true
                wake.append((remaining.removeFirst().continuation, .becomeFlusher))
            }
            state.durableWaiters = remaining
            return (wake, data)
        }
        for (continuation, wake) in waitersToWake { continuation.resume(returning: wake) }
        for continuation in dataToWake { continuation.resume() }
        if let failure {
            logger.error(
                "fsync failed, partition offline", metadata: ["partition": "\(topic)-\(partition)", "error": "\(failure)"])
            throw lock.withLock { state.closedError ?? failure }
        }
    }

    // MARK: Long poll

    /// Waits until a record at `offset` is readable (`highWatermark > offset`), the timeout
    /// expires, the log is closed or deleted, or the task is cancelled: the Fetch long poll (pass
    /// the fetch offset). Event-driven: the group commit that advances the high watermark wakes
    /// the waiter; nothing polls.
    ///
    /// - Returns: whether the high watermark is above `offset` on return.
    @discardableResult
    public func waitForData(after offset: Int64, timeout: Duration) async -> Bool {
        let (ready, unflushedEnd) = lock.withLock { () -> (Bool?, Int64?) in
            if state.closedError != nil { return (false, nil) }
            if state.durableEndOffset > offset { return (true, nil) }
            // Written but not yet fsync'd (an acks=0 produce nobody waits for): flush it now
            // rather than leave it invisible until the next acknowledged produce.
            return (nil, state.logEndOffset > offset ? state.logEndOffset - 1 : nil)
        }
        if let ready { return ready }
        if let unflushedEnd {
            try? await waitDurable(through: unflushedEnd)
            return lock.withLock { state.closedError == nil && state.durableEndOffset > offset }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForHighWatermark(above: offset) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return lock.withLock { state.closedError == nil && state.durableEndOffset > offset }
    }

    private func waitForHighWatermark(above offset: Int64) async {
        let id = lock.withLock { () -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = lock.withLock { () -> Bool in
                    if state.durableEndOffset > offset || state.closedError != nil || Task.isCancelled { return true }
                    state.dataWaiters[id] = (offset, continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = lock.withLock { state.dataWaiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }

    // MARK: Read

    /// Reads whole record batches starting with the one that holds `offset`, up to `maxBytes`,
    /// never at or past the high watermark and never across a segment boundary (as Kafka).
    ///
    /// - Parameters:
    ///   - offset: the fetch offset; inside a batch, that whole batch is returned (the client
    ///     skips the records before `offset`).
    ///   - maxBytes: the partition's byte limit.
    ///   - minOneBatch: return the first batch even if it is larger than `maxBytes` (Kafka does,
    ///     for the first partition of a fetch, so a consumer can always make progress).
    /// - Throws: `OFFSET_OUT_OF_RANGE` if `offset` is below the log start offset or above the high
    ///   watermark; `KAFKA_STORAGE_ERROR` on a failed read; `UNKNOWN_TOPIC_OR_PARTITION` if closed.
    public func read(from offset: Int64, maxBytes: Int, minOneBatch: Bool = true) throws(StorageError) -> ReadResult {
        let (highWatermark, logStart, segments) = try lock.withLockTyped { () throws(StorageError) -> (Int64, Int64, [LogSegment]) in
            if let error = state.closedError { throw error }
            return (state.durableEndOffset, state.logStartOffset, state.segments)
        }
        guard offset >= logStart, offset <= highWatermark else {
            throw StorageError(
                .offsetOutOfRange,
                "offset \(offset) is outside \(logStart)...\(highWatermark) of \(topic)-\(partition)")
        }
        var result = ReadResult(
            records: ByteBuffer(), highWatermark: highWatermark, logStartOffset: logStart,
            lastStableOffset: highWatermark)
        guard offset < highWatermark else { return result }
        // The segment holding `offset`, then later ones if it ends before (a gap after recovery).
        var index = segments.lastIndex { $0.baseOffset <= offset } ?? 0
        while index < segments.count {
            let segment = segments[index]
            let (startPosition, limit) = lock.withLock {
                (segment.indexedPosition(atOrBefore: offset), segment.size)
            }
            if let records = try readBatches(
                containing: offset, from: segment, indexedPosition: startPosition, limit: limit,
                highWatermark: highWatermark, maxBytes: maxBytes, minOneBatch: minOneBatch)
            {
                result.records = records
                return result
            }
            index += 1
        }
        return result
    }

    func readHeader(_ segment: LogSegment, at position: Int) throws(StorageError) -> RecordBatchHeader {
        let bytes = try segment.log.read(count: RecordBatchHeader.size, at: position)
        do {
            return try RecordBatchHeader(from: bytes)
        } catch {
            throw StorageError(
                .kafkaStorageError, "unreadable batch header at \(position) of \(segment.logPath): \(error)")
        }
    }

    /// Reads whole batches from `position`: at most `maxBytes` (or the first batch whole if
    /// `minOneBatch`), none starting at or above `highWatermark`.
    /// Reads whole batches starting with the one holding `offset`: at most `maxBytes` (or the
    /// first batch whole if `minOneBatch`), none starting at or above `highWatermark`; `nil` if
    /// the segment ends before `offset`.
    ///
    /// One `pread` from the indexed position usually covers both the walk to the batch (at most
    /// about one index interval) and the data returned; a second one is needed only when the
    /// first batch reaches past it.
    private func readBatches(
        containing offset: Int64, from segment: LogSegment, indexedPosition: Int, limit: Int, highWatermark: Int64,
        maxBytes: Int, minOneBatch: Bool
    ) throws(StorageError) -> ByteBuffer? {
        let maxBytes = max(maxBytes, 0)
        let chunkStart = indexedPosition
        let chunk = try segment.log.read(
            count: min(limit - chunkStart, maxBytes + indexIntervalBytes + RecordBatchHeader.size), at: chunkStart)
        func header(at position: Int) throws(StorageError) -> RecordBatchHeader {
            let index = chunk.readerIndex + position - chunkStart
            if index + RecordBatchHeader.size <= chunk.writerIndex, let header = try? RecordBatchHeader(from: chunk, at: index) {
                return header
            }
            return try readHeader(segment, at: position)
        }
        // Walk the batch headers from the indexed position to the batch holding `offset`.
        var position = indexedPosition
        var first: RecordBatchHeader
        while true {
            guard position + RecordBatchHeader.size <= limit else { return nil }
            first = try header(at: position)
            if first.lastOffset >= offset { break }
            position += first.totalSize
        }
        var wanted = min(maxBytes, limit - position)
        if minOneBatch { wanted = max(wanted, min(first.totalSize, limit - position)) }
        var buffer: ByteBuffer
        if position - chunkStart + wanted <= chunk.readableBytes {
            buffer = chunk.getSlice(at: chunk.readerIndex + position - chunkStart, length: wanted)!
        } else {
            buffer = try segment.log.read(count: wanted, at: position)
        }
        // Keep whole batches below the high watermark.
        var end = buffer.readerIndex
        while end + RecordBatchHeader.FieldOffset.partitionLeaderEpoch <= buffer.writerIndex {
            guard let baseOffset = buffer.getInteger(at: end, as: Int64.self),
                let length = buffer.getInteger(at: end + RecordBatchHeader.FieldOffset.batchLength, as: Int32.self),
                baseOffset < highWatermark, length >= 0
            else { break }
            let size = Int(length) + RecordBatchHeader.logOverhead
            guard end + size <= buffer.writerIndex else { break }
            end += size
        }
        buffer.moveWriterIndex(to: end)
        return buffer
    }

    // MARK: Timestamps

    /// The first offset whose record timestamp is at or after `timestamp`, with that timestamp
    /// (ListOffsets by time), below the high watermark; `nil` if there is none.
    ///
    /// Uses the segments' largest timestamps to pick the segment, its time index to skip to a
    /// batch near the target, batch headers to find the batch, and decodes that one batch to find
    /// the record.
    public func offset(forTimestamp timestamp: Int64) throws(StorageError) -> (offset: Int64, timestamp: Int64)? {
        let (highWatermark, logStart, segments) = try lock.withLockTyped { () throws(StorageError) -> (Int64, Int64, [LogSegment]) in
            if let error = state.closedError { throw error }
            return (state.durableEndOffset, state.logStartOffset, state.segments)
        }
        for segment in segments {
            let (maxTimestamp, startOffset, limit) = lock.withLock {
                (segment.maxTimestamp, segment.indexedOffset(beforeTimestamp: timestamp), segment.size)
            }
            guard maxTimestamp >= timestamp else { continue }
            let from = max(startOffset, logStart)
            var position = lock.withLock { segment.indexedPosition(atOrBefore: from) }
            while position + RecordBatchHeader.size <= limit {
                let header = try readHeader(segment, at: position)
                guard header.baseOffset < highWatermark else { return nil }
                if header.maxTimestamp >= timestamp, header.lastOffset >= logStart {
                    let bytes = try segment.log.read(count: header.totalSize, at: position)
                    do {
                        let batch = try RecordBatch(bytes: bytes)
                        for record in try batch.records()
                        where record.timestamp >= timestamp && record.offset >= logStart {
                            return (record.offset, record.timestamp)
                        }
                    } catch {
                        throw StorageError(
                            .kafkaStorageError, "undecodable batch at \(position) of \(segment.logPath): \(error)")
                    }
                }
                position += header.totalSize
            }
        }
        return nil
    }

    // MARK: Retention

    /// Deletes whole segments from the oldest while they are past `retention.ms` or the partition
    /// is over `retention.bytes`; never the active segment. Advances the log start offset and
    /// checkpoints it before deleting files.
    ///
    /// A segment's age counts from the later of its largest record timestamp and its last append
    /// (the broker's clock), so records produced with old timestamps (a backlog of journal
    /// entries, say) are still kept `retention.ms` after they arrived.
    ///
    /// - Returns: the number of segments deleted.
    @discardableResult
    public func enforceRetention(now: Int64) throws(StorageError) -> Int {
        let removed: [LogSegment] = try lock.withLockTyped { () throws(StorageError) -> [LogSegment] in
            if state.closedError != nil { return [] }
            let config = state.config
            var total = state.segments.reduce(0) { $0 + $1.size }
            var count = 0
            while count < state.segments.count - 1 {
                let segment = state.segments[count]
                let newest = max(segment.maxTimestamp, segment.lastAppendTime)
                let expired = config.retentionMs >= 0 && now - newest > config.retentionMs
                let oversized = config.retentionBytes >= 0 && total - segment.size >= config.retentionBytes
                    && total > config.retentionBytes
                guard expired || oversized else { break }
                total -= segment.size
                count += 1
            }
            guard count > 0 else { return [] }
            let newStart = state.segments[count].baseOffset
            try Self.writeLogStartCheckpoint(newStart, directory: directory)
            let removed = Array(state.segments[..<count])
            state.segments.removeFirst(count)
            state.logStartOffset = max(state.logStartOffset, newStart)
            state.producers.removeBatches(before: state.logStartOffset)
            return removed
        }
        guard !removed.isEmpty else { return 0 }
        for segment in removed {
            try FileIO.removeFile(segment.logPath)
            try FileIO.removeFile(segment.offsetIndexPath)
            try FileIO.removeFile(segment.timeIndexPath)
        }
        try FileIO.syncDirectory(directory)
        logger.info(
            "retention deleted segments",
            metadata: [
                "partition": "\(topic)-\(partition)", "segments": "\(removed.count)",
                "logStartOffset": "\(logStartOffset)",
            ])
        return removed.count
    }

    // MARK: Close

    /// fsyncs every segment and index, writes the producer snapshot and the clean-shutdown
    /// marker, and fails later calls. Produces already appended become durable and their
    /// `waitDurable` calls succeed; long polls are woken.
    public func close() throws(StorageError) {
        let closed = StorageError(.unknownTopicOrPartition, "\(topic)-\(partition) is closed")
        // Refuse new appends, but let produces in flight finish: the syncs below make them durable.
        let segments = lock.withLock { () -> [LogSegment]? in
            guard state.closedError == nil else { return nil }
            state.closedError = closed
            return state.segments
        }
        guard let segments else { return }
        var syncError: StorageError?
        lock.withLock {
            for segment in segments {
                do throws(StorageError) {
                    try segment.syncAll()
                } catch {
                    syncError = syncError ?? error
                }
            }
        }
        if syncError == nil {
            lock.withLock { state.durableEndOffset = state.logEndOffset }
        }
        _ = wakeAll(failing: syncError ?? closed)
        if let syncError { throw syncError }
        let (producers, end) = lock.withLock { (state.producers, state.logEndOffset) }
        try FileIO.atomicReplace(directory + "/" + Self.producerSnapshotFileName, contents: producers.snapshot(offset: end))
        try FileIO.atomicReplace(directory + "/" + Self.cleanShutdownFileName, contents: Array("clean\n".utf8))
    }

    /// Marks the log deleted (its directory is about to be removed) and wakes every waiter.
    func markDeleted() {
        wakeAll(failing: StorageError(.unknownTopicOrPartition, "\(topic)-\(partition) was deleted"))
    }

    /// Sets `closedError` (unless set) and wakes everyone: durable waiters whose offset is now
    /// below the high watermark succeed, the others fail with `error`.
    @discardableResult
    private func wakeAll(failing error: StorageError) -> [LogSegment]? {
        typealias Wake = (continuation: CheckedContinuation<DurableWake, Never>, wake: DurableWake)
        let (segments, durable, data) = lock.withLock { () -> ([LogSegment]?, [Wake], [CheckedContinuation<Void, Never>]) in
            let wasOpen = state.closedError == nil
            if wasOpen { state.closedError = error }
            var durable: [Wake] = []
            for waiter in state.durableWaiters {
                let wake: DurableWake = waiter.offset < state.durableEndOffset ? .durable : .failed(error)
                durable.append((waiter.continuation, wake))
            }
            let data = state.dataWaiters.values.map(\.continuation)
            state.durableWaiters = []
            state.dataWaiters = [:]
            return (wasOpen ? state.segments : nil, durable, data)
        }
        for (continuation, wake) in durable { continuation.resume(returning: wake) }
        for continuation in data { continuation.resume() }
        return segments
    }

    // MARK: Files

    /// Name of the clean-shutdown marker in the partition directory.
    static let cleanShutdownFileName = ".clean-shutdown"
    /// Name of the idempotent-producer state snapshot in the partition directory.
    static let producerSnapshotFileName = "producer-state.json"
    /// Name of the log start offset checkpoint in the partition directory.
    static let logStartFileName = "log-start-offset"

    /// Writes the log start offset checkpoint (`v1 <offset>\n`) atomically.
    static func writeLogStartCheckpoint(_ offset: Int64, directory: String) throws(StorageError) {
        try FileIO.atomicReplace(directory + "/" + logStartFileName, contents: Array("v1 \(offset)\n".utf8))
    }
}
