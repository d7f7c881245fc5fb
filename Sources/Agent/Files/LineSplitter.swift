#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// One line cut from a file: a slice of the read buffer (no copy) and its byte range in the file.
struct SplitLine {
    /// The line without `\n` / `\r\n`.
    var value: ByteBuffer
    /// File offset of the line's first byte.
    var offset: UInt64
    /// File offset just past the line's terminator (or last byte, for a piece or a flushed partial line).
    var endOffset: UInt64
    /// Whether this is a piece of a line longer than the maximum.
    var truncated: Bool
}

/// Cuts a byte stream into lines at `\n`, stripping a `\r` before it. Sans-IO: the caller reads bytes into
/// `makeReadBuffer(...)` and hands the buffer to `consume`. A partial last line is held (as a slice) until its
/// newline arrives or `flushPartial` is called. Lines longer than `maxLineBytes` are cut into pieces marked
/// truncated, so at most `maxLineBytes` (+1 for a pending `\r`) bytes are ever held.
struct LineSplitter {
    let maxLineBytes: Int
    /// Bytes of the incomplete last line: a slice of the last buffer.
    private(set) var pending = ByteBuffer()
    /// File offset of `pending`'s first byte: where the next line starts.
    private(set) var pendingOffset: UInt64
    /// The last piece emitted was cut from a longer line, so the rest of that line is truncated too.
    private var continuingCutLine = false

    init(maxLineBytes: Int, startOffset: UInt64) {
        self.maxLineBytes = maxLineBytes
        self.pendingOffset = startOffset
    }

    /// File offset just past the bytes the splitter has seen.
    var endOffset: UInt64 { pendingOffset + UInt64(pending.readableBytes) }

    /// A buffer starting with the pending bytes, with room for `chunkSize` more to read into.
    func makeReadBuffer(allocator: ByteBufferAllocator, chunkSize: Int) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: pending.readableBytes + chunkSize)
        buffer.writeImmutableBuffer(pending)
        return buffer
    }

    /// Cuts every complete line in `buffer` (which must start with the pending bytes, as `makeReadBuffer` makes
    /// it) and keeps the incomplete rest.
    mutating func consume(_ buffer: ByteBuffer, emit: (SplitLine) -> Void) {
        let alreadyScanned = pending.readableBytes
        let base = pendingOffset
        let maximum = maxLineBytes
        var cutLine = continuingCutLine
        let lineStart: Int = buffer.withUnsafeReadableBytes { raw -> Int in
            guard let start = raw.baseAddress else { return 0 }
            let count = raw.count
            var lineStart = 0
            var scanFrom = alreadyScanned
            while scanFrom < count, let found = memchr(start + scanFrom, 0x0A, count - scanFrom) {
                let newline = start.distance(to: UnsafeRawPointer(found))
                var contentEnd = newline
                if contentEnd > lineStart, raw[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                while contentEnd - lineStart > maximum {
                    emit(Self.piece(buffer, base, lineStart, maximum, end: lineStart + maximum, truncated: true))
                    lineStart += maximum
                    cutLine = true
                }
                emit(Self.piece(buffer, base, lineStart, contentEnd - lineStart, end: newline + 1, truncated: cutLine))
                cutLine = false
                lineStart = newline + 1
                scanFrom = lineStart
            }
            // No newline yet: cut full pieces, except when the byte past the maximum is a final `\r` that may
            // belong to a `\r\n` (then the line may be exactly the maximum; wait for the next byte).
            while count - lineStart > maximum, !(count - lineStart == maximum + 1 && raw[count - 1] == 0x0D) {
                emit(Self.piece(buffer, base, lineStart, maximum, end: lineStart + maximum, truncated: true))
                lineStart += maximum
                cutLine = true
            }
            return lineStart
        }
        continuingCutLine = cutLine
        pending = Self.keepRest(of: buffer, from: lineStart)
        pendingOffset = base + UInt64(lineStart)
    }

    /// The incomplete rest of `buffer` from `lineStart`, held until the next read. It must not pin the read
    /// buffer once the lines cut from it are acknowledged (a stream idle after a read would keep the whole buffer
    /// for as long as it stays idle; 1,000 streams read once at start kept MBs): nothing left is the shared empty
    /// buffer, a rest smaller than half the buffer is copied (the next read copies it again anyway), a larger
    /// one stays a slice.
    private static func keepRest(of buffer: ByteBuffer, from lineStart: Int) -> ByteBuffer {
        let length = buffer.readableBytes - lineStart
        guard length > 0 else { return ByteBuffer() }
        // The range lies inside the readable bytes by construction.
        let rest = buffer.getSlice(at: buffer.readerIndex + lineStart, length: length) ?? ByteBuffer()
        guard length * 2 < buffer.capacity else { return rest }
        var copy = ByteBufferAllocator().buffer(capacity: length)
        copy.writeImmutableBuffer(rest)
        return copy
    }

    /// Emits the held partial line, if any, as a line of its own (its newline never came).
    mutating func flushPartial(emit: (SplitLine) -> Void) {
        guard pending.readableBytes > 0 else { return }
        if pending.readableBytes > maxLineBytes, let piece = pending.readSlice(length: maxLineBytes) {
            // Held one byte over the maximum (a final `\r`): that byte is a piece of its own.
            emit(SplitLine(value: piece, offset: pendingOffset, endOffset: pendingOffset + UInt64(maxLineBytes), truncated: true))
            pendingOffset += UInt64(maxLineBytes)
            continuingCutLine = true
        }
        let length = pending.readableBytes
        emit(SplitLine(value: pending, offset: pendingOffset, endOffset: pendingOffset + UInt64(length), truncated: continuingCutLine))
        continuingCutLine = false
        pendingOffset += UInt64(length)
        pending = ByteBuffer()
    }

    private static func piece(_ buffer: ByteBuffer, _ base: UInt64, _ start: Int, _ length: Int, end: Int, truncated: Bool)
        -> SplitLine
    {
        // The range lies inside the readable bytes by construction.
        let value = buffer.getSlice(at: buffer.readerIndex + start, length: length) ?? ByteBuffer()
        return SplitLine(value: value, offset: base + UInt64(start), endOffset: base + UInt64(end), truncated: truncated)
    }
}
