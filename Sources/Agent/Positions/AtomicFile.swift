#if canImport(Glibc)
import Glibc
#endif

/// Replaces a file atomically and durably: write a temp file beside it, fsync it, rename it over the target,
/// fsync the directory (without that last step the rename itself may not survive a crash).
enum AtomicFile {
    /// A failed step, naming the file and the system error.
    struct WriteError: Error, CustomStringConvertible {
        var path: String
        var step: String
        var errno: Int32
        var description: String { "cannot \(step) \(path): \(String(cString: strerror(errno)))" }
    }

    static func write(_ bytes: [UInt8], to path: String) throws(WriteError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(path: temporary, step: "create", errno: errno) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                let error = errno
                close(fd)
                throw WriteError(path: temporary, step: "write", errno: error)
            }
            written += result
        }
        if fsync(fd) != 0 {
            let error = errno
            close(fd)
            throw WriteError(path: temporary, step: "fsync", errno: error)
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw WriteError(path: path, step: "rename onto", errno: errno) }
        try syncDirectory(containing: path)
    }

    /// fsyncs the directory holding `path`, making a rename or create in it durable.
    static func syncDirectory(containing path: String) throws(WriteError) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw WriteError(path: directory, step: "open directory", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw WriteError(path: directory, step: "fsync directory", errno: errno) }
    }
}
