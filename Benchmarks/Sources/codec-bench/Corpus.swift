#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A log corpus in memory, cut into lines (without their `\n`).
final class Corpus {
    /// The whole text.
    let text: UnsafeMutableRawBufferPointer
    /// Where each line starts in `text`.
    let lineStarts: [Int]
    /// Each line's length, without the `\n`.
    let lineLengths: [Int]

    /// Reads at most `limit` bytes of the file at `path`, cut back to the last complete line.
    init(path: String, limit: Int?) throws(BenchError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw BenchError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw BenchError("cannot stat \(path)") }
        let size = min(Int(info.st_size), limit ?? Int.max)
        let text = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 64)
        var filled = 0
        while filled < size {
            let n = read(fd, text.baseAddress! + filled, size - filled)
            guard n > 0 else { throw BenchError("short read from \(path) at \(filled) of \(size) bytes") }
            filled += n
        }
        // Keep complete lines only.
        var end = size
        while end > 0 && text[end - 1] != UInt8(ascii: "\n") { end -= 1 }
        guard end > 0 else { throw BenchError("\(path) holds no complete line in its first \(size) bytes") }
        self.text = UnsafeMutableRawBufferPointer(rebasing: text[0..<end])
        var starts: [Int] = []
        var lengths: [Int] = []
        var start = 0
        let base = self.text.baseAddress!
        while start < end {
            let newline = memchr(base + start, 0x0A, end - start)!
            let length = UnsafeRawPointer(newline) - UnsafeRawPointer(base + start)
            starts.append(start)
            lengths.append(length)
            start += length + 1
        }
        // `let`s: the hot loops read them without the dynamic exclusivity checks of a class `var`.
        self.lineStarts = starts
        self.lineLengths = lengths
    }

    deinit { text.deallocate() }

    /// Number of lines.
    var lineCount: Int { lineStarts.count }

    /// The bytes of line `index`, without its `\n`.
    @inline(__always)
    func line(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: text.baseAddress! + lineStarts[index], count: lineLengths[index])
    }

    /// Cuts the corpus into batches of consecutive whole lines holding at most `maxBytes` of text
    /// each (lines with their `\n`; a longer line makes a batch of its own).
    func batches(maxBytes: Int) -> [Batch] {
        var batches: [Batch] = []
        var current = Batch(firstLine: 0, lineCount: 0, textStart: 0, textCount: 0)
        for index in 0..<lineCount {
            let bytes = lineLengths[index] + 1
            if current.lineCount > 0 && current.textCount + bytes > maxBytes {
                batches.append(current)
                current = Batch(firstLine: index, lineCount: 0, textStart: lineStarts[index], textCount: 0)
            }
            current.lineCount += 1
            current.textCount += bytes
        }
        if current.lineCount > 0 { batches.append(current) }
        return batches
    }

    /// The text of `batch`: its lines joined, each with its `\n`.
    @inline(__always)
    func text(of batch: Batch) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: text.baseAddress! + batch.textStart, count: batch.textCount)
    }
}

/// A run of consecutive lines that goes into one record batch (and one bare chunk).
struct Batch {
    var firstLine: Int
    var lineCount: Int
    /// Offset of the first line in the corpus text.
    var textStart: Int
    /// Bytes of text: the lines with their `\n`.
    var textCount: Int
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
