#if canImport(Glibc)
import Glibc
#endif

/// Watches directories with inotify and reports what changed: names created, moved or deleted (rescan
/// needed) and files modified (read them). When inotify is unavailable, `isAvailable` is false and the
/// caller relies on its periodic rescan.
final class DirectoryWatcher {
    private let fd: Int32
    private var directoriesByWatch: [Int32: String] = [:]
    private var watchedDirectories = Set<String>()
    /// Why inotify is unavailable, when it is.
    let unavailableReason: String?

    /// What `drain` saw.
    struct Changes {
        var needsRescan = false
        var modifiedPaths: [String] = []
    }

    init() {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        unavailableReason = fd < 0 ? "inotify_init1 failed: \(String(cString: strerror(errno)))" : nil
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    var isAvailable: Bool { fd >= 0 }

    /// Adds watches for directories not watched yet; returns the ones that failed with the reason.
    func watch(_ directories: [String]) -> [(String, String)] {
        guard fd >= 0 else { return [] }
        var failures: [(String, String)] = []
        let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
        for directory in directories where !watchedDirectories.contains(directory) {
            let wd = inotify_add_watch(fd, directory, mask)
            if wd < 0 {
                if errno != ENOENT { failures.append((directory, String(cString: strerror(errno)))) }
                continue
            }
            watchedDirectories.insert(directory)
            directoriesByWatch[wd] = directory
        }
        return failures
    }

    /// Reads every queued event without blocking.
    func drain() -> Changes {
        var changes = Changes()
        guard fd >= 0 else { return changes }
        let capacity = 64 * 1024
        var buffer = [UInt8](repeating: 0, count: capacity)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, capacity) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            buffer.withUnsafeBytes { raw in
                var offset = 0
                let headerSize = MemoryLayout<inotify_event>.size
                while offset + headerSize <= count {
                    let wd = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let nameLength = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameBytes = raw[(offset + headerSize)..<min(count, offset + headerSize + nameLength)]
                    let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                    offset += headerSize + nameLength
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        changes.needsRescan = true
                        continue
                    }
                    if mask & UInt32(IN_IGNORED) != 0, let directory = directoriesByWatch.removeValue(forKey: wd) {
                        watchedDirectories.remove(directory)  // the directory went away; a rescan re-adds it
                        changes.needsRescan = true
                        continue
                    }
                    if mask & UInt32(IN_MODIFY) != 0, let directory = directoriesByWatch[wd], !name.isEmpty {
                        changes.modifiedPaths.append(directory == "/" ? "/\(name)" : "\(directory)/\(name)")
                    }
                    if mask & ~UInt32(IN_MODIFY) != 0 { changes.needsRescan = true }
                }
            }
        }
        return changes
    }
}
