import CLZ4
import NIOCore

/// LZ4F's name for an error code.
private func lz4Message(_ code: Int) -> String {
    String(cString: LZ4F_getErrorName(code))
}

/// A reusable LZ4F compression context writing LZ4 frames.
///
/// Frames use independent 64 KiB blocks, no block or content checksum (Kafka's record batch CRC covers the data),
/// and declare their content size. Kafka's Java reader (`Lz4BlockInputStream`) requires independent blocks and
/// skips the content size.
final class LZ4FrameCompressor {
    private let context: OpaquePointer
    /// The frame settings; `frameInfo.contentSize` is set per call on a copy.
    private let preferences: LZ4F_preferences_t

    /// Creates the context; `level` is LZ4F's compressionLevel (0...2 fast, 3...12 HC).
    init(level: Int32) throws(CompressionError) {
        var context: OpaquePointer? = nil
        let rc = LZ4F_createCompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(rc) == 0, let context else {
            throw CompressionError(
                kind: .libraryFailure, algorithm: .lz4, detail: "LZ4F_createCompressionContext: \(lz4Message(rc))"
            )
        }
        self.context = context
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum
        preferences.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum
        preferences.frameInfo.frameType = LZ4F_frame
        preferences.compressionLevel = level
        // autoFlush: every update call emits whole blocks, so LZ4F needs no staging buffer and copies nothing.
        preferences.autoFlush = 1
        self.preferences = preferences
    }

    deinit {
        LZ4F_freeCompressionContext(self.context)
    }

    /// Appends one LZ4 frame holding `input` to `output`.
    func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout ByteBuffer) throws(CompressionError) {
        var preferences = self.preferences
        preferences.frameInfo.contentSize = UInt64(input.count)
        let bound = LZ4F_compressFrameBound(input.count, &preferences)
        guard LZ4F_isError(bound) == 0, bound <= Int(UInt32.max) - output.writerIndex else {
            throw CompressionError(
                kind: .outputLimitExceeded, algorithm: .lz4,
                detail: "compressing \(input.count) bytes needs up to \(bound) bytes, beyond ByteBuffer's 4 GiB capacity"
            )
        }
        let context = self.context
        var failure: (step: StaticString, code: Int)? = nil
        _ = withUnsafePointer(to: &preferences) { preferences in
            output._writeBounded(minimumWritableBytes: bound, limit: bound) { dst in
                let start = dst.baseAddress!
                var used = 0
                let header = LZ4F_compressBegin(context, start, dst.count, preferences)
                if LZ4F_isError(header) != 0 {
                    failure = ("LZ4F_compressBegin", header)
                    return 0
                }
                used += header
                if input.count > 0 {
                    let body = LZ4F_compressUpdate(context, start + used, dst.count - used, input.baseAddress, input.count, nil)
                    if LZ4F_isError(body) != 0 {
                        failure = ("LZ4F_compressUpdate", body)
                        return 0
                    }
                    used += body
                }
                let end = LZ4F_compressEnd(context, start + used, dst.count - used, nil)
                if LZ4F_isError(end) != 0 {
                    failure = ("LZ4F_compressEnd", end)
                    return 0
                }
                return used + end
            }
        }
        if let failure {
            throw CompressionError(
                kind: .libraryFailure, algorithm: .lz4,
                detail: "\(failure.step) for \(input.count) input bytes into \(bound) bytes: \(lz4Message(failure.code))"
            )
        }
    }
}

/// A reusable LZ4F decompression context reading one or more concatenated LZ4 frames.
final class LZ4FrameDecompressor {
    private let context: OpaquePointer

    init() {
        var context: OpaquePointer? = nil
        let rc = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        // Only allocation failure (a few hundred bytes) or a version mismatch with the header can happen here.
        precondition(LZ4F_isError(rc) == 0 && context != nil, "LZ4F_createDecompressionContext: \(lz4Message(rc))")
        self.context = context!
    }

    deinit {
        LZ4F_freeDecompressionContext(self.context)
    }

