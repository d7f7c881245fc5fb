import KafkaProtocol
import Logging
import NIOCore

extension PartitionLog {
    /// Opens (creating if needed) the partition directory `directory` and recovers it.
    ///
    /// Recovery, after a clean shutdown or a `kill -9` at any moment:
    /// * leftover `*.tmp` files and index files without a `.log` are removed; segments wholly
    ///   below the checkpointed log start offset (a retention run cut short) are deleted;
    /// * without the clean-shutdown marker, the active (last) segment is read batch by batch with
    ///   CRC checks and cut at the first torn or bad batch (the bytes dropped are logged), and its
    ///   indexes are rebuilt from the scan. Sealed segments were fsync'd when they were rolled;
    /// * every other segment's indexes are loaded if consistent with its log, and rebuilt from a
    ///   scan of the log otherwise;
    /// * idempotent-producer state is rebuilt from the batch headers of the last two segments;
    /// * the active segment is fsync'd, so everything on disk is durable: the high watermark
    ///   starts at the log end.
    ///
    /// - Parameters:
    ///   - scanChunkBytes: read size while scanning segments.
    static func open(
        directory: String, topic: String, partition: Int32, config: TopicConfig, indexIntervalBytes: Int = 4096,
        scanChunkBytes: Int = 1 << 20, logger: Logger
    ) throws(StorageError) -> PartitionLog {
        try FileIO.createDirectory(directory)
        let markerPath = directory + "/" + cleanShutdownFileName
        let wasClean = FileIO.exists(markerPath)
        var metadata: Logger.Metadata = ["partition": "\(topic)-\(partition)"]

        var baseOffsets: [Int64] = []
        var leftovers: [String] = []
        let names = try FileIO.contentsOfDirectory(directory)
        for name in names {
            if name.hasSuffix(".tmp") {
                leftovers.append(name)
            } else if name.hasSuffix(".log"), let base = segmentBaseOffset(name, suffix: ".log") {
                baseOffsets.append(base)
            }
        }
        let logBases = Set(baseOffsets)
        for name in names {
            for suffix in [".index", ".timeindex"] where name.hasSuffix(suffix) {
                if let base = segmentBaseOffset(name, suffix: suffix), !logBases.contains(base) { leftovers.append(name) }
            }
        }
        for name in leftovers { try FileIO.removeFile(directory + "/" + name) }
        baseOffsets.sort()

        // The log start offset checkpoint.
        var logStart = baseOffsets.first ?? 0
        if let bytes = try FileIO.readFile(directory + "/" + logStartFileName) {
            if let checkpoint = parseLogStartCheckpoint(bytes) {
                logStart = max(logStart, checkpoint)
            } else {
                logger.warning("unreadable log start offset checkpoint, using the first segment", metadata: metadata)
            }
        }
        // Segments wholly below the log start offset: a retention run that stopped half way.
        while baseOffsets.count > 1, baseOffsets[1] <= logStart {
            let base = baseOffsets.removeFirst()
            let stem = directory + "/" + LogSegment.fileStem(base)
            for suffix in [".log", ".index", ".timeindex"] { try FileIO.removeFile(stem + suffix) }
            leftovers.append(stem)
        }

        // Producer state: the snapshot written at the last roll or close, plus the batches after
        // it; without one, the batches of the last two segments.
        var producers = ProducerStateTable()
        var producerScanFrom = baseOffsets.count >= 2 ? baseOffsets[baseOffsets.count - 2] : (baseOffsets.first ?? 0)
        var snapshotOffset: Int64? = nil
        if let bytes = try FileIO.readFile(directory + "/" + producerSnapshotFileName) {
            if let (table, offset) = ProducerStateTable.load(snapshot: bytes) {
                producers = table
                producerScanFrom = offset
                snapshotOffset = offset
            } else {
                logger.warning("unreadable producer state snapshot, rebuilding from the log", metadata: metadata)
            }
        }

        var segments: [LogSegment] = []
        for (index, base) in baseOffsets.enumerated() {
            let segment = try LogSegment(directory: directory, baseOffset: base)
            let isLast = index == baseOffsets.count - 1
            let needsProducerState = isLast || baseOffsets[index + 1] > producerScanFrom
            let fileSize = try segment.log.size()
            segment.lastAppendTime = try segment.log.modificationTimeMs()
            metadata["segment"] = "\(LogSegment.fileStem(base)).log"

            var loaded = false
            if !isLast || wasClean {
                loaded = try segment.loadIndexes(logSize: fileSize)
                if loaded {
                    loaded = try recoverTail(of: segment, fileSize: fileSize, chunkBytes: scanChunkBytes, logger: logger)
                }
                if !loaded, fileSize > 0 {
                    logger.warning("segment indexes missing or inconsistent, rebuilding", metadata: metadata)
                }
            }
            if !loaded {
                // Full scan with CRC checks; rebuilds the indexes and cuts a torn tail.
                segment.offsetIndex = []
                segment.timeIndex = []
                segment.lastIndexedTimestamp = -1
                segment.bytesSinceIndexEntry = 0
                segment.size = 0
                segment.nextOffset = base
                segment.maxTimestamp = -1
                // Sealed segments were fsync'd when rolled: damage there is reported and the
                // damaged batch served as is (the consumer's CRC check sees it), never repaired.
                let segmentMetadata = metadata
                let reportBadChecksum: ((RecordBatchHeader, Int) -> Void)? =
                    isLast ? nil : { header, position in
                        logger.error(
                            "CRC mismatch in a sealed segment; keeping the batch",
                            metadata: segmentMetadata.merging(
                                ["position": "\(position)", "baseOffset": "\(header.baseOffset)"], uniquingKeysWith: { $1 }))
                    }
                let outcome = try scan(
                    segment.log, from: 0, fileSize: fileSize, firstOffset: base, verifyChecksums: true,
                    chunkBytes: scanChunkBytes, checksumMismatch: reportBadChecksum
                ) { (header, position) throws(StorageError) in
                    segment.noteAppended(
                        header, at: position, appendTime: segment.lastAppendTime, indexIntervalBytes: indexIntervalBytes,
                        persistIndexes: false)
                    if needsProducerState, header.baseOffset >= producerScanFrom { producers.record(header) }
                }
                if outcome.validEnd < fileSize, !isLast {
                    // A structurally broken sealed segment: serve what precedes the damage, leave
                    // the file as it is (reads continue with the next segment).
                    logger.error(
                        "sealed segment damaged; serving it only up to the damage",
                        metadata: metadata.merging(
                            [
                                "position": "\(outcome.validEnd)", "bytesUnreadable": "\(fileSize - outcome.validEnd)",
                                "reason": "\(outcome.problem ?? "truncated batch")",
                            ], uniquingKeysWith: { $1 }))
                } else if outcome.validEnd < fileSize {
                    logger.warning(
                        "truncating segment at the first bad batch",
                        metadata: metadata.merging(
                            [
                                "position": "\(outcome.validEnd)", "bytesDropped": "\(fileSize - outcome.validEnd)",
                                "reason": "\(outcome.problem ?? "truncated batch")",
                            ], uniquingKeysWith: { $1 }))
                    try segment.log.truncate(to: outcome.validEnd)
                    try segment.log.sync()
                }
                try segment.rewriteIndexFiles()
                try segment.syncAll()
            } else if needsProducerState, fileSize > 0 {
                _ = try scan(
                    segment.log, from: 0, fileSize: segment.size, firstOffset: base, verifyChecksums: false,
                    chunkBytes: scanChunkBytes
                ) { (header, _) throws(StorageError) in
                    if header.baseOffset >= producerScanFrom { producers.record(header) }
                }
            }
            if segment.size > 0 { segment.rollTimestamp = segment.lastAppendTime }
            if !isLast { segment.releaseIndexFiles() }
            if let previous = segments.last, segment.baseOffset < previous.nextOffset {
                throw StorageError(
                    .kafkaStorageError,
                    "segment \(segment.logPath) starts at \(segment.baseOffset), below the previous segment's end \(previous.nextOffset)")
            }
            segments.append(segment)
        }
        if segments.isEmpty {
            segments.append(try LogSegment(directory: directory, baseOffset: logStart))
            try FileIO.syncDirectory(directory)
        }
        let end = segments[segments.count - 1].nextOffset
        logStart = min(max(logStart, segments[0].baseOffset), end)
        producers.removeBatches(before: logStart)
        if let snapshotOffset, snapshotOffset > end {
            // The log was cut back below the snapshot (a torn tail): forget what is gone.
            producers.removeBatches(atOrAfter: end)
        }
        try segments[segments.count - 1].syncAll()
        if wasClean { try FileIO.removeFile(markerPath) }
        if wasClean || !leftovers.isEmpty { try FileIO.syncDirectory(directory) }

        metadata["segment"] = nil
        logger.debug(
            "opened partition log",
            metadata: metadata.merging(
                [
                    "segments": "\(segments.count)", "logStartOffset": "\(logStart)", "logEndOffset": "\(end)",
                    "cleanShutdown": "\(wasClean)",
                ], uniquingKeysWith: { $1 }))
        let state = State(
            config: config, segments: segments, logStartOffset: logStart, logEndOffset: end, durableEndOffset: end,
            producers: producers)
        return PartitionLog(
            topic: topic, partition: partition, directory: directory, state: state,
            indexIntervalBytes: indexIntervalBytes, scanChunkBytes: scanChunkBytes, logger: logger)
    }

