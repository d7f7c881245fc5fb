@testable import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

@Suite("Storage: randomized model")
struct StorageModelTests {
    @Test("random appends, reads, reopens (clean or crashed) and retention agree with a model")
    func randomized() async throws {
        let seed = SplitMix64.testSeed()
        print("StorageModelTests.randomized seed \(seed) (replay with TRIBUTARY_TEST_SEED=\(seed))")
        var random = SplitMix64(seed: seed)
        let fixture = try StorageFixture(indexIntervalBytes: 128, scanChunkBytes: 256)
        var manager: LogManager? = try fixture.open()
        try manager!.createTopic(
            name: "m", partitions: 1, configs: ["segment.bytes": "1500", "retention.bytes": "5000"])
        var log = try #require(manager!.partition(topic: "m", index: 0))
        /// Value of each offset from 0; entries below the log start offset are kept but unused.
        var model: [String] = []
        var durableCount = 0
        let codecs: [KafkaCompression] = [.none, .none, .lz4, .zstd, .gzip, .snappy]

        for step in 0..<200 {
            switch random.next() % 12 {
            case 0..<6:
                let count = Int(random.next() % 6) + 1
                let codec = codecs[Int(random.next() % UInt64(codecs.count))]
                let batch = try TestBatches.make(
                    count: count, prefix: "s\(step)", timestamp: Int64(step) * 10, compression: codec,
                    valueSize: Int(random.next() % 80))
                let result = try log.append(batch, now: Int64(step))
                #expect(result.baseOffset == Int64(model.count), "seed \(seed) step \(step)")
                model += (0..<count).map { "s\(step)-\($0)" }
                if random.next() % 5 != 0 {
                    try await log.waitDurable(through: result.lastOffset)
                    durableCount = model.count
                }
            case 6..<9:
                let start = log.logStartOffset, end = log.highWatermark
                guard end > start else { continue }
                let offset = start + Int64(random.next() % UInt64(end - start))
                let read = try log.read(from: offset, maxBytes: Int(random.next() % 2000))
                let records = try TestBatches.records(read.records)
                #expect(!records.isEmpty, "seed \(seed) step \(step): nothing at \(offset)")
                #expect(records.first.map { $0.offset <= offset } ?? false)
                for record in records {
                    #expect(record.offset < end && record.value.hasPrefix(model[Int(record.offset)]) == true,
                            "seed \(seed) step \(step): offset \(record.offset)")
                }
            case 9, 10:
                let clean = random.next() % 2 == 0
                if clean { try manager!.close() }
                manager = nil
                manager = try fixture.open()
                log = try #require(manager!.partition(topic: "m", index: 0))
                let end = Int(log.logEndOffset)
                // Unsynced writes may or may not survive a crash; fsync'd ones always do.
                #expect(end >= durableCount && end <= model.count, "seed \(seed) step \(step)")
                model.removeLast(model.count - end)
                durableCount = end
                #expect(log.highWatermark == Int64(end))
            default:
                let before = log.logStartOffset
                try log.enforceRetention(now: Int64(step))
                #expect(log.logStartOffset >= before)
                #expect(log.sizeInBytes - (log.segmentSizes.first ?? 0) < 5000 || log.segmentCount == 1)
            }
        }
        // Everything from the log start offset to the high watermark reads back in order.
        let all = try log.readAll(from: log.logStartOffset, maxBytes: 700)
        #expect(all.map(\.offset) == Array(log.logStartOffset..<log.highWatermark))
        #expect(all.map { String($0.value.prefix(while: { $0 != "x" })) }
                == model[Int(log.logStartOffset)..<Int(log.highWatermark)].map { $0 })
        try manager?.close()
    }
}
