#if canImport(Glibc)
import Glibc
#endif

/// A regular file matched by an input's globs.
struct DiscoveredFile {
    var path: String
    var key: FileKey
    var size: UInt64
    /// Modification time in nanoseconds since the epoch.
    var modified: Int64
}

extension DiscoveredFile {
    init(path: String, _ info: stat) {
        self.init(
            path: path, key: FileKey(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)),
            size: UInt64(info.st_size), modified: info.modificationNanoseconds)
    }

    /// The regular file at `path` now, or nil (gone, not a regular file).
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        self.init(path: path, info)
    }
}

/// Device and inode: which file a path names right now.
struct FileKey: Hashable {
    var device: UInt64
    var inode: UInt64
}

/// Expands include globs, drops excluded paths and non-regular files. Problems (a directory matched by a glob,
/// a path that cannot be stat'ed) are returned, not thrown, so one bad path never stops the others.
struct FileDiscovery {
    let include: [String]
    let exclude: [String]

    /// A path a glob matched that cannot be tailed, and why.
    struct Problem: Equatable {
        var path: String
        var reason: String
    }

    func scan() -> (files: [DiscoveredFile], problems: [Problem]) {
        var files: [DiscoveredFile] = []
        var problems: [Problem] = []
        var seen = Set<String>()
        for pattern in include {
            for path in Self.glob(pattern) where seen.insert(path).inserted && !isExcluded(path) {
                var info = stat()
                guard stat(path, &info) == 0 else {
                    if errno != ENOENT {
                        problems.append(Problem(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))"))
                    }
                    continue
                }
                switch info.st_mode & S_IFMT {
                case S_IFREG:
                    files.append(DiscoveredFile(path: path, info))
                case S_IFDIR:
                    problems.append(Problem(path: path, reason: "is a directory (matched by \"\(pattern)\"); skipped"))
                default:
                    problems.append(Problem(path: path, reason: "is not a regular file (matched by \"\(pattern)\"); skipped"))
                }
            }
        }
        return (files, problems)
    }

    func isExcluded(_ path: String) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return exclude.contains { fnmatch($0, path, 0) == 0 || fnmatch($0, name, 0) == 0 }
    }

    /// Directories to watch for changes: each pattern's directory part, expanded when it has wildcards.
    func directories() -> [String] {
        var result = Set<String>()
        for pattern in include {
            let directory = pattern.lastIndex(of: "/").map { String(pattern[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
            if directory.contains(where: { "*?[".contains($0) }) {
                result.formUnion(Self.glob(directory))
            } else {
                result.insert(directory)
            }
        }
        return result.sorted()
    }

    static func glob(_ pattern: String) -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        guard Glibc.glob(pattern, 0, nil, &matches) == 0 else { return [] }
        var paths: [String] = []
        for index in 0..<Int(matches.gl_pathc) {
            if let path = matches.gl_pathv[index] { paths.append(String(cString: path)) }
        }
        return paths
    }
}

extension stat {
    /// `st_mtim` in nanoseconds since the epoch.
    var modificationNanoseconds: Int64 { Int64(st_mtim.tv_sec) * 1_000_000_000 + Int64(st_mtim.tv_nsec) }
}
