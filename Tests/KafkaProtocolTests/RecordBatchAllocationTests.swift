#if canImport(Glibc)
import Glibc
import KafkaProtocol
import NIOCore
import Testing

/// Counts heap allocations on the hot paths. Needs a malloc counter preloaded into the test
/// process that exports `long tributary_malloc_count(void)`; without it the suite is skipped.
/// Such a counter (`malloc_count.c`; calloc, realloc and posix_memalign the same way as malloc,
/// with calloc serving dlsym's own early calloc from a static array):
///
///     #define _GNU_SOURCE
///     #include <dlfcn.h>
///     #include <stdatomic.h>
///     static _Atomic long count;
///     long tributary_malloc_count(void) { return atomic_load(&count); }
///     void *malloc(size_t n) {
///         static void *(*real)(size_t);
///         if (!real) real = dlsym(RTLD_NEXT, "malloc");
///         atomic_fetch_add(&count, 1);
///         return real(n);
///     }
///
///     clang -O2 -shared -fPIC malloc_count.c -o /tmp/libmalloc_count.so -ldl
///     LD_PRELOAD=/tmp/libmalloc_count.so swift test --skip-build --filter RecordBatchAllocation
///
/// Allocation counts are deterministic, unlike timings; `Benchmarks/` should pin them too.
@Suite("Record batch allocations", .serialized, .enabled(if: MallocCounter.isAvailable, "needs LD_PRELOAD of a malloc counter"))
struct RecordBatchAllocationTests {
    @Test("append allocates nothing per record", arguments: [KafkaCompression.none, .lz4, .zstd])
    func appendAllocatesNothing(compression: KafkaCompression) throws {
        let lines = (0..<64).map { Array("2026-11-25T12:00:00Z web-1 sshd[\($0)]: Accepted publickey for user from 10.0.0.\($0)".utf8) }
        let key = Array("web-1".utf8)
        var origin = [UInt8](repeating: 0x30, count: 24)
        var fixed = EncodedRecordHeaders()
        fixed.append(key: "host", value: "web-1")
        fixed.append(key: "source", value: "/var/log/auth.log")
        var headers = EncodedRecordHeaders()
        let builder = try RecordBatchBuilder(compression: compression)
        var output = ByteBufferAllocator().buffer(capacity: 4 << 20)

        func appendRecords(_ count: Int) {
            for index in 0..<count {
                headers.removeAll()
                headers.append(contentsOf: fixed)
                origin[index % 24] &+= 1
                origin.withUnsafeBytes { headers.append(key: "origin", value: $0) }
                key.withUnsafeBytes { key in
                    lines[index % lines.count].withUnsafeBytes { line in
                        builder.append(timestamp: 1_700_000_000_000 + Int64(index), key: key, value: line, headers: headers)
                    }
                }
            }
        }
        // Warm up: grow the scratch buffers to a batch's size once.
        appendRecords(5_000)
        try builder.finish(into: &output)
        output.clear()

        let before = MallocCounter.count()
        appendRecords(5_000)
        let afterAppend = MallocCounter.count()
        try builder.finish(into: &output)
        let afterFinish = MallocCounter.count()
        #expect(afterAppend - before == 0, "\(compression): \(afterAppend - before) allocations for 5,000 appends")
        #expect(afterFinish - afterAppend <= 4, "\(compression): finish allocated \(afterFinish - afterAppend) times")

        // Decoding: iterating records and their headers allocates nothing either.
        let batch = try RecordBatch(bytes: output)
        let decompressor = RecordBatchDecompressor()
        let records = try batch.records(decompressor: decompressor)
        func iterate() -> (valueBytes: Int, origins: Int) {
            var valueBytes = 0
            var origins = 0
            for record in records {
                valueBytes += record.value?.readableBytes ?? 0
                if record.headers.first(named: "origin") != nil { origins += 1 }
            }
            return (valueBytes, origins)
        }
        _ = iterate()  // the first run may instantiate runtime metadata once
        let beforeIteration = MallocCounter.count()
        let (valueBytes, origins) = iterate()
        #expect(MallocCounter.count() - beforeIteration == 0, "\(compression): iterating 5,000 records allocated")
        #expect(origins == 5_000 && valueBytes > 0)

        // The visitor: nothing per record, and nothing per batch once the decompressor is warm.
        // (Totals through a pointer and no `#expect` inside the measured loop: nothing there may allocate.)
        let totals = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        defer { totals.deallocate() }
        func visit() throws -> (valueBytes: Int, origins: Int) {
            totals.initialize(repeating: 0, count: 2)
            _ = try batch.forEachRecord(decompressor: decompressor) { record in
                totals[0] += record.value?.count ?? 0
                if record.headers.first(named: "origin") != nil { totals[1] += 1 }
                return true
            }
            return (totals[0], totals[1])
        }
        _ = try visit()
        let beforeVisit = MallocCounter.count()
        var allVisitsAgree = true
        for _ in 0..<3 {
            let visited = try visit()
            allVisitsAgree = allVisitsAgree && visited.valueBytes == valueBytes && visited.origins == 5_000
        }
        let visitAllocations = MallocCounter.count() - beforeVisit
        #expect(visitAllocations == 0, "\(compression): visiting a batch 3 times allocated")
        #expect(allVisitsAgree)
    }
}

enum MallocCounter {
    private typealias CountFunction = @convention(c) () -> Int
    private static let function: CountFunction? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "tributary_malloc_count") else { return nil }
        return unsafeBitCast(symbol, to: CountFunction.self)
    }()

    static var isAvailable: Bool { function != nil }
    static func count() -> Int { function?() ?? 0 }
}
#endif