    /// Appends the decompressed frames of `input` to `output`, counting them in `budget`.
    ///
    /// `observe` sees every input byte once, in order, each piece right after LZ4F decoded it: the input is fed
    /// one block at a time, so a checksum over the compressed bytes reads them while they are in cache. On a
    /// throw, `observe` has seen a prefix of the input.
    func decompress(
        _ input: UnsafeRawBufferPointer,
        appendingTo output: inout ByteBuffer,
        budget: inout DecompressionBudget,
        observingInput observe: (UnsafeRawBufferPointer) -> Void
    ) throws(CompressionError) {
        guard input.count > 0 else {
            throw CompressionError(kind: .corruptInput, algorithm: .lz4, detail: "empty input: expected an LZ4 frame")
        }
        let context = self.context
        LZ4F_resetDecompressionContext(context)
        let base = input.baseAddress!
        var position = 0
        var frame = 0
        var frameStart = 0
        var atFrameStart = true
        var sizeHint: Int? = nil
        // Block framing of the current frame: bytes after each block's data and after the end mark
        // (checksums), and whether `position` is at a block header (LZ4F consumed the whole last block fed).
        var blockTrailer = 0
        var endMarkTrailer = 0
        var atBlockStart = false
        var observed = 0
        func observeInput(upTo end: Int) {
            guard end > observed else { return }
            observe(UnsafeRawBufferPointer(start: base + observed, count: end - observed))
            observed = end
        }
        while true {
            if atFrameStart {
                frame += 1
                frameStart = position
                // Decode the header first, so a declared content size is checked before any allocation.
                var info = LZ4F_frameInfo_t()
                var headerBytes = input.count - position
                let rc = LZ4F_getFrameInfo(context, &info, base + position, &headerBytes)
                if LZ4F_isError(rc) != 0 {
                    throw CompressionError(
                        kind: .corruptInput, algorithm: .lz4,
                        detail: "frame \(frame) header at input offset \(position) of \(input.count): \(lz4Message(rc))"
                    )
                }
                position += headerBytes
                sizeHint = nil
                if info.frameType == LZ4F_frame && info.contentSize > 0 {
                    guard info.contentSize <= UInt64(budget.remaining) else {
                        throw CompressionError(
                            kind: .outputLimitExceeded, algorithm: .lz4,
                            detail: "frame \(frame) at input offset \(frameStart) declares a content size of \(info.contentSize) bytes, more than the \(budget.remaining) bytes left of the \(budget.limit)-byte limit"
                        )
                    }
                    // Allocate for the declared size, but no more than LZ4 can expand the remaining input
                    // (each byte of a match length adds at most 255), so a lying header reserves little.
                    let plausible = (input.count - position).multipliedReportingOverflow(by: 256).partialValue
                    sizeHint = budget.produced + min(Int(info.contentSize), max(plausible, 0))
                }
                atBlockStart = info.frameType == LZ4F_frame
                blockTrailer = info.blockChecksumFlag == LZ4F_blockChecksumEnabled ? 4 : 0
                endMarkTrailer = info.contentChecksumFlag == LZ4F_contentChecksumEnabled ? 4 : 0
                atFrameStart = false
            }
            // Feed one block (its header, data and checksum), or everything left when not at a block header.
            var chunkEnd = input.count
            if atBlockStart && input.count - position >= 4 {
                let word = UInt32(littleEndian: (base + position).loadUnaligned(as: UInt32.self))
                let size = word == 0 ? endMarkTrailer : Int(word & 0x7FFF_FFFF) + blockTrailer
                chunkEnd = min(input.count, position + 4 + size)
            }
            let request = budget.nextRequest(inputCount: input.count, sizeHint: sizeHint)
            var consumed = 0
            var rc = 0
            let written = output._writeBounded(minimumWritableBytes: request, limit: budget.stepLimit) { dst in
                var dstSize = dst.count
                var srcSize = chunkEnd - position
                rc = LZ4F_decompress(context, dst.baseAddress, &dstSize, base + position, &srcSize, nil)
                consumed = srcSize
                return LZ4F_isError(rc) != 0 ? 0 : dstSize
            }
            if LZ4F_isError(rc) != 0 {
                throw CompressionError(
                    kind: .corruptInput, algorithm: .lz4,
                    detail: "frame \(frame) starting at input offset \(frameStart), near input offset \(position) of \(input.count): \(lz4Message(rc))"
                )
            }
            atBlockStart = atBlockStart && position + consumed == chunkEnd
            position += consumed
            observeInput(upTo: position)
            budget.produced += written
            if budget.isExceeded {
                throw CompressionError(
                    kind: .outputLimitExceeded, algorithm: .lz4,
                    detail: "decompressed output exceeds the limit of \(budget.limit) bytes (frame \(frame), after \(position) of \(input.count) input bytes)"
                )
            }
            if rc == 0 {
                // Frame complete; LZ4F is ready for the next frame header.
                if position == input.count { return }
                atFrameStart = true
            } else if consumed == 0 && written == 0 {
                // Output space was offered and nothing happened: the decoder needs input that is not there.
                throw CompressionError(
                    kind: .corruptInput, algorithm: .lz4,
                    detail: position == input.count
                        ? "truncated input: frame \(frame) starting at input offset \(frameStart) is incomplete after all \(input.count) input bytes (decoder expects \(rc) more)"
                        : "decoder made no progress at input offset \(position) of \(input.count) in frame \(frame)"
                )
            }
        }
    }
}
