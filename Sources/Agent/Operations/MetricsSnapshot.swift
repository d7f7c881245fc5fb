/// Counters of one input since it was built (they restart at 0 when a reload rebuilds the input;
/// `AgentMetrics` adds the totals of earlier generations so exported counters never go down).
public struct InputCounters: Sendable, Equatable {
    /// Lines (events) read and handed to the shipper.
    public var linesRead = 0
    /// Bytes read from the source (file bytes, terminators included).
    public var bytesRead = 0
    /// Lines the brokers acknowledged.
    public var linesAcknowledged = 0
    /// Source bytes the acknowledged lines cover (terminators included).
    public var bytesAcknowledged = 0
    /// Pieces of lines longer than `max_line_bytes` (each shipped, marked truncated).
    public var truncatedPieces = 0
    /// Errors logged by the input (unreadable files, positions that cannot be saved, …).
    public var errors = 0
    /// Lines dropped, by reason. Empty for inputs that never drop anything (file inputs).
    public var dropped: [String: Int] = [:]
    /// Journald inputs: times the saved cursor could not be used and reading restarted at the oldest entry.
    public var journalGaps = 0

    public init() {}

    /// The sum of two generations' counters.
    public static func + (left: InputCounters, right: InputCounters) -> InputCounters {
        var sum = left
        sum.linesRead += right.linesRead
        sum.bytesRead += right.bytesRead
        sum.linesAcknowledged += right.linesAcknowledged
        sum.bytesAcknowledged += right.bytesAcknowledged
        sum.truncatedPieces += right.truncatedPieces
        sum.errors += right.errors
        sum.dropped.merge(right.dropped, uniquingKeysWith: +)
        sum.journalGaps += right.journalGaps
        return sum
    }
}

/// Labels naming one input in the metrics: its index in the config, name, type and topic.
public struct InputLabels: Sendable, Hashable, Comparable {
    public var index: Int
    public var name: String
    /// `file`, `journald`, …
    public var type: String
    public var topic: String

    public init(index: Int, name: String, type: String, topic: String) {
        self.index = index
        self.name = name
        self.type = type
        self.topic = topic
    }

    public static func < (left: InputLabels, right: InputLabels) -> Bool {
        (left.index, left.name, left.type, left.topic) < (right.index, right.name, right.type, right.topic)
    }
}

/// How far acknowledgement is behind one file: its size minus the acknowledged offset of the stream it holds.
public struct FileLag: Sendable, Equatable {
    public var path: String
    public var lagBytes: UInt64

    public init(path: String, lagBytes: UInt64) {
        self.path = path
        self.lagBytes = lagBytes
    }
}

/// What one input reports to the metrics: any input type fills this in from its own statistics.
public struct InputMetricsSnapshot: Sendable {
    public var labels: InputLabels
    public var counters: InputCounters
    /// Value bytes handed to the shipper and not yet acknowledged (what the in-flight budget counts).
    public var inFlightBytes: Int
    /// Files open right now (0 for inputs without files).
    public var openFiles: Int
    /// Lag per file (empty for inputs without files).
    public var files: [FileLag]

    public init(labels: InputLabels, counters: InputCounters, inFlightBytes: Int, openFiles: Int, files: [FileLag]) {
        self.labels = labels
        self.counters = counters
        self.inFlightBytes = inFlightBytes
        self.openFiles = openFiles
        self.files = files
    }
}

/// The shipper's counters since it was built.
public struct ShipperCounters: Sendable, Equatable {
    /// Record batches the brokers acknowledged.
    public var batchesAcknowledged = 0
    /// Records sent again after a failed delivery.
    public var recordsRetried = 0
    /// Batches whose delivery failed, by outcome: `retried` (passing failure) or `fatal`.
    public var deliveryErrors: [String: Int] = [:]
    /// When the brokers last acknowledged a batch, milliseconds since the Unix epoch (0: never). Not a counter:
    /// generations combine by the later time.
    public var lastAcknowledgementMilliseconds: Int64 = 0

    public init() {}

    public static func + (left: ShipperCounters, right: ShipperCounters) -> ShipperCounters {
        var sum = left
        sum.batchesAcknowledged += right.batchesAcknowledged
        sum.recordsRetried += right.recordsRetried
        sum.deliveryErrors.merge(right.deliveryErrors, uniquingKeysWith: +)
        sum.lastAcknowledgementMilliseconds = max(left.lastAcknowledgementMilliseconds, right.lastAcknowledgementMilliseconds)
        return sum
    }
}

/// What the shipper reports to the metrics.
public struct ShipperMetricsSnapshot: Sendable {
    public var counters: ShipperCounters
    /// Value bytes handed to the producer and not yet acknowledged.
    public var inFlightBytes: Int
    /// Why shipping stopped for good, if it did.
    public var fatalError: String?

    public init(counters: ShipperCounters = ShipperCounters(), inFlightBytes: Int = 0, fatalError: String? = nil) {
        self.counters = counters
        self.inFlightBytes = inFlightBytes
        self.fatalError = fatalError
    }
}
