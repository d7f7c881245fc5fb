// codec-bench: record batch encode + compress and decode + decompress per codec, against the bare
// C library calls on the same text. Prints a Markdown table on stdout, details on stderr.
// Run through Benchmarks/codec-bench.sh, or see `codec-bench --help`.
//
// Throughput is MB/s (10^6 bytes per second) of raw log text: the lines with their `\n`. Our side
// and the bare side process the same text, so a ratio ours/bare is bare time / our time. Rates are
// medians over the timed rounds; a ratio is the median over rounds of that round's ours/bare.
//
// The machine this runs on may be shared, so the contenders are interleaved batch by batch (in
// rotating order) rather than run one after the other: a burst of load then slows all of them.

import CBare
import KafkaProtocol
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct Options {
    var corpus = "Benchmarks/data/corpus.log"
    var repeats = 5
    var warmup = 1
    var batchBytes = 1 << 20
    var smallBatchBytes = 64 << 10
    var codecs: [KafkaCompression] = [.none, .gzip, .snappy, .lz4, .zstd]
    var smallBatchCodecs: [KafkaCompression] = [.lz4]
    var limit: Int? = nil
    /// Decoding reads the encoded batches in fetch responses of at most this many bytes.
    var fetchBytes = 1 << 20
    /// Which half to run (`encode`, `decode`, or both), for profiling one of them.
    var phase = "all"
    /// Time with the thread's CPU clock instead of `ContinuousClock`.
    var cpuTime = false

    static let usage = """
        usage: codec-bench [options]
          --corpus PATH              log text, one line per record (default Benchmarks/data/corpus.log)
          --limit BYTES              use only the first BYTES of the corpus (whole lines)
          --repeats N                timed runs per measurement; the median is reported (default 5)
          --warmup N                 untimed runs first (default 1)
          --batch-bytes N            raw text per batch (default 1048576)
          --small-batch-bytes N      a second, smaller batch size; 0 for none (default 65536)
          --codecs LIST              codecs at --batch-bytes (default none,gzip,snappy,lz4,zstd)
          --small-batch-codecs LIST  codecs at --small-batch-bytes (default lz4)
          --fetch-bytes N            decode from fetch responses of at most N bytes (default 1048576)
          --phase all|encode|decode  time only one half (for profiling)
          --cpu-time                 time with the thread's CPU clock instead of ContinuousClock
        """

    init(arguments: [String]) throws(BenchError) {
        var iterator = arguments.makeIterator()
        func value(_ flag: String) throws(BenchError) -> String {
            guard let value = iterator.next() else { throw BenchError("\(flag) needs a value\n\(Self.usage)") }
            return value
        }
        func int(_ flag: String) throws(BenchError) -> Int {
            let text = try value(flag)
            guard let number = Int(text), number >= 0 else { throw BenchError("\(flag): not a count: \(text)") }
            return number
        }
        func codecList(_ flag: String) throws(BenchError) -> [KafkaCompression] {
            var result: [KafkaCompression] = []
            for name in try value(flag).split(separator: ",") {
                guard let codec = KafkaCompression.allCases.first(where: { "\($0)" == name }) else {
                    throw BenchError("\(flag): unknown codec \(name)")
                }
                result.append(codec)
            }
            return result
        }
        while let flag = iterator.next() {
            switch flag {
            case "--corpus": corpus = try value(flag)
            case "--limit": limit = try int(flag)
            case "--repeats": repeats = max(1, try int(flag))
            case "--warmup": warmup = try int(flag)
            case "--batch-bytes": batchBytes = max(1, try int(flag))
            case "--small-batch-bytes": smallBatchBytes = try int(flag)
            case "--codecs": codecs = try codecList(flag)
            case "--small-batch-codecs": smallBatchCodecs = try codecList(flag)
            case "--fetch-bytes": fetchBytes = max(1, try int(flag))
            case "--phase":
                phase = try value(flag)
                guard ["all", "encode", "decode"].contains(phase) else { throw BenchError("--phase: all, encode or decode") }
            case "--cpu-time": cpuTime = true
            case "-h", "--help":
                print(Self.usage)
                exit(0)
            default: throw BenchError("unknown option \(flag)\n\(Self.usage)")
            }
        }
    }
}

/// Median MB/s of each measurement of one codec at one batch size and record shape.
struct Row {
    var codec: KafkaCompression
    var batchBytes: Int
    var shape: RecordShape
    var oursEncode: Double
    var bareCompress: Double
    /// Median over the timed rounds of ours/bare in that round (both timed under the same load).
    var encodeRatio: Double
    /// How our decode read the records (the `records()` rows repeat no encode figures).
    var decodePath: OursWorkload.DecodePath = .visitor
    var oursDecode: Double
    var bareDecompress: Double
    var decodeRatio: Double
    /// Ours against the bare codec decompressing the encoded records themselves (plain shape and a codec only): the
    /// speed limit of decoding these batches, format overhead included.
    var decodeRatioToRecords: Double = .nan
    /// Encoded size (record batches) and bare compressed size, in bytes.
    var oursBytes: Int
    var bareBytes: Int
}

