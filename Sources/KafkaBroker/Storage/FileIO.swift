#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// `strerror` for a message.
func systemErrorDescription(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}

/// An open file descriptor, closed when the last reference goes away.
///
/// Segment files are shared between the partition's state and readers or flushers working
/// outside its lock; reference counting keeps a descriptor open (and its inode alive, even after
/// retention unlinks the file) until every user is done, so a descriptor number is never reused
/// under someone's feet.
final class FileDescriptor: Sendable {
    /// The descriptor.
    let fd: CInt
    /// The path it was opened with (for messages).
    let path: String

    /// Opens `path` with `flags` (`O_CLOEXEC` added).
    init(path: String, flags: CInt, mode: mode_t = 0o644) throws(StorageError) {
        let fd = open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StorageError.io("open", path: path, errno: errno) }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// The file's current size in bytes.
    func size() throws(StorageError) -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw StorageError.io("fstat", path: path, errno: errno) }
        return Int(info.st_size)
    }

    /// The file's last modification time in ms since the epoch.
    func modificationTimeMs() throws(StorageError) -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw StorageError.io("fstat", path: path, errno: errno) }
        return Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
    }

    /// Writes all readable bytes of `buffer` at `offset` (looping over short writes).
    func write(_ buffer: ByteBuffer, at offset: Int) throws(StorageError) {
        if let injected = FaultInjection.check(.write, path: path) {
            // Fail half way, as a full disk does: part of the bytes land.
            let half = buffer.getSlice(at: buffer.readerIndex, length: buffer.readableBytes / 2) ?? ByteBuffer()
            try? writeAll(half, at: offset)
            throw StorageError.io("write", path: path, errno: injected)
        }
        try writeAll(buffer, at: offset)
    }

    private func writeAll(_ buffer: ByteBuffer, at offset: Int) throws(StorageError) {
        let result: Int32? = buffer.withUnsafeReadableBytes { bytes -> Int32? in
            var done = 0
            while done < bytes.count {
                let written = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                done += written
            }
            return nil
        }
        if let result { throw StorageError.io("write", path: path, errno: result) }
    }

    /// Writes `bytes` at `offset`.
    func write(_ bytes: [UInt8], at offset: Int) throws(StorageError) {
        var buffer = ByteBuffer()
        buffer.writeBytes(bytes)
        try write(buffer, at: offset)
    }

    /// Reads up to `count` bytes at `offset` into a new buffer; fewer at the end of the file.
    func read(count: Int, at offset: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(StorageError)
        -> ByteBuffer
    {
        var buffer = allocator.buffer(capacity: count)
        guard count > 0 else { return buffer }
        var failure: Int32? = nil
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { bytes in
            var done = 0
            while done < count {
                let got = pread(fd, bytes.baseAddress! + done, count - done, off_t(offset + done))
                if got < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return 0
                }
                if got == 0 { break }
                done += got
            }
            return done
        }
        if let failure { throw StorageError.io("read", path: path, errno: failure) }
        return buffer
    }

    /// Flushes the file's data to disk (`fdatasync` on Linux: the size is metadata it covers).
    func sync() throws(StorageError) {
        if let injected = FaultInjection.check(.sync, path: path) {
            throw StorageError.io("fsync", path: path, errno: injected)
        }
        #if os(Linux)
        let result = fdatasync(fd)
        #else
        let result = fsync(fd)
        #endif
        guard result == 0 else { throw StorageError.io("fsync", path: path, errno: errno) }
    }

    /// Takes an exclusive advisory lock on the file without waiting (`flock`); held until the
    /// descriptor is closed.
    ///
    /// - Returns: false if another open file description (another process, or another open in
    ///   this one) holds it.
    func tryLockExclusively() throws(StorageError) -> Bool {
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw StorageError.io("flock", path: path, errno: errno)
    }

    /// Releases a lock taken by `tryLockExclusively()`.
    func unlock() {
        _ = flock(fd, LOCK_UN)
    }

    /// Cuts the file to `size` bytes.
    func truncate(to size: Int) throws(StorageError) {
        guard ftruncate(fd, off_t(size)) == 0 else { throw StorageError.io("ftruncate", path: path, errno: errno) }
    }
}

/// The file-system calls Storage makes outside open files: directories, renames, atomic replace.
enum FileIO {
    /// Whether something exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Whether `path` is a directory.
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates the directory `path` (and its parents), fsyncing each parent it adds an entry to.
    static func createDirectory(_ path: String) throws(StorageError) {
        if isDirectory(path) { return }
        let parent = parentDirectory(of: path)
        if parent != path, !isDirectory(parent) { try createDirectory(parent) }
        if mkdir(path, 0o755) != 0, errno != EEXIST {
            throw StorageError.io("mkdir", path: path, errno: errno)
        }
        try syncDirectory(parent)
    }

    /// The names in directory `path` (without `.` and `..`).
    static func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] {
        guard let dir = opendir(path) else { throw StorageError.io("opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// fsyncs the directory `path`, making creations, renames and deletions in it durable.
    static func syncDirectory(_ path: String) throws(StorageError) {
        let directory = try FileDescriptor(path: path, flags: O_RDONLY | O_DIRECTORY)
        guard fsync(directory.fd) == 0 else { throw StorageError.io("fsync", path: path, errno: errno) }
    }

    /// Removes the file `path`; a missing file is not an error.
    static func removeFile(_ path: String) throws(StorageError) {
        if unlink(path) != 0, errno != ENOENT { throw StorageError.io("unlink", path: path, errno: errno) }
    }

    /// Removes `path` and everything below it; a missing path is not an error.
    static func removeTree(_ path: String) throws(StorageError) {
        guard isDirectory(path) else {
            try removeFile(path)
            return
        }
        for name in try contentsOfDirectory(path) {
            try removeTree(path + "/" + name)
        }
        if rmdir(path) != 0, errno != ENOENT { throw StorageError.io("rmdir", path: path, errno: errno) }
    }

    /// Renames `from` to `to` (replacing `to`).
    static func rename(_ from: String, to: String) throws(StorageError) {
        if let injected = FaultInjection.check(.rename, path: to) {
            throw StorageError.io("rename to \(to)", path: from, errno: injected)
        }
        #if canImport(Glibc)
        let result = Glibc.rename(from, to)
        #elseif canImport(Musl)
        let result = Musl.rename(from, to)
        #else
        let result = Darwin.rename(from, to)
        #endif
        guard result == 0 else { throw StorageError.io("rename to \(to)", path: from, errno: errno) }
    }

    /// The directory part of `path` (`.` for a bare name).
    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The whole file at `path`, or `nil` if it does not exist.
    static func readFile(_ path: String) throws(StorageError) -> [UInt8]? {
        guard exists(path) else { return nil }
        let file = try FileDescriptor(path: path, flags: O_RDONLY)
        let buffer = try file.read(count: try file.size(), at: 0)
        return Array(buffer.readableBytesView)
    }

    /// Replaces the file at `path` with `contents` atomically and durably: writes a temporary
    /// file beside it, fsyncs it, renames it over `path`, then fsyncs the directory. After a
    /// crash at any point `path` holds either the old or the new contents, never a mix. The one
    /// helper for every small state file (topic metadata, checkpoints, counters).
    static func atomicReplace(_ path: String, contents: [UInt8]) throws(StorageError) {
        let temporary = path + ".tmp"
        do {
            let file = try FileDescriptor(path: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
            try file.write(contents, at: 0)
            try file.sync()
        }
        try rename(temporary, to: path)
        try syncDirectory(parentDirectory(of: path))
    }
}
