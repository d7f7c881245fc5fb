import SystemdJournal

/// How far the acknowledged entries of a journald input reach, as a journal cursor to save. Sans-IO.
///
/// Entries are numbered (ordinals) in the order they were sent; acknowledgements may arrive in any order and
/// the position advances over the contiguous acknowledged prefix (`AckWindow`). "Caught up" markers (the newest
/// journal entry once every matching entry before it was sent) sit between the entries sent before and after
/// them, so the saved cursor moves past entries the matches filter out once everything before is acknowledged.
struct JournalAckTracker {
    private var acks = AckWindow(startOffset: 0)
    /// Batches whose entries may still be needed for their cursor, oldest first, with their first ordinal.
    private var batches: [(first: UInt64, shared: SharedJournalBatch)] = []
    /// Caught-up markers not yet reached by the acknowledged prefix: sent entries before them, and a cursor.
    private var markers: [(ordinal: UInt64, cursor: String)] = []
    /// The furthest position reached: entry `i` is at `2 * (i + 1)`, a marker after `k` entries at `2 * k + 1`.
    private var reached: (position: UInt64, cursor: String)?
    /// Entries sent so far.
    private(set) var sentCount: UInt64 = 0

    /// Entries sent and not yet part of the acknowledged prefix.
    var pendingCount: Int { acks.pendingCount }

    /// Registers the batch whose entries are sent next (before `send()` is called for them).
    mutating func add(_ shared: SharedJournalBatch) {
        batches.append((sentCount, shared))
    }

    /// Registers the next entry (of the last added batch), or one piece of it, as sent; returns the acknowledgement
    /// sequence number of what was sent. An entry sent in pieces counts as sent (its cursor can be reached) with
    /// the piece that completes it, and as acknowledged once all its pieces are.
    mutating func send(completingEntry: Bool = true) -> UInt64 {
        if completingEntry { sentCount += 1 }
        return acks.append(endOffset: sentCount)
    }

    /// Every matching entry up to `cursor` was sent (the reader's `.caughtUp`).
    mutating func caughtUp(at cursor: String) {
        markers.append((sentCount, cursor))
    }

    /// Marks `sequence` acknowledged; false for one already acknowledged or never sent.
    mutating func acknowledge(_ sequence: UInt64) -> Bool {
        acks.acknowledge(sequence)
    }

    /// The cursor after which nothing unacknowledged remains (`nil` while nothing was reached since start);
    /// forgets what it no longer needs.
    mutating func resumeCursor() -> String? {
        let acked = acks.acknowledgedOffset
        if acked > 0, 2 * acked > (reached?.position ?? 0), let cursor = cursor(ofEntry: acked - 1) {
            reached = (2 * acked, cursor)
        }
        var reachedMarkers = 0
        for marker in markers {
            guard marker.ordinal <= acked else { break }
            reachedMarkers += 1
            if 2 * marker.ordinal + 1 > (reached?.position ?? 0) { reached = (2 * marker.ordinal + 1, marker.cursor) }
        }
        markers.removeFirst(reachedMarkers)
        let done = batches.prefix { $0.first + UInt64($0.shared.batch.count) <= acked }.count
        batches.removeFirst(done)
        return reached?.cursor
    }

    private func cursor(ofEntry ordinal: UInt64) -> String? {
        for (first, shared) in batches.reversed() where first <= ordinal {
            let index = Int(ordinal - first)
            return index < shared.batch.count ? shared.batch[index].cursorString : nil
        }
        return nil
    }
}