    /// After loading consistent indexes: walks the batches after the last index entry to find the
    /// segment's end offset, size and largest timestamp. Returns false if the walk does not end
    /// exactly at the end of the file or the indexes point past the log's end.
    private static func recoverTail(of segment: LogSegment, fileSize: Int, chunkBytes: Int, logger: Logger)
        throws(StorageError) -> Bool
    {
        guard let last = segment.offsetIndex.last else { return fileSize == 0 }
        segment.size = Int(last.position)
        segment.nextOffset = segment.baseOffset + Int64(last.relativeOffset)
        segment.maxTimestamp = segment.timeIndex.last?.timestamp ?? -1
        segment.bytesSinceIndexEntry = 0
        var consistent = true
        let outcome = try scan(
            segment.log, from: segment.size, fileSize: fileSize, firstOffset: segment.nextOffset, verifyChecksums: false,
            chunkBytes: chunkBytes
        ) { (header, position) throws(StorageError) in
            if position == Int(last.position) {
                // The indexed batch itself: no new entry.
                segment.maxTimestamp = max(segment.maxTimestamp, header.maxTimestamp)
                segment.size = position + header.totalSize
                segment.nextOffset = header.nextOffset
                segment.bytesSinceIndexEntry = header.totalSize
            } else {
                let before = segment.offsetIndex.count
                segment.noteAppended(
                    header, at: position, appendTime: segment.lastAppendTime, indexIntervalBytes: Int.max,
                    persistIndexes: false)
                if segment.offsetIndex.count != before { consistent = false }
            }
        }
        guard consistent, outcome.validEnd == fileSize, outcome.validEnd == segment.size else { return false }
        if let lastTime = segment.timeIndex.last, segment.baseOffset + Int64(lastTime.relativeOffset) >= segment.nextOffset {
            return false
        }
        return true
    }

