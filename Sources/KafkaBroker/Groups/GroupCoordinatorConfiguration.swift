/// Settings of a ``GroupCoordinator``: timer limits of the classic consumer-group protocol and the
/// coordinator's identity for FindCoordinator.
///
/// Durations use `Duration`; each property names Kafka's broker setting it mirrors.
public struct GroupCoordinatorConfiguration: Sendable, Hashable {
    /// The node id this broker reports as the coordinator of every group (a single-node broker
    /// coordinates all groups itself).
    ///
    /// Default: `0`.
    public var nodeId: Int32

    /// How long a new (empty) group waits for more members after the first one joins before it
    /// completes its first rebalance, extended by the same amount for every member that joins in
    /// the meantime and capped by the rebalance timeout. Kafka's `group.initial.rebalance.delay.ms`.
    ///
    /// Default: 3 seconds. Tests use `.zero`, which completes the first rebalance as soon as all
    /// known members have joined.
    public var initialRebalanceDelay: Duration

    /// The smallest session timeout a JoinGroup may ask for; smaller ones get
    /// `INVALID_SESSION_TIMEOUT`. Kafka's `group.min.session.timeout.ms`.
    ///
    /// Default: 6 seconds.
    public var minSessionTimeout: Duration

    /// The largest session timeout a JoinGroup may ask for; larger ones get
    /// `INVALID_SESSION_TIMEOUT`. Kafka's `group.max.session.timeout.ms`.
    ///
    /// Default: 30 minutes.
    public var maxSessionTimeout: Duration

    /// The most members a group may have; a JoinGroup beyond it gets `GROUP_MAX_SIZE_REACHED`.
    /// Kafka's `group.max.size`.
    ///
    /// Default: `Int.max` (no limit).
    public var maxGroupSize: Int

    /// The largest `committedMetadata` string (in UTF-8 bytes) an OffsetCommit may store; larger
    /// ones get `OFFSET_METADATA_TOO_LARGE`. Kafka's `offset.metadata.max.bytes`.
    ///
    /// Default: 4096.
    public var maxOffsetMetadataBytes: Int

    /// How often ``GroupCoordinator/run()`` checks session, rebalance and sync deadlines.
    ///
    /// Default: 100 milliseconds.
    public var timerTickInterval: Duration

    /// Creates a configuration; every parameter defaults to the value documented on its property.
    public init(
        nodeId: Int32 = 0,
        initialRebalanceDelay: Duration = .seconds(3),
        minSessionTimeout: Duration = .seconds(6),
        maxSessionTimeout: Duration = .seconds(1800),
        maxGroupSize: Int = .max,
        maxOffsetMetadataBytes: Int = 4096,
        timerTickInterval: Duration = .milliseconds(100)
    ) {
        self.nodeId = nodeId
        self.initialRebalanceDelay = initialRebalanceDelay
        self.minSessionTimeout = minSessionTimeout
        self.maxSessionTimeout = maxSessionTimeout
        self.maxGroupSize = maxGroupSize
        self.maxOffsetMetadataBytes = maxOffsetMetadataBytes
        self.timerTickInterval = timerTickInterval
    }
}

extension Duration {
    /// The duration in whole milliseconds, rounded toward zero and clamped to `Int64`.
    var groupMilliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        return ms &+ attoseconds / 1_000_000_000_000_000
    }
}
