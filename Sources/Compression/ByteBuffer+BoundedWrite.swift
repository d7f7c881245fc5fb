import NIOCore

/// How much a decompressor may still write, and how big the next output step should be.
///
/// Decoders are handed `remaining + 1` bytes at most: producing that extra byte proves the output exceeds the limit,
/// so a call never writes more than `limit + 1` bytes past the starting writer index, and never asks the buffer for
/// more capacity than that (`ByteBuffer` rounds each allocation up to a power of two).
struct DecompressionBudget {
    /// The most bytes this call may append.
    let limit: Int
    /// Bytes appended so far.
    var produced: Int = 0

    /// Creates the budget for appending to `output`, capped so the buffer stays within `ByteBuffer`'s 4 GiB capacity.
    init(maxOutputBytes: Int, output: ByteBuffer) {
        precondition(maxOutputBytes >= 0, "maxOutputBytes must not be negative (got \(maxOutputBytes))")
        let bufferRoom = Int(UInt32.max) - output.writerIndex - 1
        self.limit = Swift.max(0, Swift.min(maxOutputBytes, bufferRoom))
    }

    /// Bytes that may still be appended within the limit.
    var remaining: Int { self.limit - self.produced }

    /// Whether the output went past the limit (only possible by the one probe byte).
    var isExceeded: Bool { self.produced > self.limit }

    /// The most bytes to hand a decoder in one step: the remaining budget plus one probe byte, and at most what
    /// the C APIs' 32-bit length fields can express.
    var stepLimit: Int { Swift.min(self.remaining + 1, Int(UInt32.max)) }

    /// How many writable bytes to ask the buffer for before the next step: `sizeHint` (a declared content size, or
    /// nil) when known, otherwise a geometric guess from the input size and the output so far. Never more than
    /// `stepLimit`.
    func nextRequest(inputCount: Int, sizeHint: Int?) -> Int {
        let guess: Int
        if let sizeHint, sizeHint > self.produced {
            guess = sizeHint - self.produced
        } else if self.produced == 0 {
            guess = Swift.max(16 * 1024, inputCount.multipliedReportingOverflow(by: 4).overflow ? Int.max : inputCount * 4)
        } else {
            guess = Swift.max(64 * 1024, self.produced)
        }
        return Swift.max(1, Swift.min(guess, self.stepLimit))
    }
}

extension ByteBuffer {
    /// Makes at least `minimumWritableBytes` writable, then calls `body` with the writable bytes cut to at most
    /// `limit`, and moves the writer index by the count `body` returns.
    ///
    /// `body` must not throw: callers report failures through captured state, so no error is boxed on the hot path.
    @inline(__always)
    @discardableResult
    mutating func _writeBounded(
        minimumWritableBytes: Int,
        limit: Int,
        _ body: (UnsafeMutableRawBufferPointer) -> Int
    ) -> Int {
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: minimumWritableBytes) { writable in
            body(UnsafeMutableRawBufferPointer(rebasing: writable.prefix(limit)))
        }
    }
}
