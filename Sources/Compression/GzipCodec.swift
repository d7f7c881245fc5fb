import CZlib
import NIOCore

/// zlib's windowBits for a 32 KiB window with RFC 1952 gzip framing (15 + 16).
private let gzipWindowBits: Int32 = 15 + 16

/// The description zlib attached to a stream failure, or its return code's name when it attached none.
private func zlibMessage(_ stream: UnsafeMutablePointer<z_stream>, _ code: Int32) -> String {
    if let msg = stream.pointee.msg { return String(cString: msg) }
    switch code {
    case Z_STREAM_ERROR: return "Z_STREAM_ERROR"
    case Z_DATA_ERROR: return "Z_DATA_ERROR"
    case Z_MEM_ERROR: return "Z_MEM_ERROR"
    case Z_BUF_ERROR: return "Z_BUF_ERROR"
    case Z_NEED_DICT: return "Z_NEED_DICT"
    case Z_VERSION_ERROR: return "Z_VERSION_ERROR"
    default: return "zlib return code \(code)"
    }
}

/// A reusable zlib deflate stream writing gzip members.
///
/// The `z_stream` lives at a fixed heap address: zlib's internal state points back at it.
final class GzipDeflater {
    private let stream: UnsafeMutablePointer<z_stream>

    /// Creates the deflate state; `level` is 1...9 or `Z_DEFAULT_COMPRESSION`.
    init(level: Int32) throws(CompressionError) {
        self.stream = .allocate(capacity: 1)
        self.stream.initialize(to: z_stream())
        let rc = CZlib_deflateInit2(self.stream, level, gzipWindowBits)
        guard rc == Z_OK else {
            // All stored properties are set, so deinit runs and frees the stream (deflateEnd ignores a failed init).
            let message = zlibMessage(self.stream, rc)
            throw CompressionError(kind: .libraryFailure, algorithm: .gzip, detail: "deflateInit2 failed: \(message)")
        }
    }

    deinit {
        deflateEnd(self.stream)
        self.stream.deinitialize(count: 1)
        self.stream.deallocate()
    }

    /// Appends one gzip member holding `input` to `output`.
    func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout ByteBuffer) throws(CompressionError) {
        let stream = self.stream
        guard deflateReset(stream) == Z_OK else {
            throw CompressionError(kind: .libraryFailure, algorithm: .gzip, detail: "deflateReset failed")
        }
        let bound = Int(deflateBound(stream, uLong(input.count)))
        guard bound <= Int(UInt32.max) - output.writerIndex else {
            throw CompressionError(
                kind: .outputLimitExceeded, algorithm: .gzip,
                detail: "compressing \(input.count) bytes needs up to \(bound) bytes, beyond ByteBuffer's 4 GiB capacity"
            )
        }
        var rc: Int32 = Z_OK
        output._writeBounded(minimumWritableBytes: bound, limit: bound) { dst in
            // input.count < bound <= UInt32.max, so one call with Z_FINISH consumes everything.
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(input.count)
            stream.pointee.next_out = dst.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(dst.count)
            rc = deflate(stream, Z_FINISH)
            let written = dst.count - Int(stream.pointee.avail_out)
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
            return rc == Z_STREAM_END ? written : 0
        }
        guard rc == Z_STREAM_END else {
            throw CompressionError(
                kind: .libraryFailure, algorithm: .gzip,
                detail: "deflate(Z_FINISH) of \(input.count) bytes into \(bound) bytes did not finish: \(zlibMessage(stream, rc))"
            )
        }
    }
}

/// A reusable zlib inflate stream reading one or more concatenated gzip members.
final class GzipInflater {
    private let stream: UnsafeMutablePointer<z_stream>

    init() {
        self.stream = .allocate(capacity: 1)
        self.stream.initialize(to: z_stream())
        // Only Z_MEM_ERROR (a few KiB unavailable) or Z_VERSION_ERROR (mismatched zlib.h) can happen here.
        let rc = CZlib_inflateInit2(self.stream, gzipWindowBits)
        precondition(rc == Z_OK, "inflateInit2 failed: \(zlibMessage(self.stream, rc))")
    }