    /// What a scan found.
    struct ScanOutcome {
        /// Bytes of whole, valid batches from the start of the file.
        var validEnd: Int
        /// Why the scan stopped before the end of the file, if it did.
        var problem: String?
    }

    /// Reads the batches of a segment file from `start`, in chunks, calling `visit` with each
    /// valid batch's header and position. Stops at the first batch that is incomplete, corrupt
    /// (bad length, magic or CRC when `verifyChecksums`), or whose base offset is not the one
    /// expected (`firstOffset`, then each batch's `nextOffset`).
    ///
    /// With `checksumMismatch` set, a batch whose CRC is wrong but whose header is sound is
    /// reported to it and then visited like a good one (a sealed segment is never cut back).
    static func scan(
        _ file: FileDescriptor, from start: Int, fileSize: Int, firstOffset: Int64, verifyChecksums: Bool,
        chunkBytes: Int, checksumMismatch: ((RecordBatchHeader, Int) -> Void)? = nil,
        visit: (RecordBatchHeader, Int) throws(StorageError) -> Void
    ) throws(StorageError) -> ScanOutcome {
        var position = start
        var expectedOffset = firstOffset
        var readSize = chunkBytes
        while position < fileSize {
            let chunk = try file.read(count: min(readSize, fileSize - position), at: position)
            readSize = chunkBytes
            var reader = RecordBatchReader(
                chunk, verifyingChecksums: verifyChecksums, maxBatchBytes: fileSize - position)
            var consumed = 0
            do {
                while let batch = try reader.next() {
                    guard batch.header.baseOffset == expectedOffset else {
                        return ScanOutcome(
                            validEnd: position + consumed,
                            problem: "batch at offset \(batch.header.baseOffset), expected \(expectedOffset)")
                    }
                    try visit(batch.header, position + consumed)
                    expectedOffset = batch.header.nextOffset
                    consumed += batch.size
                }
            } catch let error as StorageError {
                throw error
            } catch let error as KafkaDecodingError {
                // A bad CRC in a sound batch: report it and carry on after it, if allowed.
                if error.kind == .checksumMismatch, let checksumMismatch,
                    let header = try? RecordBatchHeader(from: reader.remaining),
                    header.baseOffset == expectedOffset, header.totalSize <= reader.remaining.readableBytes
                {
                    checksumMismatch(header, position + consumed)
                    try visit(header, position + consumed)
                    expectedOffset = header.nextOffset
                    position += consumed + header.totalSize
                    continue
                }
                return ScanOutcome(validEnd: position + consumed, problem: "\(error)")
            } catch {
                return ScanOutcome(validEnd: position + consumed, problem: "\(error)")
            }
            position += consumed
            guard reader.stoppedEarly else { continue }
            // The chunk ended inside a batch: at the end of the file that is a torn write,
            // otherwise read again from the batch with room for all of it.
            if position + reader.trailingBytes >= fileSize {
                return ScanOutcome(validEnd: position, problem: "incomplete batch of \(reader.trailingBytes) bytes at the end")
            }
            if let length = reader.remaining.getInteger(
                at: reader.remaining.readerIndex + RecordBatchHeader.FieldOffset.batchLength, as: Int32.self)
            {
                readSize = max(chunkBytes, Int(length) + RecordBatchHeader.logOverhead)
            }
        }
        return ScanOutcome(validEnd: position, problem: nil)
    }

    /// The base offset in a segment file name (`00000000000000000042.log`).
    static func segmentBaseOffset(_ name: String, suffix: String) -> Int64? {
        let stem = name.dropLast(suffix.count)
        guard stem.count == 20, stem.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(stem)
    }

    /// Parses `v1 <offset>\n`.
    static func parseLogStartCheckpoint(_ bytes: [UInt8]) -> Int64? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("v1 "), text.hasSuffix("\n") else { return nil }
        return Int64(text.dropFirst(3).dropLast())
    }
}
