import Glibc
@testable import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

/// Whole-file helpers for poking at the offsets log.
enum TestFile {
    static func read(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        precondition(fd >= 0, "open \(path)")
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            precondition(n >= 0)
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
        }
    }

    static func write(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0, "open \(path)")
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        precondition(n == bytes.count)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}

private func record(_ group: String, _ topic: String, _ partition: Int32, _ offset: Int64, metadata: String? = "m") -> OffsetStoreRecord {
    OffsetStoreRecord(
        group: group, topic: topic, partition: partition,
        committed: CommittedOffset(offset: offset, leaderEpoch: Int32(offset % 7), metadata: metadata, commitTimestampMs: 1_000 + offset))
}

@Suite("Offset store: durable committed offsets")
struct GroupOffsetStoreTests {
    @Test("offsets survive reopening; the latest entry per key wins")
    func survivesReopen() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            let store = try OffsetStore(dataDirectory: directory.path, logger: .quietForTests)
            try store.append([record("g", "logs", 0, 10), record("g", "logs", 1, 20, metadata: nil)])
            try store.append([record("g", "logs", 0, 15), record("h", "other", 3, 99)])
            store.close()
        }
        #expect(TestFile.exists(directory.path + "/__consumer_offsets/offsets.log"))
        let store = try OffsetStore(dataDirectory: directory.path, logger: .quietForTests)
        #expect(store.committedOffset(group: "g", topic: "logs", partition: 0) == record("g", "logs", 0, 15).committed)
        #expect(store.committedOffset(group: "g", topic: "logs", partition: 1)?.metadata == nil)
        #expect(store.committedOffset(group: "g", topic: "logs", partition: 1)?.offset == 20)
        #expect(store.committedOffset(group: "h", topic: "other", partition: 3)?.leaderEpoch == Int32(99 % 7))
        #expect(store.committedOffset(group: "h", topic: "logs", partition: 0) == nil)
        #expect(Set(store.groups) == ["g", "h"])
        #expect(store.committedOffsets(group: "g")["logs"]?.count == 2)
    }

    @Test("a torn tail (half a frame, bad CRC, absurd length) is truncated; earlier commits survive")
    func tornTailIsTruncated() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/__consumer_offsets/offsets.log"
        var sizes: [Int] = []
        do {
            let store = try OffsetStore(dataDirectory: directory.path, logger: .quietForTests)
            for offset in 1...3 {
                try store.append([record("g", "t", 0, Int64(offset))])
                sizes.append(store.fileBytes)
            }
        }
        let intact = TestFile.read(path)
        #expect(intact.count == sizes[2])

        // Half of the last frame was written when the broker died.
        TestFile.write(path, Array(intact[0..<(sizes[1] + (sizes[2] - sizes[1]) / 2)]))
        do {
            let store = try OffsetStore(dataDirectory: directory.path, logger: .quietForTests)
            #expect(store.committedOffset(group: "g", topic: "t", partition: 0)?.offset == 2)
            #expect(store.fileBytes == sizes[1])
            // The store goes on appending after the truncation point.
            try store.append([record("g", "t", 1, 7)])
        }
        #expect(TestFile.read(path).count == sizes[1] + (sizes[2] - sizes[1]))

        // A flipped bit in the last frame's payload.
        var corrupt = TestFile.read(path)
        corrupt[corrupt.count - 3] ^= 0x40
        TestFile.write(path, corrupt)
        do {
            let store = try OffsetStore(dataDirectory: directory.path, logger: .quietForTests)
            #expect(store.committedOffset(group: "g", topic: "t", partition: 1) == nil)
            #expect(store.committedOffset(group: "g", topic: "t", partition: 0)?.offset == 2)
            #expect(store.fileBytes == sizes[1])
        }
        #expect(TestFile.read(path).count == sizes[1])

        // Garbage whose length field is absurd.
        TestFile.write(path, Array(intact[0..<sizes[0]]) + [0xFF, 0xFF, 0xFF, 0xF0, 1, 2, 3, 4, 0, 1, 9, 9, 9])
        let store = try OffsetStore(dataDirectory: directory.path, logger: .quietForTests)
        #expect(store.committedOffset(group: "g", topic: "t", partition: 0)?.offset == 1)
        #expect(store.fileBytes == sizes[0])
    }

    @Test("a valid frame of an unknown format version stops the open instead of truncating")
    func unknownFormatVersionIsAnError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/__consumer_offsets/offsets.log"
        do {
            let store = try OffsetStore(dataDirectory: directory.path, logger: .quietForTests)
            try store.append([record("g", "t", 0, 1)])
        }
        var bytes = TestFile.read(path)
        bytes[9] = 2  // version 1 → 2, then fix the CRC
        var body = ByteBuffer(bytes: bytes[8...])
        let crc = CRC32C.checksum(body)
        body.clear()
        bytes.replaceSubrange(4..<8, with: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
        TestFile.write(path, bytes)
        #expect(throws: OffsetStoreError.self) { try OffsetStore(dataDirectory: directory.path, logger: .quietForTests) }
        #expect(TestFile.read(path).count == bytes.count)
    }

    @Test("compaction rewrites the log with the latest values once it outgrows the live set")
    func compactionKeepsLatestValues() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = OffsetStore.Configuration(compactionMinimumBytes: 2_048, compactionRatio: 3)
        let store = try OffsetStore(dataDirectory: directory.path, configuration: configuration, logger: .quietForTests)
        var largest = 0
        for offset in 0..<600 {
            try store.append([record("g", "t", Int32(offset % 4), Int64(offset)), record("h", "t", 0, Int64(offset))])
            largest = max(largest, store.fileBytes)
        }
        #expect(largest <= 2_048 + 2 * 60)  // never far past the threshold
        let path = directory.path + "/__consumer_offsets/offsets.log"
        #expect(TestFile.read(path).count == store.fileBytes)
        #expect(!TestFile.exists(path + ".tmp"))
        store.close()

        let reopened = try OffsetStore(dataDirectory: directory.path, configuration: configuration, logger: .quietForTests)
        for partition in Int32(0)..<4 {
            #expect(reopened.committedOffset(group: "g", topic: "t", partition: partition)?.offset == Int64(596 + partition))
        }
        #expect(reopened.committedOffset(group: "h", topic: "t", partition: 0) == record("h", "t", 0, 599).committed)
        try reopened.compact()
        #expect(reopened.fileBytes == 5 * OffsetStore.frameSize(record("g", "t", 0, 599)))
    }

    @Test("removeOffsets(topic:) and removeOffsets(group:) are durable; a leftover compaction temp file is ignored")
    func removeOffsets() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            let store = try OffsetStore(dataDirectory: directory.path, logger: .quietForTests)
            try store.append([record("g", "gone", 0, 1), record("g", "kept", 0, 2), record("h", "gone", 1, 3), record("i", "x", 0, 4)])
            try store.removeOffsets(topic: "gone")
            try store.removeOffsets(group: "i")
            #expect(store.committedOffset(group: "g", topic: "gone", partition: 0) == nil)
        }
        // A crash in the middle of a later compaction left its temp file behind.
        let temporary = directory.path + "/__consumer_offsets/offsets.log.tmp"
        TestFile.write(temporary, [1, 2, 3])
        let store = try OffsetStore(dataDirectory: directory.path, logger: .quietForTests)
        #expect(!TestFile.exists(temporary))
        #expect(store.committedOffset(group: "g", topic: "kept", partition: 0)?.offset == 2)
        #expect(store.committedOffset(group: "g", topic: "gone", partition: 0) == nil)
        #expect(store.committedOffset(group: "h", topic: "gone", partition: 1) == nil)
        #expect(Set(store.groups) == ["g"])
    }

    @Test("cut anywhere, the log reopens to exactly the commits whose frames are complete")
    func truncationAtAnyByteKeepsCompleteFrames() throws {
        let seed = SplitMix64.testSeed()
        var random = SplitMix64(seed: seed)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/__consumer_offsets/offsets.log"
        var batches: [(end: Int, records: [OffsetStoreRecord])] = []
        do {
            let store = try OffsetStore(dataDirectory: directory.path, logger: .quietForTests)
            for _ in 0..<40 {
                let records = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                    record(
                        ["g", "h"].randomElement(using: &random)!, ["a", "b"].randomElement(using: &random)!,
                        Int32.random(in: 0...2, using: &random), Int64.random(in: 0...1_000_000, using: &random),
                        metadata: Bool.random(using: &random) ? nil : String(repeating: "x", count: Int.random(in: 0...20, using: &random)))
                }
                try store.append(records)
                batches.append((store.fileBytes, records))
            }
        }
        let full = TestFile.read(path)
        for _ in 0..<25 {
            let cut = Int.random(in: 0...full.count, using: &random)
            TestFile.write(path, Array(full[0..<cut]))
            var model: [String: CommittedOffset] = [:]
            var frameEnd = 0
            var offsetInFile = 0
            for batch in batches {
                for record in batch.records {
                    offsetInFile += OffsetStore.frameSize(record)
                    if offsetInFile <= cut {
                        model["\(record.group)/\(record.topic)/\(record.partition)"] = record.committed
                        frameEnd = offsetInFile
                    }
                }
            }
            let store = try OffsetStore(dataDirectory: directory.path, logger: .quietForTests)
            #expect(store.fileBytes == frameEnd, "seed \(seed), cut \(cut)")
            var actual: [String: CommittedOffset] = [:]
            for group in store.groups {
                for (topic, partitions) in store.committedOffsets(group: group) {
                    for (partition, committed) in partitions { actual["\(group)/\(topic)/\(partition)"] = committed }
                }
            }
            #expect(actual == model, "seed \(seed), cut \(cut)")
            store.close()
        }
    }

    @Test("a failed write is undone; a failed fsync refuses later commits; a failed compaction keeps the old log")
    func fileFailures() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/__consumer_offsets/offsets.log"
        let faults = OffsetStoreFaults()
        do {
            let store = try OffsetStore(
                dataDirectory: directory.path, configuration: .init(), logger: .quietForTests, faults: faults)
            try store.append([record("g", "t", 0, 1)])
            let size = store.fileBytes

            faults.failNext(.write, errno: ENOSPC)
            #expect(throws: OffsetStoreError(operation: "write", path: path, errno: ENOSPC)) {
                try store.append([record("g", "t", 0, 2), record("g", "t", 1, 2)])
            }
            #expect(store.committedOffset(group: "g", topic: "t", partition: 0)?.offset == 1)
            #expect(TestFile.read(path).count == size)  // the half-written frames are gone
            try store.append([record("g", "t", 0, 3)])

            faults.failNext(.rename, errno: EIO)
            #expect(throws: OffsetStoreError.self) { try store.compact() }
            #expect(!TestFile.exists(path + ".tmp"))
            try store.append([record("g", "t", 0, 4)])
            #expect(store.committedOffset(group: "g", topic: "t", partition: 0)?.offset == 4)
        }
        do {
            let store = try OffsetStore(dataDirectory: directory.path, configuration: .init(), logger: .quietForTests, faults: faults)
            #expect(store.committedOffset(group: "g", topic: "t", partition: 0)?.offset == 4)
            #expect(store.committedOffset(group: "g", topic: "t", partition: 1) == nil)

            // Through the coordinator: a failed fsync is not acknowledged, nor is anything after it.
            let coordinator = GroupCoordinator(offsetStore: store, logger: .quietForTests)
            faults.failNext(.fsync, errno: EIO)
            for _ in 0..<2 {
                let response = await coordinator.commitOffsets(
                    OffsetCommitRequest(groupId: "g", topics: [.init(name: "t", partitions: [.init(partitionIndex: 0, committedOffset: 5)])]),
                    version: 8)
                #expect(response.topics.first?.partitions.first?.errorCode == KafkaErrorCode.coordinatorNotAvailable.rawValue)
            }
            await coordinator.shutdown()
        }
        // Reopening starts afresh from what the file holds.
        let store = try OffsetStore(dataDirectory: directory.path, logger: .quietForTests)
        try store.append([record("g", "t", 0, 6)])
        #expect(store.committedOffset(group: "g", topic: "t", partition: 0)?.offset == 6)
    }
}
