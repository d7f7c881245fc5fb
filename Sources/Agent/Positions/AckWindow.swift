/// The acknowledgement state of one stream: events are numbered in the order they were sent; acks may arrive
/// in any order; `acknowledgedOffset` is the end offset of the longest acknowledged prefix. Sans-IO.
struct AckWindow {
    /// End offset of the last event of the contiguous acknowledged prefix (the position to save).
    private(set) var acknowledgedOffset: UInt64
    /// Sequence number of `ends[head]`.
    private var baseSequence: UInt64 = 0
    private var ends: [UInt64] = []
    private var done: [Bool] = []
    private var head = 0

    init(startOffset: UInt64) { acknowledgedOffset = startOffset }

    /// Events sent and not yet part of the acknowledged prefix.
    var pendingCount: Int { ends.count - head }
    /// The sequence number the next appended event gets.
    var nextSequence: UInt64 { baseSequence + UInt64(ends.count - head) }

    /// Registers a sent event ending at `endOffset`; returns its sequence number.
    mutating func append(endOffset: UInt64) -> UInt64 {
        let sequence = nextSequence
        ends.append(endOffset)
        done.append(false)
        return sequence
    }

    /// Marks `sequence` acknowledged. Returns false for a sequence already acknowledged or never sent.
    mutating func acknowledge(_ sequence: UInt64) -> Bool {
        guard sequence >= baseSequence, sequence < nextSequence else { return false }
        let index = head + Int(sequence - baseSequence)
        guard !done[index] else { return false }
        done[index] = true
        while head < ends.count, done[head] {
            acknowledgedOffset = ends[head]
            head += 1
            baseSequence += 1
        }
        if head > 256, head * 2 > ends.count {
            ends.removeFirst(head)
            done.removeFirst(head)
            head = 0
        }
        return true
    }
}
