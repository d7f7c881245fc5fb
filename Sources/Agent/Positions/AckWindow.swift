/// The acknowledgement state of one stream: events are numbered in the order they were sent; acks may arrive
/// in any order; `acknowledgedOffset` is the end offset of the longest acknowledged prefix. Sans-IO.
///
/// One array entry per event not yet in the prefix (its end offset, the top bit set once acknowledged); emptied
/// whenever every event is acknowledged, so an idle stream keeps no more than the few entries a tailed file has
/// in flight (1,000 tailed files each kept the entries of every line since start otherwise).
struct AckWindow {
    /// End offset of the last event of the contiguous acknowledged prefix (the position to save).
    private(set) var acknowledgedOffset: UInt64
    /// Sequence number of `entries[head]`.
    private var baseSequence: UInt64 = 0
    /// End offsets (file offsets are below 2^63, so the top bit is free for "acknowledged").
    private var entries: [UInt64] = []
    private var head = 0
    private static let acknowledgedBit: UInt64 = 1 << 63
    /// Capacity kept when the window empties; a larger burst's array is freed.
    private static let keptCapacity = 64

    init(startOffset: UInt64) { acknowledgedOffset = startOffset }

    /// Events sent and not yet part of the acknowledged prefix.
    var pendingCount: Int { entries.count - head }
    /// The sequence number the next appended event gets.
    var nextSequence: UInt64 { baseSequence + UInt64(entries.count - head) }

    /// Registers a sent event ending at `endOffset`; returns its sequence number.
    mutating func append(endOffset: UInt64) -> UInt64 {
        let sequence = nextSequence
        entries.append(endOffset & ~Self.acknowledgedBit)
        return sequence
    }

    /// Marks `sequence` acknowledged. Returns false for a sequence already acknowledged or never sent.
    mutating func acknowledge(_ sequence: UInt64) -> Bool {
        guard sequence >= baseSequence, sequence < nextSequence else { return false }
        let index = head + Int(sequence - baseSequence)
        guard entries[index] & Self.acknowledgedBit == 0 else { return false }
        entries[index] |= Self.acknowledgedBit
        while head < entries.count, entries[head] & Self.acknowledgedBit != 0 {
            acknowledgedOffset = entries[head] & ~Self.acknowledgedBit
            head += 1
            baseSequence += 1
        }
        if head == entries.count {
            entries.removeAll(keepingCapacity: entries.capacity <= Self.keptCapacity)
            head = 0
        } else if head > 256, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return true
    }
}
