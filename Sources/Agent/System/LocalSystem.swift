#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Small files, the environment and the host name through POSIX calls, so the agent needs no Foundation
/// (which costs it several MB of resident memory).
@usableFromInline
enum LocalSystem {
    /// Why `readFile` failed.
    enum ReadFailure: Error, Equatable {
        /// No file at the path.
        case missing
        /// It exists but cannot be opened or read (permissions, a directory, an I/O error).
        case unreadable(errno: Int32)

        /// "does not exist" or "cannot be read".
        var reason: String {
            switch self {
            case .missing: "does not exist"
            case .unreadable: "cannot be read"
            }
        }
    }

    /// The whole content of the file at `path`.
    static func readFile(_ path: String) -> Result<[UInt8], ReadFailure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(errno == ENOENT || errno == ENOTDIR ? .missing : .unreadable(errno: errno)) }
        defer { close(fd) }
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(.unreadable(errno: errno))
            }
            if count == 0 { return .success(content) }
            content.append(contentsOf: chunk[..<count])
        }
    }

    /// Whether the process can open `path` for reading.
    static func isReadableFile(_ path: String) -> Bool {
        access(path, R_OK) == 0
    }

    /// The value of environment variable `name`.
    @usableFromInline
    static func environmentValue(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// The whole environment.
    static func environment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }

    /// Milliseconds since the Unix epoch (CLOCK_REALTIME).
    static func wallClockMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// This machine's host name (`gethostname`); "localhost" when it cannot be read.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