/// Anything measured feeds this, and it is printed, so no work can be optimised away.
nonisolated(unsafe) var checksum = 0
nonisolated(unsafe) var useThreadCPUTime = false

let clock = ContinuousClock()

func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
}

/// Runs `body` once and returns its duration in seconds; its result feeds `checksum`.
@inline(never)
func time(_ body: () throws -> Int) rethrows -> Double {
    if useThreadCPUTime {
        let start = threadCPUSeconds()
        checksum &+= try body()
        return threadCPUSeconds() - start
    }
    let start = clock.now
    checksum &+= try body()
    let parts = start.duration(to: clock.now).components
    return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
}

/// Runs `warmup + repeats` rounds of `units` units of work for each contender, interleaved unit by
/// unit in rotating order, and returns each contender's MB/s (of `megabytes`) per timed round
/// (the warm-up rounds are not returned).
///
/// - Parameters:
///   - prepare: called before each round, untimed (to clear output buffers).
///   - step: `step(contender, unit)` does one unit of one contender's work and returns a checksum.
func interleaved(
    contenders: Int, units: Int, megabytes: Double, warmup: Int, repeats: Int,
    prepare: () -> Void = {}, step: (Int, Int) throws -> Int
) throws -> [[Double]] {
    var results = Array(repeating: [Double](), count: contenders)
    for round in 0..<(warmup + repeats) {
        prepare()
        var seconds = Array(repeating: 0.0, count: contenders)
        for unit in 0..<units {
            for k in 0..<contenders {
                let contender = (k + unit) % contenders
                seconds[contender] += try time { try step(contender, unit) }
            }
        }
        if round >= warmup {
            for c in 0..<contenders { results[c].append(megabytes / seconds[c]) }
        }
    }
    return results
}

