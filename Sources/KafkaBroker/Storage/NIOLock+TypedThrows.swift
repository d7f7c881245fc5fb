import NIOConcurrencyHelpers

extension NIOLock {
    /// `withLock` for closures with a typed error (NIO's `rethrows` version erases it).
    @inlinable
    func withLockTyped<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
