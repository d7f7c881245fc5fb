import KafkaProtocol
import NIOCore

// On-disk format of `<dataDir>/__consumer_offsets/offsets.log`.
//
// The file is a sequence of frames, each
//
//     [u32 length][u32 crc32c][u16 format version][payload]
//
// big-endian, where `length` counts the version and payload bytes (2 + payload size) and
// `crc32c` is CRC-32C (Castagnoli) of those same bytes. Format version 1's payload is one
// committed offset:
//
//     [u16 group length][group UTF-8]
//     [u16 topic length][topic UTF-8]
//     [i32 partition]
//     [i64 committed offset]
//     [i32 leader epoch (-1: none)]
//     [i32 metadata length (-1: null)][metadata UTF-8]
//     [i64 commit timestamp, ms since the Unix epoch]
//
// Later entries for the same (group, topic, partition) replace earlier ones. There are no
// tombstones: removing offsets rewrites the file with the live entries only.
//
// Format migration: readers accept every version they know (today only 1); writers write the
// newest. A frame with a valid checksum but an unknown version stops the open with an error
// rather than truncating data a newer release wrote.

/// One committed offset of one partition for one group: what a frame of the offsets log holds.
public struct OffsetStoreRecord: Sendable, Hashable {
    /// The consumer group id.
    public var group: String
    /// The topic name.
    public var topic: String
    /// The partition index.
    public var partition: Int32
    /// The committed offset with its epoch, metadata and timestamp.
    public var committed: CommittedOffset

    /// Creates a value. Group and topic must each be at most 65535 UTF-8 bytes.
    public init(group: String, topic: String, partition: Int32, committed: CommittedOffset) {
        self.group = group
        self.topic = topic
        self.partition = partition
        self.committed = committed
    }
}

/// Result of scanning the bytes of an offsets file.
struct OffsetStoreScan: Sendable {
    /// The decoded records of every complete, valid frame, in file order.
    var records: [OffsetStoreRecord] = []
    /// Bytes from the start of the file up to the end of the last valid frame: the
    /// truncation point.
    var validBytes = 0
    /// Why scanning stopped before the end of the input, if it did.
    var stopReason: String?
}

enum OffsetStoreFormat {
    /// The version this release writes.
    static let currentVersion: UInt16 = 1
    /// Versions this release reads.
    static let readableVersions: ClosedRange<UInt16> = 1...1
    /// Bytes before the version field: length and CRC.
    static let headerSize = 8
    /// Largest `length` accepted; anything bigger is treated as a torn or corrupt frame.
    static let maxFrameLength = 1 << 20

    /// Appends one frame holding `record`.
    static func writeFrame(_ record: OffsetStoreRecord, into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))  // length, patched below
        buffer.writeInteger(UInt32(0))  // crc, patched below
        let bodyStart = buffer.writerIndex
        buffer.writeInteger(currentVersion)
        writeShortString(record.group, into: &buffer)
        writeShortString(record.topic, into: &buffer)
        buffer.writeInteger(record.partition)
        buffer.writeInteger(record.committed.offset)
        buffer.writeInteger(record.committed.leaderEpoch)
        if let metadata = record.committed.metadata {
            buffer.writeInteger(Int32(metadata.utf8.count))
            buffer.writeString(metadata)
        } else {
            buffer.writeInteger(Int32(-1))
        }
        buffer.writeInteger(record.committed.commitTimestampMs)
        let bodyLength = buffer.writerIndex - bodyStart
        let crc = CRC32C.checksum(buffer, at: bodyStart, length: bodyLength)!
        buffer.setInteger(UInt32(bodyLength), at: start)
        buffer.setInteger(crc, at: start + 4)
    }

    /// Group and topic names are at most 65535 UTF-8 bytes here (Kafka caps them far lower:
    /// its strings have an int16 length); longer names are rejected before they reach the store.
    private static func writeShortString(_ string: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(string.utf8.count))
        buffer.writeString(string)
    }

    /// Reads frames from the start of `buffer` until its end or the first short or corrupt frame.
    ///
    /// - Throws: `OffsetStoreError` for a frame with a valid checksum and a format version this
    ///   release cannot read.
    static func scan(_ buffer: ByteBuffer, path: String) throws(OffsetStoreError) -> OffsetStoreScan {
        var scan = OffsetStoreScan()
        var cursor = buffer
        while cursor.readableBytes > 0 {
            let frameStart = cursor.readerIndex
            guard cursor.readableBytes >= headerSize,
                  let length = cursor.readInteger(as: UInt32.self),
                  let crc = cursor.readInteger(as: UInt32.self)
            else {
                scan.stopReason = "short frame header"
                break
            }
            guard length >= 2, Int(length) <= maxFrameLength else {
                scan.stopReason = "frame length \(length) out of range"
                break
            }
            guard cursor.readableBytes >= Int(length) else {
                scan.stopReason = "short frame: \(cursor.readableBytes) of \(length) bytes"
                break
            }
            guard CRC32C.checksum(cursor, at: cursor.readerIndex, length: Int(length)) == crc else {
                scan.stopReason = "CRC-32C mismatch"
                break
            }
            var body = cursor.readSlice(length: Int(length))!
            let version = body.readInteger(as: UInt16.self)!
            guard readableVersions.contains(version) else {
                throw OffsetStoreError(
                    operation: "read", path: path,
                    detail: "frame at byte \(frameStart - buffer.readerIndex) has format version \(version); "
                        + "this release reads \(readableVersions)")
            }
            guard let record = readRecordV1(&body), body.readableBytes == 0 else {
                // The checksum matched but the payload does not parse: written by a buggy
                // writer; stop here like for any other bad frame.
                scan.stopReason = "malformed payload"
                break
            }
            scan.records.append(record)
            scan.validBytes = cursor.readerIndex - buffer.readerIndex
        }
        return scan
    }

    private static func readRecordV1(_ body: inout ByteBuffer) -> OffsetStoreRecord? {
        guard let group = readShortString(&body),
              let topic = readShortString(&body),
              let partition = body.readInteger(as: Int32.self),
              let offset = body.readInteger(as: Int64.self),
              let leaderEpoch = body.readInteger(as: Int32.self),
              let metadataLength = body.readInteger(as: Int32.self)
        else { return nil }
        var metadata: String?
        if metadataLength >= 0 {
            guard let text = body.readString(length: Int(metadataLength)) else { return nil }
            metadata = text
        } else if metadataLength != -1 {
            return nil
        }
        guard let timestamp = body.readInteger(as: Int64.self) else { return nil }
        return OffsetStoreRecord(
            group: group, topic: topic, partition: partition,
            committed: CommittedOffset(offset: offset, leaderEpoch: leaderEpoch, metadata: metadata, commitTimestampMs: timestamp))
    }

    private static func readShortString(_ body: inout ByteBuffer) -> String? {
        guard let length = body.readInteger(as: UInt16.self) else { return nil }
        return body.readString(length: Int(length))
    }
}
