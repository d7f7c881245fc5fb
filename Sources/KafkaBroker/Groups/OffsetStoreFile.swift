import Glibc
import NIOCore

/// A failed file operation of the ``OffsetStore``.
public struct OffsetStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The operation that failed, such as `fsync`.
    public var operation: String
    /// The file or directory it was applied to.
    public var path: String
    /// The `errno` value, or 0 when the failure is not a system call's.
    public var errno: Int32
    /// Extra detail for failures that are not system call errors.
    public var detail: String

    /// Creates an error value.
    public init(operation: String, path: String, errno: Int32 = 0, detail: String = "") {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.detail = detail
    }

    /// The operation, path and the system's message for `errno`.
    public var description: String {
        var text = "\(operation) \(path)"
        if errno != 0 { text += ": \(String(cString: strerror(errno))) (errno \(errno))" }
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}

/// Thin POSIX helpers for the offsets file; every call reports `OffsetStoreError`.
enum OffsetStoreFile {
    static func makeDirectory(_ path: String) throws(OffsetStoreError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw OffsetStoreError(operation: "mkdir", path: path, errno: errno)
        }
    }

    static func open(_ path: String, flags: Int32) throws(OffsetStoreError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
            if fd >= 0 { return fd }
            if errno != EINTR { throw OffsetStoreError(operation: "open", path: path, errno: errno) }
        }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func remove(_ path: String) throws(OffsetStoreError) {
        if unlink(path) != 0 && errno != ENOENT {
            throw OffsetStoreError(operation: "unlink", path: path, errno: errno)
        }
    }

    static func size(_ fd: Int32, path: String) throws(OffsetStoreError) -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw OffsetStoreError(operation: "fstat", path: path, errno: errno) }
        return Int(info.st_size)
    }

    /// Reads the whole file from offset 0.
    static func readAll(_ fd: Int32, path: String) throws(OffsetStoreError) -> ByteBuffer {
        let size = try size(fd, path: path)
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        var offset = 0
        var failure: OffsetStoreError?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { pointer in
            while offset < size {
                let n = pread(fd, pointer.baseAddress! + offset, size - offset, off_t(offset))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = OffsetStoreError(operation: "read", path: path, errno: errno)
                    break
                }
                if n == 0 { break }
                offset += n
            }
            return offset
        }
        if let failure { throw failure }
        return buffer
    }

    /// Writes all of `buffer` at `offset`.
    static func write(_ fd: Int32, _ buffer: ByteBuffer, at offset: Int, path: String) throws(OffsetStoreError) {
        var failure: OffsetStoreError?
        buffer.withUnsafeReadableBytes { bytes in
            var done = 0
            while done < bytes.count {
                let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = OffsetStoreError(operation: "write", path: path, errno: errno)
                    return
                }
                done += n
            }
        }
        if let failure { throw failure }
    }

    static func fsync(_ fd: Int32, path: String) throws(OffsetStoreError) {
        if Glibc.fsync(fd) != 0 { throw OffsetStoreError(operation: "fsync", path: path, errno: errno) }
    }

    static func truncate(_ fd: Int32, to size: Int, path: String) throws(OffsetStoreError) {
        if ftruncate(fd, off_t(size)) != 0 { throw OffsetStoreError(operation: "ftruncate", path: path, errno: errno) }
    }

    static func rename(_ from: String, to: String) throws(OffsetStoreError) {
        if Glibc.rename(from, to) != 0 { throw OffsetStoreError(operation: "rename", path: "\(from) -> \(to)", errno: errno) }
    }

    /// fsyncs a directory so that entries created, renamed or removed in it are durable.
    static func syncDirectory(_ path: String) throws(OffsetStoreError) {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }
}
