/// Chooses partitions for keyless records the way Java's `BuiltInPartitioner` does: every record
/// goes to one "sticky" partition until that partition's batch is closed (full, or sent after
/// linger), then a different partition is picked at random. Batches fill faster than with
/// round-robin, so there are fewer, larger requests.
struct StickyPartitioner {
    /// The current sticky partition, -1 before the first keyless record.
    private(set) var current: Int32 = -1

    /// The partition for the next keyless record.
    mutating func partition(partitionCount: Int32, using generator: inout some RandomNumberGenerator) -> Int32 {
        if current < 0 || current >= partitionCount {
            current = Int32.random(in: 0..<partitionCount, using: &generator)
        }
        return current
    }

    /// Called when the batch of `partition` was closed: moves on if it was the sticky one.
    mutating func batchClosed(partition: Int32, partitionCount: Int32, using generator: inout some RandomNumberGenerator) {
        guard partition == current else { return }
        if partitionCount <= 1 {
            current = 0
            return
        }
        // A different partition, uniformly among the others.
        let offset = Int32.random(in: 1..<partitionCount, using: &generator)
        current = (current + offset) % partitionCount
    }
}
