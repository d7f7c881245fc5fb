import Agent
import Foundation
import Testing
import TributaryTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A unix datagram socket bound by the test, standing in for systemd's notification socket.
final class NotifySocket {
    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { for (i, b) in bytes.enumerated() { $0[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw ShipProcessError("cannot bind \(path): errno \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 20_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The datagrams received until `seconds` pass or `done` says so.
    func receive(seconds: Double, until done: ([String]) -> Bool) -> [String] {
        var received: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        _ = ShipWait.until(seconds: seconds) {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 { received.append(String(decoding: buffer[..<count], as: UTF8.self)) }
            return done(received)
        }
        return received
    }

    deinit {
        close(fd)
        unlink(path)
    }
}

@Suite("Ship systemd notify")
struct ShipSystemdNotifyTests {
    @Test func sendsReadyAndWatchdogToTheNotifySocket() throws {
        let directory = try TemporaryDirectory(prefix: "ship-notify")
        defer { directory.remove() }
        let socket = try NotifySocket(path: "\(directory.path)/notify")
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "200000"])
        #expect(notifier.isActive)
        #expect(notifier.notify("READY=1"))
        let start = ContinuousClock.now
        notifier.watchdogTick(now: start)
        notifier.watchdogTick(now: start + .milliseconds(50))  // too soon: half the interval is 100 ms
        notifier.watchdogTick(now: start + .milliseconds(120))
        let received = socket.receive(seconds: 5) { $0.count >= 3 }
        #expect(received == ["READY=1", "WATCHDOG=1", "WATCHDOG=1"])
    }

    @Test func withoutNotifySocketNothingIsSent() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isActive)
        #expect(!notifier.notify("READY=1"))
    }
}
