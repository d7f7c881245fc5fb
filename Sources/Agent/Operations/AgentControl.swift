#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import NIOConcurrencyHelpers

/// Requests to the running agent, from signal handlers (any thread) to the read loop, which checks them
/// between polls.
public final class AgentControl: Sendable {
    private struct Requests {
        var stop = false
        var reloads = 0
    }

    private let requests = NIOLockedValueBox(Requests())

    public init() {}

    /// Stop reading, drain, save positions and exit (SIGTERM, SIGINT).
    public func requestStop() {
        requests.withLockedValue { $0.stop = true }
    }

    /// Re-read the config file and apply it if valid (SIGHUP).
    public func requestReload() {
        requests.withLockedValue { $0.reloads += 1 }
    }

    /// Whether a stop was requested.
    public var isStopRequested: Bool { requests.withLockedValue { $0.stop } }

    /// Whether a reload waits to be taken.
    var isReloadRequested: Bool { requests.withLockedValue { $0.reloads > 0 } }

    /// Takes the pending reload requests (several SIGHUPs before the loop saw them make one reload).
    func takeReloadRequest() -> Bool {
        requests.withLockedValue { requests in
            defer { requests.reloads = 0 }
            return requests.reloads > 0
        }
    }
}
