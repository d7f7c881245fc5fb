import CSnappy
import NIOCore

/// snappy-java's stream header ("xerial framing"), as Kafka's Java client writes it: magic `82 53 4E 41 50 50 59 00`,
/// then int32 big-endian version 1 and int32 big-endian minimum compatible version 1.
let xerialHeader: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]

/// The magic that identifies xerial framing: the header's first 8 bytes, read big-endian.
private let xerialMagic: UInt64 = 0x8253_4E41_5050_5900
private let xerialMagicCount = 8

/// snappy-java's block size: each xerial block compresses at most this much input.
let xerialBlockInputBytes = 32 * 1024

/// snappy-c's status names.
private func snappyMessage(_ status: snappy_status) -> String {
    switch status {
    case SNAPPY_OK: return "SNAPPY_OK"
    case SNAPPY_INVALID_INPUT: return "SNAPPY_INVALID_INPUT"
    case SNAPPY_BUFFER_TOO_SMALL: return "SNAPPY_BUFFER_TOO_SMALL"
    default: return "snappy_status \(status.rawValue)"
    }
}

/// Snappy in xerial framing (compression), and xerial framing or a raw block (decompression).
///
/// snappy-c keeps no context; `snappy_compress` allocates its hash table per call inside libsnappy.
enum SnappyCodec {
    /// Appends `input` in xerial framing: the 16-byte header, then per ≤32 KiB of input a block
    /// `[int32 BE compressed length][raw snappy block]`.
    static func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout ByteBuffer) throws(CompressionError) {
        let fullBlocks = input.count / xerialBlockInputBytes
        let lastBlock = input.count % xerialBlockInputBytes
        let bound = xerialHeader.count
            + fullBlocks * (4 + snappy_max_compressed_length(xerialBlockInputBytes))
            + (lastBlock > 0 ? 4 + snappy_max_compressed_length(lastBlock) : 0)
        guard bound <= Int(UInt32.max) - output.writerIndex else {
            throw CompressionError(
                kind: .outputLimitExceeded, algorithm: .snappy,
                detail: "compressing \(input.count) bytes needs up to \(bound) bytes, beyond ByteBuffer's 4 GiB capacity"
            )
        }
        output.reserveCapacity(minimumWritableBytes: bound)
        output.writeBytes(xerialHeader)
        var offset = 0
        while offset < input.count {
            let chunk = min(xerialBlockInputBytes, input.count - offset)
            let blockBound = 4 + snappy_max_compressed_length(chunk)
            var status = SNAPPY_OK
            output._writeBounded(minimumWritableBytes: blockBound, limit: blockBound) { dst in
                var compressedLength = dst.count - 4
                status = snappy_compress(
                    input.baseAddress!.assumingMemoryBound(to: CChar.self) + offset, chunk,
                    (dst.baseAddress! + 4).assumingMemoryBound(to: CChar.self), &compressedLength
                )
                guard status == SNAPPY_OK else { return 0 }
                dst.storeBytes(of: UInt32(compressedLength).bigEndian, toByteOffset: 0, as: UInt32.self)
                return 4 + compressedLength
            }
            guard status == SNAPPY_OK else {
                throw CompressionError(
                    kind: .libraryFailure, algorithm: .snappy,
                    detail: "snappy_compress of \(chunk) bytes at input offset \(offset): \(snappyMessage(status))"
                )
            }
            offset += chunk
        }
    }

    /// Appends the decompressed form of `input` (xerial framing if it starts with the magic, else one raw block).
    static func decompress(
        _ input: UnsafeRawBufferPointer,
        appendingTo output: inout ByteBuffer,
        budget: inout DecompressionBudget
    ) throws(CompressionError) {
        let isXerial = input.count >= xerialMagicCount
            && UInt64(bigEndian: input.loadUnaligned(as: UInt64.self)) == xerialMagic
        guard isXerial else {
            try decompressBlock(input, inputOffset: 0, xerialBlock: nil, appendingTo: &output, budget: &budget)
            return
        }
        let start = output.writerIndex
        let startBudget = budget
        do throws(CompressionError) {
            try decompressXerial(input, appendingTo: &output, budget: &budget)
        } catch let error where error.kind == .corruptInput {
            // A raw block could in principle start with the magic bytes; accept it if the whole input validates.
            let valid = snappy_validate_compressed_buffer(
                input.baseAddress!.assumingMemoryBound(to: CChar.self), input.count
            ) == SNAPPY_OK
            guard valid else { throw error }
            output.moveWriterIndex(to: start)
            budget = startBudget
            try decompressBlock(input, inputOffset: 0, xerialBlock: nil, appendingTo: &output, budget: &budget)
        }
    }

    /// Decodes xerial framing: header, then `[int32 BE length][raw block]` until the input ends exactly.
    private static func decompressXerial(
        _ input: UnsafeRawBufferPointer,
        appendingTo output: inout ByteBuffer,
        budget: inout DecompressionBudget
    ) throws(CompressionError) {
        guard input.count >= xerialHeader.count else {
            throw CompressionError(
                kind: .corruptInput, algorithm: .snappy,
                detail: "truncated xerial header: \(input.count) of \(xerialHeader.count) bytes"
            )
        }
        var offset = xerialHeader.count
        var block = 0
        while offset < input.count {
            block += 1
            guard input.count - offset >= 4 else {
                throw CompressionError(
                    kind: .corruptInput, algorithm: .snappy,
                    detail: "truncated xerial block \(block) length at input offset \(offset): \(input.count - offset) of 4 bytes"
                )
            }
            let length = Int(input.loadUnaligned(fromByteOffset: offset, as: UInt32.self).bigEndian)
            offset += 4
            guard length <= Int(Int32.max), length <= input.count - offset else {
                throw CompressionError(
                    kind: .corruptInput, algorithm: .snappy,
                    detail: "xerial block \(block) at input offset \(offset - 4) declares \(length) compressed bytes, but only \(input.count - offset) remain"
                )
            }
            try decompressBlock(
                UnsafeRawBufferPointer(rebasing: input[offset..<offset + length]),
                inputOffset: offset, xerialBlock: block, appendingTo: &output, budget: &budget
            )
            offset += length
        }
    }

    /// How errors name a block: `"xerial block 3"` or `"raw snappy block"`.
    private static func blockName(_ xerialBlock: Int?) -> String {
        xerialBlock.map { "xerial block \($0)" } ?? "raw snappy block"
    }

    /// Decodes one raw snappy block (the `xerialBlock`th of a xerial stream, or nil for a bare block) after checking
    /// its declared length against the block's possible expansion and the budget.
    private static func decompressBlock(
        _ block: UnsafeRawBufferPointer,
        inputOffset: Int,
        xerialBlock: Int?,
        appendingTo output: inout ByteBuffer,
        budget: inout DecompressionBudget
    ) throws(CompressionError) {
        guard block.count > 0 else {
            throw CompressionError(
                kind: .corruptInput, algorithm: .snappy,
                detail: "\(blockName(xerialBlock)) at input offset \(inputOffset) is empty (a snappy block holds at least its length varint)"
            )
        }
        let source = block.baseAddress!.assumingMemoryBound(to: CChar.self)
        var declared = 0
        let lengthStatus = snappy_uncompressed_length(source, block.count, &declared)
        guard lengthStatus == SNAPPY_OK else {
            throw CompressionError(
                kind: .corruptInput, algorithm: .snappy,
                detail: "\(blockName(xerialBlock)) at input offset \(inputOffset): invalid uncompressed-length varint (\(snappyMessage(lengthStatus)))"
            )
        }
        // Snappy's densest op is a 3-byte copy producing 64 bytes, so no block expands beyond 64/3 of its size:
        // a larger declared length is a lie, rejected before anything is allocated.
        let (product, overflow) = block.count.multipliedReportingOverflow(by: 64)
        let expansionLimit = overflow ? Int.max : product / 3
        guard declared <= expansionLimit else {
            throw CompressionError(
                kind: .corruptInput, algorithm: .snappy,
                detail: "\(blockName(xerialBlock)) at input offset \(inputOffset) declares \(declared) uncompressed bytes, more than the \(expansionLimit) a \(block.count)-byte snappy block can expand to"
            )
        }
        guard declared <= budget.remaining else {
            throw CompressionError(
                kind: .outputLimitExceeded, algorithm: .snappy,
                detail: "\(blockName(xerialBlock)) at input offset \(inputOffset) declares \(declared) uncompressed bytes, more than the \(budget.remaining) bytes left of the \(budget.limit)-byte limit"
            )
        }
        guard declared > 0 else {
            // snappy_uncompress wants a non-NULL destination; an empty block yields nothing (after validation).
            let status = snappy_validate_compressed_buffer(source, block.count)
            guard status == SNAPPY_OK else {
                throw CompressionError(
                    kind: .corruptInput, algorithm: .snappy,
                    detail: "\(blockName(xerialBlock)) at input offset \(inputOffset), \(block.count) bytes, declaring 0 uncompressed bytes: \(snappyMessage(status))"
                )
            }
            return
        }
        var status = SNAPPY_OK
        var produced = 0
        output._writeBounded(minimumWritableBytes: declared, limit: declared) { dst in
            var length = dst.count
            status = snappy_uncompress(source, block.count, dst.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
            produced = length
            return status == SNAPPY_OK ? length : 0
        }
        guard status == SNAPPY_OK, produced == declared else {
            throw CompressionError(
                kind: .corruptInput, algorithm: .snappy,
                detail: "\(blockName(xerialBlock)) at input offset \(inputOffset), \(block.count) bytes declaring \(declared) uncompressed bytes: snappy_uncompress: \(snappyMessage(status))"
            )
        }
        budget.produced += declared
    }
}
