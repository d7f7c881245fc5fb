import CZstd
import NIOCore

/// zstd's name for an error code.
private func zstdMessage(_ code: Int) -> String {
    String(cString: ZSTD_getErrorName(code))
}

/// `ZSTD_CONTENTSIZE_UNKNOWN` and `ZSTD_CONTENTSIZE_ERROR` (macros Swift does not import).
private let zstdContentSizeUnknown = UInt64.max
private let zstdContentSizeError = UInt64.max - 1

/// The most output one input byte can stand for: an RLE block is a 3-byte header plus 1 byte for up to 128 KiB.
private let maxExpansionPerByte = 128 * 1024 / 4

/// The summed content sizes all frames in `input` declare (skippable frames count 0), `zstdContentSizeUnknown` if
/// any frame leaves its size out, or `zstdContentSizeError` if the frames do not parse or the sum overflows.
///
/// `ZSTD_findDecompressedSize` does this but is in libzstd's static-linking-only API; this uses the stable
/// `ZSTD_getFrameContentSize` and `ZSTD_findFrameCompressedSize`. Walking costs one block header per block.
private func declaredContentSize(of input: UnsafeRawBufferPointer) -> UInt64 {
    var offset = 0
    var total: UInt64 = 0
    while offset < input.count {
        let frame = input.baseAddress! + offset
        let remaining = input.count - offset
        let size = ZSTD_getFrameContentSize(frame, remaining)
        if size == zstdContentSizeUnknown || size == zstdContentSizeError { return size }
        let compressedSize = ZSTD_findFrameCompressedSize(frame, remaining)
        if ZSTD_isError(compressedSize) != 0 || compressedSize == 0 { return zstdContentSizeError }
        let (sum, overflow) = total.addingReportingOverflow(size)
        if overflow { return zstdContentSizeError }
        total = sum
        offset += compressedSize
    }
    return total
}

/// A reusable zstd compression context writing one frame per call (with its content size).
final class ZstdCompressor {
    private let context: OpaquePointer

    /// Creates the context at `level` (already validated against ZSTD_minCLevel()...ZSTD_maxCLevel()).
    init(level: Int32) throws(CompressionError) {
        guard let context = ZSTD_createCCtx() else {
            throw CompressionError(kind: .libraryFailure, algorithm: .zstd, detail: "ZSTD_createCCtx returned NULL")
        }
        self.context = context
        let rc = ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        guard ZSTD_isError(rc) == 0 else {
            throw CompressionError(
                kind: .invalidLevel, algorithm: .zstd, detail: "ZSTD_c_compressionLevel \(level): \(zstdMessage(rc))"
            )
        }
    }

    deinit {
        ZSTD_freeCCtx(self.context)
    }

    /// Appends one zstd frame holding `input` to `output`.
    func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout ByteBuffer) throws(CompressionError) {
        let bound = ZSTD_compressBound(input.count)
        guard ZSTD_isError(bound) == 0, bound <= Int(UInt32.max) - output.writerIndex else {
            throw CompressionError(
                kind: .outputLimitExceeded, algorithm: .zstd,
                detail: "compressing \(input.count) bytes needs up to \(bound) bytes, beyond ByteBuffer's 4 GiB capacity"
            )
        }
        let context = self.context
        var rc = 0
        output._writeBounded(minimumWritableBytes: bound, limit: bound) { dst in
            // ZSTD_compress2 ends any previous session, keeps the parameters, and pledges input.count.
            rc = ZSTD_compress2(context, dst.baseAddress, dst.count, input.baseAddress, input.count)
            return ZSTD_isError(rc) != 0 ? 0 : rc
        }
        if ZSTD_isError(rc) != 0 {
            throw CompressionError(
                kind: .libraryFailure, algorithm: .zstd,
                detail: "ZSTD_compress2 of \(input.count) bytes into \(bound) bytes: \(zstdMessage(rc))"
            )
        }
    }
}

