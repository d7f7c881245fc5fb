import Glibc

/// The time source of a ``GroupCoordinator``: a monotonic clock for session, rebalance and sync
/// timers and a wall clock for the commit timestamps stored with offsets.
///
/// Production code uses ``SystemGroupCoordinatorClock``; tests pass a manual clock and call
/// ``GroupCoordinator/tick()`` after moving it, so no test sleeps.
public protocol GroupCoordinatorClock: Sendable {
    /// Milliseconds on a monotonic clock with an arbitrary origin; never goes backwards.
    func monotonicMilliseconds() -> Int64
    /// Milliseconds since the Unix epoch (wall clock; may jump).
    func unixMilliseconds() -> Int64
}

/// The operating system's clocks: `CLOCK_MONOTONIC` and `CLOCK_REALTIME`.
public struct SystemGroupCoordinatorClock: GroupCoordinatorClock {
    /// Creates the system clock.
    public init() {}

    /// `CLOCK_MONOTONIC` in milliseconds.
    public func monotonicMilliseconds() -> Int64 { Self.read(CLOCK_MONOTONIC) }

    /// `CLOCK_REALTIME` in milliseconds since the Unix epoch.
    public func unixMilliseconds() -> Int64 { Self.read(CLOCK_REALTIME) }

    private static func read(_ id: clockid_t) -> Int64 {
        var spec = timespec()
        clock_gettime(id, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
