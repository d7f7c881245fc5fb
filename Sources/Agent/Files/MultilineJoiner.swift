import NIOCore

/// Joins lines into events: a line matching the start pattern begins an event, following lines are appended
/// with `\n`. An event is emitted when the next one starts, when adding a line would pass `maxBytes` (both
/// parts are then marked truncated, nothing is dropped), or by `flushIfDue` after `flushTimeout` without
/// a new line. Sans-IO. Single-line events stay slices; only joined events are copied.
struct MultilineJoiner {
    let pattern: LinePattern
    let maxBytes: Int
    let flushTimeout: Duration
    private var current: SplitLine?
    private var copied = false
    private var lastAdded: ContinuousClock.Instant?

    init(pattern: LinePattern, maxBytes: Int, flushTimeout: Duration) {
        self.pattern = pattern
        self.maxBytes = maxBytes
        self.flushTimeout = flushTimeout
    }

    var isEmpty: Bool { current == nil }

    mutating func add(_ line: SplitLine, now: ContinuousClock.Instant, emit: (SplitLine) -> Void) {
        defer { lastAdded = now }
        guard var event = current else {
            start(line)
            return
        }
        let startsEvent = line.value.withUnsafeReadableBytes { pattern.matches($0) }
        if startsEvent {
            flush(emit: emit)
            start(line)
            return
        }
        if event.value.readableBytes + 1 + line.value.readableBytes > maxBytes {
            event.truncated = true
            current = event
            flush(emit: emit)
            var rest = line
            rest.truncated = true
            start(rest)
            return
        }
        if !copied {
            var joined = ByteBufferAllocator().buffer(capacity: event.value.readableBytes + 1 + line.value.readableBytes)
            joined.writeImmutableBuffer(event.value)
            event.value = joined
            copied = true
        }
        event.value.writeInteger(UInt8(ascii: "\n"))
        event.value.writeImmutableBuffer(line.value)
        event.endOffset = line.endOffset
        event.truncated = event.truncated || line.truncated
        current = event
    }

    /// Emits the current event if no line came for `flushTimeout`.
    mutating func flushIfDue(now: ContinuousClock.Instant, emit: (SplitLine) -> Void) {
        guard current != nil, let lastAdded, now - lastAdded >= flushTimeout else { return }
        flush(emit: emit)
    }

    /// Emits the current event, if any.
    mutating func flush(emit: (SplitLine) -> Void) {
        guard let event = current else { return }
        current = nil
        copied = false
        emit(event)
    }

    private mutating func start(_ line: SplitLine) {
        current = line
        copied = false
    }
}