/// A reusable zstd decompression context reading one or more concatenated frames (skippable frames are skipped).
///
/// Besides the output limit, the context refuses frames whose window (the history buffer the streaming decoder
/// allocates up front, whatever the output turns out to be) exceeds `windowLogMax(forMaxOutputBytes:)`, which
/// bounds the decoder's own memory by the caller's output limit.
final class ZstdDecompressor {
    /// The smallest window limit: 2^23 bytes (8 MiB), the largest window zstd's standard levels (1...19) choose
    /// when the input size is unknown, so frames streamed by ordinary producers decode under any output limit.
    static let minimumWindowLog: Int32 = 23
    /// The largest window limit: zstd's own default (`ZSTD_WINDOWLOG_LIMIT_DEFAULT`, 128 MiB).
    static let maximumWindowLog: Int32 = 27

    /// The `ZSTD_d_windowLogMax` for a call that may write `maxOutputBytes`: the smallest power of two holding
    /// that output (a window never needs to exceed the content), clamped to `minimumWindowLog...maximumWindowLog`.
    static func windowLogMax(forMaxOutputBytes maxOutputBytes: Int) -> Int32 {
        let needed = maxOutputBytes <= 1 ? 0 : Int32(Int.bitWidth - (maxOutputBytes - 1).leadingZeroBitCount)
        return min(max(needed, minimumWindowLog), maximumWindowLog)
    }


    private let context: OpaquePointer

    init() {
        // Only allocation failure (about 100 KiB) can make this fail.
        guard let context = ZSTD_createDCtx() else { preconditionFailure("ZSTD_createDCtx returned NULL") }
        self.context = context
    }

    deinit {
        ZSTD_freeDCtx(self.context)
    }

    /// Appends the decompressed frames of `input` to `output`, counting them in `budget`.
    func decompress(
        _ input: UnsafeRawBufferPointer,
        appendingTo output: inout ByteBuffer,
        budget: inout DecompressionBudget
    ) throws(CompressionError) {
        guard input.count > 0 else {
            throw CompressionError(kind: .corruptInput, algorithm: .zstd, detail: "empty input: expected a zstd frame")
        }
        let context = self.context
        ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
        let windowLog = Self.windowLogMax(forMaxOutputBytes: budget.limit)
        let setRC = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, windowLog)
        guard ZSTD_isError(setRC) == 0 else {
            throw CompressionError(
                kind: .libraryFailure, algorithm: .zstd, detail: "ZSTD_d_windowLogMax \(windowLog): \(zstdMessage(setRC))"
            )
        }
        let base = input.baseAddress!

        // Fast path: every frame declares its content size and the total fits the budget, so one
        // ZSTD_decompressDCtx call writes straight into exactly that much space (and checks each size).
        // A declared total beyond what the input can expand to (zstd's densest block, RLE, turns 4 bytes into
        // at most 128 KiB) is a lie: the streaming path, which allocates as it decodes, reports it precisely.
        let total = declaredContentSize(of: input)
        if total != zstdContentSizeUnknown && total != zstdContentSizeError {
            guard total <= UInt64(budget.remaining) else {
                throw CompressionError(
                    kind: .outputLimitExceeded, algorithm: .zstd,
                    detail: "frames declare a content size of \(total) bytes, more than the \(budget.remaining) bytes left of the \(budget.limit)-byte limit"
                )
            }
        }
        if total != zstdContentSizeUnknown && total != zstdContentSizeError
            && total <= UInt64(input.count) * UInt64(maxExpansionPerByte)
        {
            let size = Int(total)
            var rc = 0
            let written = output._writeBounded(minimumWritableBytes: max(size, 1), limit: size) { dst in
                rc = ZSTD_decompressDCtx(context, dst.baseAddress, dst.count, base, input.count)
                return ZSTD_isError(rc) != 0 ? 0 : rc
            }
            if ZSTD_isError(rc) != 0 {
                throw CompressionError(
                    kind: ZSTD_getErrorCode(rc) == ZSTD_error_memory_allocation ? .libraryFailure : .corruptInput,
                    algorithm: .zstd,
                    detail: "frames declaring \(size) bytes of content in \(input.count) input bytes: \(zstdMessage(rc))"
                )
            }
            guard written == size else {
                throw CompressionError(
                    kind: .corruptInput, algorithm: .zstd,
                    detail: "frames declare \(size) bytes of content but decode to \(written)"
                )
            }
            budget.produced += written
            return
        }

