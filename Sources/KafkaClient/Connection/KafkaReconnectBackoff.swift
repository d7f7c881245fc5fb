/// Exponential backoff with jitter between reconnect attempts to one broker
/// (`reconnect.backoff.ms` doubling up to `reconnect.backoff.max.ms`, ±20 % jitter as in the
/// Java client, so clients that lost the same broker do not reconnect in lockstep).
struct KafkaReconnectBackoff: Sendable {
    let base: Duration
    let maximum: Duration
    /// Consecutive failed attempts.
    private(set) var failures = 0
    /// No new attempt before this instant.
    private(set) var notBefore: ContinuousClock.Instant?

    init(base: Duration, maximum: Duration) {
        self.base = base
        self.maximum = maximum
    }

    /// The delay after `failures` consecutive failures, before jitter: `base * 2^(failures-1)`,
    /// at most `maximum`.
    static func delay(base: Duration, maximum: Duration, failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        let factor = Double(1 << min(failures - 1, 30))
        let seconds = min(base.seconds * factor, maximum.seconds)
        return .nanoseconds(Int64(seconds * 1e9))
    }

    /// Records a failed attempt at `now`; the next one waits the (jittered) delay.
    mutating func recordFailure(now: ContinuousClock.Instant, jitter: Double = Double.random(in: 0.8...1.2)) {
        self.failures += 1
        let delay = Self.delay(base: self.base, maximum: self.maximum, failures: self.failures)
        self.notBefore = now + .nanoseconds(Int64(delay.seconds * jitter * 1e9))
    }

    /// How long to wait at `now` before the next attempt (zero if it may go now).
    func remainingDelay(now: ContinuousClock.Instant) -> Duration {
        guard let notBefore = self.notBefore, notBefore > now else { return .zero }
        return notBefore - now
    }
}

extension Duration {
    /// The duration in seconds as a floating-point number.
    var seconds: Double {
        Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
    }
}
