#if canImport(Glibc)
import Glibc
#endif

/// `sd_notify` without libsystemd: datagrams such as `READY=1` and `WATCHDOG=1` to the unix socket named by
/// `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace). Does nothing when the variable is unset
/// (not run by systemd with Type=notify). Used from one task.
public final class SystemdNotifier {
    private let socketAddress: [UInt8]?
    private let watchdogInterval: Duration?
    private var lastWatchdog: ContinuousClock.Instant?

    /// Reads `NOTIFY_SOCKET` and `WATCHDOG_USEC` from `environment`.
    public init(environment: [String: String]) {
        if let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.utf8.count < 108 {
            var bytes = Array(path.utf8)
            if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
            socketAddress = bytes
        } else {
            socketAddress = nil
        }
        if socketAddress != nil, let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 {
            watchdogInterval = .microseconds(microseconds / 2)
        } else {
            watchdogInterval = nil
        }
    }

    /// Whether a notification socket was given.
    public var isActive: Bool { socketAddress != nil }

    /// Sends `state` (e.g. `READY=1`); returns whether the datagram was sent.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let socketAddress else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in socketAddress.enumerated() { path[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + socketAddress.count)
        var message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, &message, message.count, 0, $0, length) }
        }
        return sent == message.count
    }

    /// Sends `WATCHDOG=1` when half the watchdog interval passed since the last one (call it from the loop
    /// that must stay alive).
    public func watchdogTick(now: ContinuousClock.Instant = .now) {
        guard let watchdogInterval else { return }
        if let lastWatchdog, now - lastWatchdog < watchdogInterval { return }
        lastWatchdog = now
        notify("WATCHDOG=1")
    }
}