        // Streaming path, in steps bounded by the budget.
        var inBuffer = ZSTD_inBuffer(src: base, size: input.count, pos: 0)
        var frame = 0
        var frameStart = 0
        var atFrameStart = true
        var sizeHint: Int? = nil
        while true {
            if atFrameStart {
                frame += 1
                frameStart = inBuffer.pos
                sizeHint = nil
                let declared = ZSTD_getFrameContentSize(base + inBuffer.pos, input.count - inBuffer.pos)
                // Unknown or unparsable sizes fall through: ZSTD_decompressStream reports a bad header precisely.
                if declared != zstdContentSizeUnknown && declared != zstdContentSizeError {
                    guard declared <= UInt64(budget.remaining) else {
                        throw CompressionError(
                            kind: .outputLimitExceeded, algorithm: .zstd,
                            detail: "frame \(frame) at input offset \(frameStart) declares a content size of \(declared) bytes, more than the \(budget.remaining) bytes left of the \(budget.limit)-byte limit"
                        )
                    }
                    let plausible = (input.count - inBuffer.pos).multipliedReportingOverflow(by: maxExpansionPerByte)
                    sizeHint = budget.produced + min(Int(declared), plausible.partialValue)
                }
                atFrameStart = false
            }
            let request = budget.nextRequest(inputCount: input.count, sizeHint: sizeHint)
            let consumedBefore = inBuffer.pos
            var rc = 0
            let written = output._writeBounded(minimumWritableBytes: request, limit: budget.stepLimit) { dst in
                var outBuffer = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                rc = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                return ZSTD_isError(rc) != 0 ? 0 : outBuffer.pos
            }
            if ZSTD_isError(rc) != 0 {
                // Refused by the window limit this call's output limit set (beyond zstd's own default it stays
                // `corruptInput`, as libzstd rejects it for every caller).
                if ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge && windowLog < Self.maximumWindowLog {
                    throw CompressionError(
                        kind: .outputLimitExceeded, algorithm: .zstd,
                        detail: "frame \(frame) at input offset \(frameStart) needs a window over 2^\(windowLog) bytes, the decoder's limit for a \(budget.limit)-byte output"
                    )
                }
                throw CompressionError(
                    kind: ZSTD_getErrorCode(rc) == ZSTD_error_memory_allocation ? .libraryFailure : .corruptInput,
                    algorithm: .zstd,
                    detail: "frame \(frame) starting at input offset \(frameStart), near input offset \(inBuffer.pos) of \(input.count): \(zstdMessage(rc))"
                )
            }
            budget.produced += written
            if budget.isExceeded {
                throw CompressionError(
                    kind: .outputLimitExceeded, algorithm: .zstd,
                    detail: "decompressed output exceeds the limit of \(budget.limit) bytes (frame \(frame), after \(inBuffer.pos) of \(input.count) input bytes)"
                )
            }
            if rc == 0 {
                // Frame complete and flushed; the context is ready for the next frame.
                if inBuffer.pos == input.count { return }
                atFrameStart = true
            } else if inBuffer.pos == consumedBefore && written == 0 {
                // Output space was offered and nothing happened: the decoder needs input that is not there.
                throw CompressionError(
                    kind: .corruptInput, algorithm: .zstd,
                    detail: inBuffer.pos == input.count
                        ? "truncated input: frame \(frame) starting at input offset \(frameStart) is incomplete after all \(input.count) input bytes"
                        : "decoder made no progress at input offset \(inBuffer.pos) of \(input.count) in frame \(frame)"
                )
            }
        }
    }
}
