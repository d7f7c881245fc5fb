import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// Dispatch signal sources for a set of signals: the signals' default action is switched off, and `install`
/// returns only once every source is registered (a signal arriving before that would be ignored and lost).
///
/// The sources deliver only while this object lives. Keep it until the program stops listening, e.g.
/// `defer { sources.cancel() }`: an optimised build ends a local's lifetime at its last use, and a released
/// source stops delivering while the signal stays ignored (the agent once ignored SIGTERM for good that way).
public final class SignalSources {
    private let sources: [any DispatchSourceSignal]

    private init(sources: [any DispatchSourceSignal]) { self.sources = sources }

    /// Registers a source for each of `signals`, calling `handler(signal)` on a global queue for each delivery.
    public static func install(
        _ signals: [Int32], handler: @escaping @Sendable (Int32) -> Void
    ) async -> SignalSources {
        let registered = DispatchGroup()
        let sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            registered.enter()
            source.setRegistrationHandler { registered.leave() }
            source.resume()
            return source
        }
        await withCheckedContinuation { continuation in
            registered.notify(queue: .global()) { continuation.resume() }
        }
        return SignalSources(sources: sources)
    }

    /// Stops delivering (the signals stay ignored).
    public func cancel() {
        for source in sources { source.cancel() }
    }
}
