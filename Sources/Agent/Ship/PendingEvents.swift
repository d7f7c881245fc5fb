/// The acknowledgement tokens of the events handed to the producer and not yet acknowledged, indexed by the
/// producer token each was sent with. Tokens are handed out in increasing order, so they sit in an array at
/// `token - firstToken`; acknowledgements may come out of order (across partitions), so each slot is emptied on
/// its own and the front advances over empty slots. Only the small `AckToken` is kept: the record's bytes are in
/// the producer's batch once handed over (no read buffer stays pinned).
struct PendingEvents {
    /// Slots from `head` on hold tokens `firstToken`, `firstToken + 1`, ...; nil once acknowledged or retried.
    private var slots: [AckToken?] = []
    private var head = 0
    private var firstToken: UInt64
    /// Events still held.
    private(set) var count = 0
    /// Slots whose storage is kept when the ring empties.
    private static let keptCapacity = 1024

    /// An empty ring whose first token will be `firstToken`.
    init(firstToken: UInt64) { self.firstToken = firstToken }

    var isEmpty: Bool { count == 0 }

    /// The token the next `append` returns.
    var nextToken: UInt64 { firstToken + UInt64(slots.count - head) }

    /// Holds `event` under the next token and returns that token.
    mutating func append(_ event: AckToken) -> UInt64 {
        let token = nextToken
        slots.append(event)
        count += 1
        return token
    }

    /// Removes and returns the event sent with `token`, or nil when it is not held (already acknowledged,
    /// retried, or never handed out).
    mutating func remove(token: UInt64) -> AckToken? {
        guard token >= firstToken else { return nil }
        let distance = token - firstToken
        guard distance < UInt64(slots.count - head) else { return nil }
        let index = head + Int(distance)
        guard let event = slots[index] else { return nil }
        slots[index] = nil
        count -= 1
        advanceFront()
        return event
    }

    private mutating func advanceFront() {
        while head < slots.count, slots[head] == nil {
            head += 1
            firstToken += 1
        }
        if head == slots.count {
            // Everything acknowledged: keep a small array's storage, free a burst's (it stays resident otherwise).
            slots.removeAll(keepingCapacity: slots.capacity <= Self.keptCapacity)
            head = 0
        } else if head >= 4096, head * 2 >= slots.count {
            slots.removeFirst(head)
            head = 0
        }
    }
}
