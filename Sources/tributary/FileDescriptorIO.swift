import Glibc

/// Why reading or writing a file descriptor failed, naming the file.
struct FileIOError: Error, CustomStringConvertible {
    var description: String
}

/// Buffered writes to a file descriptor; `EPIPE` (a reader like `head` went away) is reported as
/// `brokenPipe` so commands can end quietly, as grep and ripgrep do.
final class FileDescriptorWriter {
    private let fd: Int32
    private let name: String
    private var buffer: [UInt8] = []
    private let flushThreshold = 1 << 16
    /// Whether the reader closed the pipe; later writes are dropped.
    private(set) var brokenPipe = false

    init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
        buffer.reserveCapacity(flushThreshold * 2)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Opens (creating or truncating) `path` for writing.
    convenience init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileIOError(description: "cannot open \(path) for writing: \(String(cString: strerror(errno)))") }
        self.init(fd: fd, name: path)
    }

    func write(_ string: String) throws {
        buffer.append(contentsOf: string.utf8)
        if buffer.count >= flushThreshold { try flush() }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if bytes.count >= flushThreshold {
            try flush()
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
            if buffer.count >= flushThreshold { try flush() }
        }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        try buffer.withUnsafeBytes { try writeAll($0) }
    }

    func close() throws {
        try flush()
        if fd > 2 { Glibc.close(fd) }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard !brokenPipe, var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, base, left)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { brokenPipe = true; return }
                throw FileIOError(description: "cannot write to \(name): \(String(cString: strerror(errno)))")
            }
            left -= n
            base += n
        }
    }
}

/// Reads `fd` into `buffer` at `offset` until the buffer is full or the input ends.
/// - Returns: the number of bytes read; less than requested only at end of input.
func readFully(fd: Int32, name: String, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    var total = 0
    while total < buffer.count {
        let n = read(fd, buffer.baseAddress! + total, buffer.count - total)
        if n < 0 {
            if errno == EINTR { continue }
            throw FileIOError(description: "cannot read \(name): \(String(cString: strerror(errno)))")
        }
        if n == 0 { break }
        total += n
    }
    return total
}