    deinit {
        inflateEnd(self.stream)
        self.stream.deinitialize(count: 1)
        self.stream.deallocate()
    }

    /// Appends the decompressed members of `input` to `output`, counting them in `budget`.
    func decompress(
        _ input: UnsafeRawBufferPointer,
        appendingTo output: inout ByteBuffer,
        budget: inout DecompressionBudget
    ) throws(CompressionError) {
        guard input.count > 0 else {
            throw CompressionError(kind: .corruptInput, algorithm: .gzip, detail: "empty input: expected a gzip member")
        }
        let stream = self.stream
        guard inflateReset(stream) == Z_OK else {
            throw CompressionError(kind: .libraryFailure, algorithm: .gzip, detail: "inflateReset failed")
        }
        defer {
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
        }
        let base = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        // The last member's trailer holds its size mod 2^32 (ISIZE): a good first allocation, trusted only up to
        // the budget (DecompressionBudget.nextRequest caps every request) and to deflate's densest expansion
        // (about 1032:1), so a lying trailer on a small input cannot reserve the whole budget.
        var sizeHint: Int? = nil
        if input.count >= 18 {
            let t = input.count - 4
            let isize = Int(input[t]) | Int(input[t + 1]) << 8 | Int(input[t + 2]) << 16 | Int(input[t + 3]) << 24
            sizeHint = min(isize, input.count.multipliedReportingOverflow(by: 1032).partialValue)
        }
        var fed = 0  // input bytes handed to zlib so far
        var member = 1
        var memberStart = 0
        stream.pointee.avail_in = 0
        while true {
            if stream.pointee.avail_in == 0 && fed < input.count {
                let chunk = min(input.count - fed, Int(UInt32.max))
                stream.pointee.next_in = UnsafeMutablePointer(mutating: base + fed)
                stream.pointee.avail_in = uInt(chunk)
                fed += chunk
            }
            let request = budget.nextRequest(inputCount: input.count, sizeHint: sizeHint)
            var rc: Int32 = Z_OK
            var offered = 0
            let written = output._writeBounded(minimumWritableBytes: request, limit: budget.stepLimit) { dst in
                offered = dst.count
                stream.pointee.next_out = dst.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(dst.count)
                rc = inflate(stream, Z_NO_FLUSH)
                return dst.count - Int(stream.pointee.avail_out)
            }
            budget.produced += written
            let consumed = fed - Int(stream.pointee.avail_in)
            if budget.isExceeded {
                throw CompressionError(
                    kind: .outputLimitExceeded, algorithm: .gzip,
                    detail: "decompressed output exceeds the limit of \(budget.limit) bytes (gzip member \(member), after \(consumed) of \(input.count) input bytes)"
                )
            }
            switch rc {
            case Z_OK:
                continue
            case Z_STREAM_END:
                if consumed == input.count { return }
                // Another member follows (gzip(1) and Java's GZIPInputStream accept concatenated members); if the
                // rest is not a gzip member, the next inflate call reports it.
                guard inflateReset(stream) == Z_OK else {
                    throw CompressionError(kind: .libraryFailure, algorithm: .gzip, detail: "inflateReset failed")
                }
                member += 1
                memberStart = consumed
            case Z_BUF_ERROR where written == 0 && offered > 0:
                // No progress although output space was offered: zlib needs input that is not there.
                throw CompressionError(
                    kind: .corruptInput, algorithm: .gzip,
                    detail: "truncated input: gzip member \(member) starting at input offset \(memberStart) is incomplete after all \(input.count) input bytes"
                )
            case Z_BUF_ERROR:
                continue
            case Z_MEM_ERROR, Z_STREAM_ERROR:
                throw CompressionError(
                    kind: .libraryFailure, algorithm: .gzip, detail: "inflate: \(zlibMessage(stream, rc))"
                )
            default:
                let after = member > 1 ? " (after \(member - 1) complete member(s))" : ""
                throw CompressionError(
                    kind: .corruptInput, algorithm: .gzip,
                    detail: "gzip member \(member) starting at input offset \(memberStart)\(after): inflate failed near input offset \(consumed) of \(input.count): \(zlibMessage(stream, rc))"
                )
            }
        }
    }
}