/// The median over rounds of `numerator[round] / denominator[round]`.
func pairedRatio(_ numerator: [Double], _ denominator: [Double]) -> Double {
    median(zip(numerator, denominator).map { $0 / $1 })
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

func format(_ value: Double, decimals: Int = 1) -> String {
    guard value.isFinite else { return "–" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    guard decimals > 0 else { return "\(scaled)" }
    let divisor = Int(scale)
    var fraction = "\(abs(scaled) % divisor)"
    while fraction.count < decimals { fraction = "0" + fraction }
    return "\(scaled < 0 ? "-" : "")\(abs(scaled) / divisor).\(fraction)"
}

func sizeLabel(_ bytes: Int) -> String {
    if bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
    if bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
    return "\(bytes) B"
}

func log(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func measure(codec: KafkaCompression, batchBytes: Int, corpus: Corpus, options: Options) throws -> [Row] {
    let batches = corpus.batches(maxBytes: batchBytes)
    let textBytes = batches.reduce(0) { $0 + $1.textCount }
    let lineBytes = corpus.lineLengths.reduce(0, +)
    let megabytes = Double(textBytes) / 1e6
    let shapes = RecordShape.allCases
    let ours = try shapes.map { try OursWorkload(corpus: corpus, compression: codec, shape: $0) }
    let bare = try BareWorkload(chunks: batches.map { corpus.text(of: $0) }, kafkaCodecID: Int(codec.rawValue))
    // The format ceiling: the bare codec on the bytes our batches really compress (plain records).
    let records = try EncodedRecords(corpus: corpus, batches: batches)
    let bareRecords = codec == .none ? nil : try BareWorkload(chunks: records.chunks, kafkaCodecID: Int(codec.rawValue))
    let contenders = shapes.count + (bareRecords == nil ? 1 : 2)
    let bareName = codec == .none ? "memcpy" : "bare"
    let label = "\(codec) \(sizeLabel(batchBytes))"
    log("== \(label): \(batches.count) batches, \(corpus.lineCount) lines, \(textBytes) bytes of text")

    // Encode + compress. Contenders: ours per shape, then bare on the text, then (for a codec) bare on
    // our encoded records.
    let capacity = textBytes + corpus.lineCount * 96 + batches.count * 256
    var outputs = shapes.map { _ in ByteBufferAllocator().buffer(capacity: capacity) }
    // (With --phase decode, one untimed round makes the batches to decode.)
    let encodeOnce = options.phase == "decode"
    let encodeRates = try interleaved(
        contenders: contenders, units: batches.count, megabytes: megabytes,
        warmup: encodeOnce ? 1 : options.warmup, repeats: encodeOnce ? 0 : options.repeats,
        prepare: { for s in shapes.indices { outputs[s].clear() } }
    ) { contender, unit in
        switch contender - shapes.count {
        case ..<0: return try ours[contender].encode(batches[unit], into: &outputs[contender])
        case 0: return try bare.compress(unit)
        default: return try bareRecords!.compress(unit)
        }
    }

    // Check the results once, untimed; cut our batches into fetch responses.
    let paths = OursWorkload.DecodePath.allCases
    // One decompressor per (path, shape): decoding contender `p * shapes.count + s`.
    let decompressors = paths.flatMap { _ in shapes.map { _ in RecordBatchDecompressor() } }
    let fetches = try outputs.map { try OursWorkload.fetches(of: $0, maxBytes: options.fetchBytes) }
    for p in paths.indices {
        for s in shapes.indices {
            let (records, valueBytes, firstBytes) = try OursWorkload.decode(
                fetches[s][...], decompressor: decompressors[p * shapes.count + s], path: paths[p])
            guard records == corpus.lineCount, valueBytes == lineBytes || paths[p] == .decompressOnly else {
                throw BenchError("\(label) \(shapes[s]) \(paths[p].rawValue): decoded \(records) records, "
                    + "\(valueBytes) value bytes; expected \(corpus.lineCount), \(lineBytes)")
            }
            checksum &+= firstBytes
        }
    }
    for unit in batches.indices {
        checksum &+= try bare.decompress(unit, verify: true)
        checksum &+= try bareRecords?.decompress(unit, verify: true) ?? 0
    }

    // Decode + decompress, in as many units as there are bare chunks: unit `u` of our shape `s`
    // is the fetches [u * n / units, (u + 1) * n / units) of its n fetches. Contenders: ours per
    // (path, shape), then bare on the text, then (for a codec) bare on our encoded records.
    let ourDecoders = paths.count * shapes.count
    let decodeContenders = ourDecoders + (bareRecords == nil ? 1 : 2)
    var decodeRates = Array(repeating: [Double](), count: decodeContenders)
    if options.phase != "encode" {
        let units = batches.count
        decodeRates = try interleaved(
            contenders: decodeContenders, units: units, megabytes: megabytes,
            warmup: options.warmup, repeats: options.repeats
        ) { contender, unit in
            switch contender - ourDecoders {
            case 0: return try bare.decompress(unit)
            case 1: return try bareRecords!.decompress(unit)
            default: break
            }
            let all = fetches[contender % shapes.count]
            let part = all[(unit * all.count / units)..<((unit + 1) * all.count / units)]
            let (records, valueBytes, firstBytes) = try OursWorkload.decode(
                part, decompressor: decompressors[contender], path: paths[contender / shapes.count])
            return records &+ valueBytes &+ firstBytes
        }
    }

    func samples(_ values: [Double]) -> String { values.map { format($0, decimals: 0) }.joined(separator: " ") }
    for s in shapes.indices {
        log("   ours encode (\(shapes[s].rawValue)) MB/s: \(samples(encodeRates[s]))")
        for p in paths.indices {
            log("   ours decode (\(shapes[s].rawValue), \(paths[p].rawValue)) MB/s: "
                + samples(decodeRates[p * shapes.count + s]))
        }
    }
    log("   \(bareName) compress MB/s: \(samples(encodeRates[shapes.count]))")
    log("   \(bareName) decompress MB/s: \(samples(decodeRates[ourDecoders]))")
    if let bareRecords {
        log("   bare compress of the encoded records MB/s (of text): \(samples(encodeRates[shapes.count + 1]))")
        log("   bare decompress of the encoded records MB/s (of text): \(samples(decodeRates[ourDecoders + 1]))")
        ceilings.append(Ceiling(
            codec: codec, batchBytes: batchBytes,
            textCompress: median(encodeRates[shapes.count]), recordsCompress: median(encodeRates[shapes.count + 1]),
            compressRatio: pairedRatio(encodeRates[shapes.count + 1], encodeRates[shapes.count]),
            textDecompress: median(decodeRates[ourDecoders]), recordsDecompress: median(decodeRates[ourDecoders + 1]),
            decompressRatio: pairedRatio(decodeRates[ourDecoders + 1], decodeRates[ourDecoders]),
            textBytes: bare.compressedBytes, recordsBytes: bareRecords.compressedBytes))
    }

    return shapes.indices.flatMap { s in
        paths.indices.map { p in
            Row(
                codec: codec, batchBytes: batchBytes, shape: shapes[s],
                oursEncode: p == 0 ? median(encodeRates[s]) : .nan,
                bareCompress: p == 0 ? median(encodeRates[shapes.count]) : .nan,
                encodeRatio: p == 0 ? pairedRatio(encodeRates[s], encodeRates[shapes.count]) : .nan,
                decodePath: paths[p],
                oursDecode: median(decodeRates[p * shapes.count + s]), bareDecompress: median(decodeRates[ourDecoders]),
                decodeRatio: pairedRatio(decodeRates[p * shapes.count + s], decodeRates[ourDecoders]),
                decodeRatioToRecords: bareRecords != nil && shapes[s] == .plain
                    ? pairedRatio(decodeRates[p * shapes.count + s], decodeRates[ourDecoders + 1]) : .nan,
                oursBytes: outputs[s].readableBytes, bareBytes: bare.compressedBytes)
        }
    }
}

/// The bare codec on the text and on our encoded records (plain), both in MB/s of text.
struct Ceiling {
    var codec: KafkaCompression
    var batchBytes: Int
    var textCompress: Double
    var recordsCompress: Double
    var compressRatio: Double
    var textDecompress: Double
    var recordsDecompress: Double
    var decompressRatio: Double
    var textBytes: Int
    var recordsBytes: Int
}

nonisolated(unsafe) var ceilings: [Ceiling] = []

func printCeilings(textBytes: Int) {
    guard !ceilings.isEmpty else { return }
    print("")
    print("| codec | batch | bare compress: text MB/s | bare compress: encoded records MB/s | records/text "
        + "| bare decompress: text MB/s | bare decompress: encoded records MB/s | records/text "
        + "| compressed size: text / records (% of text) |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for c in ceilings {
        let columns = [
            "\(c.codec)", sizeLabel(c.batchBytes),
            format(c.textCompress), format(c.recordsCompress), percent(c.compressRatio),
            format(c.textDecompress), format(c.recordsDecompress), percent(c.decompressRatio),
            format(100 * Double(c.textBytes) / Double(textBytes)) + "% / "
                + format(100 * Double(c.recordsBytes) / Double(textBytes)) + "%",
        ]
        print("| " + columns.joined(separator: " | ") + " |")
    }
}

func percent(_ ratio: Double) -> String {
    ratio.isFinite ? format(100 * ratio) + "%" : "–"
}

func printTable(_ rows: [Row], textBytes: Int) {
    print("| codec | batch | records | ours encode MB/s | bare compress MB/s | encode ours/bare "
        + "| ours decode path | ours decode MB/s | bare decompress MB/s | decode ours/bare "
        + "| decode ours/bare on our records | size ours / bare (% of text) |")
    print("|---|---|---|--:|--:|--:|---|--:|--:|--:|--:|--:|")
    for row in rows {
        let bareName = row.codec == .none ? " (memcpy)" : ""
        let columns = [
            "\(row.codec)", sizeLabel(row.batchBytes), row.shape.rawValue,
            format(row.oursEncode), row.bareCompress.isFinite ? format(row.bareCompress) + bareName : "–",
            percent(row.encodeRatio), row.decodePath.rawValue,
            format(row.oursDecode), format(row.bareDecompress) + bareName, percent(row.decodeRatio),
            percent(row.decodeRatioToRecords),
            format(100 * Double(row.oursBytes) / Double(textBytes)) + "% / "
                + format(100 * Double(row.bareBytes) / Double(textBytes)) + "%",
        ]
        print("| " + columns.joined(separator: " | ") + " |")
    }
}

do {
    let options = try Options(arguments: Array(CommandLine.arguments.dropFirst()))
    useThreadCPUTime = options.cpuTime
    let corpus = try Corpus(path: options.corpus, limit: options.limit)
    log("corpus \(options.corpus): \(corpus.text.count) bytes, \(corpus.lineCount) lines; repeats \(options.repeats), "
        + "warm-up \(options.warmup); clock: \(options.cpuTime ? "thread CPU time" : "ContinuousClock"); "
        + "CRC-32C in hardware: \(CRC32C.isHardwareAccelerated)")
    var rows: [Row] = []
    for codec in options.codecs {
        rows += try measure(codec: codec, batchBytes: options.batchBytes, corpus: corpus, options: options)
    }
    if options.smallBatchBytes > 0 && options.smallBatchBytes != options.batchBytes {
        for codec in options.smallBatchCodecs {
            rows += try measure(codec: codec, batchBytes: options.smallBatchBytes, corpus: corpus, options: options)
        }
    }
    printTable(rows, textBytes: corpus.text.count)
    printCeilings(textBytes: corpus.text.count)
    log("checksum \(checksum)")
} catch {
    log("codec-bench: \(error)")
    exit(1)
}
