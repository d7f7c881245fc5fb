@testable import Agent
import NIOCore
import Testing
import TributaryTestSupport

/// The sans-IO pieces: line splitter, acknowledgement window, multiline joiner.
@Suite("Line cutting")
struct LineCuttingTests {
    /// Feeds `bytes` to a splitter in random chunks, then flushes; returns the lines.
    static func split(_ bytes: [UInt8], maxLineBytes: Int, rng: inout SplitMix64) -> [SplitLine] {
        var splitter = LineSplitter(maxLineBytes: maxLineBytes, startOffset: 0)
        var lines: [SplitLine] = []
        var position = 0
        while position < bytes.count {
            let count = min(bytes.count - position, 1 + Int(rng.next() % 50))
            var buffer = splitter.makeReadBuffer(allocator: ByteBufferAllocator(), chunkSize: count)
            buffer.writeBytes(bytes[position..<position + count])
            position += count
            splitter.consume(buffer) { lines.append($0) }
            #expect(splitter.pending.readableBytes <= maxLineBytes + 1, "never holds more than a line (and a \\r)")
        }
        splitter.flushPartial { lines.append($0) }
        return lines
    }

    static func text(_ line: SplitLine) -> String { String(decoding: line.value.readableBytesView, as: UTF8.self) }

    @Test func randomChunkingCutsLikeAReferenceSplit() {
        let seed = SplitMix64.testSeed()
        var rng = SplitMix64(seed: seed)
        for _ in 0..<200 {
            // Any bytes, with newlines and carriage returns sprinkled in, including invalid UTF-8.
            let bytes = (0..<Int(rng.next() % 400)).map { _ -> UInt8 in
                switch rng.next() % 10 {
                case 0: 0x0A
                case 1: 0x0D
                default: UInt8(truncatingIfNeeded: rng.next())
                }
            }
            let maximum = 8 + Int(rng.next() % 40)
            let lines = Self.split(bytes, maxLineBytes: maximum, rng: &rng)
            // Reference: split at \n, strip one \r before it, cut pieces of `maximum`.
            var expected: [[UInt8]] = []
            var rest = bytes[...]
            while !rest.isEmpty {
                let newline = rest.firstIndex(of: 0x0A)
                var content = rest[..<(newline ?? rest.endIndex)]
                if newline != nil, content.last == 0x0D { content = content.dropLast() }
                var piece = content
                while piece.count > maximum {
                    expected.append(Array(piece.prefix(maximum)))
                    piece = piece.dropFirst(maximum)
                }
                expected.append(Array(piece))
                rest = newline.map { rest[($0 + 1)...] } ?? []
            }
            #expect(lines.map { Array($0.value.readableBytesView) } == expected, "seed \(seed)")
            // Offsets chain through the whole input.
            var offset: UInt64 = 0
            for line in lines {
                #expect(line.offset == offset, "seed \(seed)")
                offset = line.endOffset
            }
            #expect(offset == UInt64(bytes.count), "seed \(seed)")
        }
    }

    @Test func longLinesAreCutIntoTruncatedPieces() {
        var rng = SplitMix64(seed: 1)
        let line = [UInt8](repeating: UInt8(ascii: "a"), count: 25)
        let lines = Self.split(line + [0x0A] + Array("short\r\n".utf8), maxLineBytes: 10, rng: &rng)
        #expect(lines.map(\.value.readableBytes) == [10, 10, 5, 5])
        #expect(lines.map(\.truncated) == [true, true, true, false])
        #expect(lines.map(\.offset) == [0, 10, 20, 26])
        #expect(lines.last?.endOffset == 33)
    }

    @Test func linesAreSlicesOfTheReadBuffer() {
        var splitter = LineSplitter(maxLineBytes: 100, startOffset: 0)
        var buffer = splitter.makeReadBuffer(allocator: ByteBufferAllocator(), chunkSize: 64)
        buffer.writeString("one\ntwo\nthree\n")
        var lines: [SplitLine] = []
        splitter.consume(buffer) { lines.append($0) }
        let base = buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let addresses = lines.map { line in line.value.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } }
        #expect(addresses == [base, base + 4, base + 8], "no copies")
    }

    /// Whether `buffer`'s storage is referenced by no other buffer: writing to a uniquely held buffer keeps its
    /// bytes where they are, a shared one is copied first (copy on write).
    static func holdsItsStorageAlone(_ buffer: inout ByteBuffer) -> Bool {
        let before = buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        buffer.setInteger(buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) ?? 0, at: buffer.readerIndex)
        return before == buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
    }

    /// An idle stream must not pin its last read buffer once the lines cut from it are gone (1,000 streams read
    /// once at start kept ~4 MB): nothing held when the buffer ends with a newline, a copy of a short partial line.
    @Test func theSplitterKeepsNoReferenceToAReadBufferItsLinesNoLongerNeed() {
        for (text, held) in [("one\ntwo\n", ""), ("one\ntwo\npart", "part"), ("one\r\n", "")] {
            var splitter = LineSplitter(maxLineBytes: 100, startOffset: 0)
            var buffer = splitter.makeReadBuffer(allocator: ByteBufferAllocator(), chunkSize: 256)
            buffer.writeString(text)
            var count = 0
            splitter.consume(buffer) { _ in count += 1 }
            #expect(count == text.utf8.filter { $0 == UInt8(ascii: "\n") }.count)
            #expect(String(buffer: splitter.pending) == held)
            let alone = Self.holdsItsStorageAlone(&buffer)
            #expect(alone, "the splitter still references the read buffer after \(text.debugDescription)")
        }
        // A partial line filling most of the buffer stays a slice (no copy of a long line on every read).
        var splitter = LineSplitter(maxLineBytes: 1000, startOffset: 0)
        var buffer = splitter.makeReadBuffer(allocator: ByteBufferAllocator(), chunkSize: 64)
        buffer.writeString("a\n" + String(repeating: "b", count: buffer.capacity - 2))
        splitter.consume(buffer) { _ in }
        #expect(splitter.pending.readableBytes == buffer.capacity - 2)
        let alone = Self.holdsItsStorageAlone(&buffer)
        #expect(!alone, "a long partial line stays a slice of the read buffer")
    }

    @Test func acknowledgementsAdvanceOnlyOverTheContiguousPrefix() {
        var window = AckWindow(startOffset: 100)
        let sequences = (1...5).map { window.append(endOffset: 100 + UInt64($0) * 10) }
        var accepted: [Bool] = []
        var offsets: [UInt64] = []
        // Out of order, with a duplicate and an unknown sequence.
        for sequence in [sequences[2], sequences[1], sequences[0], sequences[0], 99, sequences[4], sequences[3]] {
            accepted.append(window.acknowledge(sequence))
            offsets.append(window.acknowledgedOffset)
        }
        #expect(accepted == [true, true, true, false, false, true, true])
        #expect(offsets == [100, 100, 130, 130, 130, 130, 150])
        #expect(window.pendingCount == 0)
    }

    /// Bursts of events acknowledged in random order, the window emptying and refilling in between (and past
    /// the compaction point): offsets and sequence numbers behave as an unbounded list would.
    @Test func acknowledgementWindowMatchesAReferenceAcrossEmptyingAndCompaction() {
        let seed = SplitMix64.testSeed()
        var rng = SplitMix64(seed: seed)
        var window = AckWindow(startOffset: 0)
        var ends: [UInt64] = []  // reference: every event's end offset, by sequence
        var acknowledged: [Bool] = []
        var offset: UInt64 = 0
        for _ in 0..<60 {
            let burst = 1 + Int(rng.next() % (rng.next() % 4 == 0 ? 700 : 5))
            var sent: [UInt64] = []
            for _ in 0..<burst {
                offset += 1 + rng.next() % 200
                let sequence = window.append(endOffset: offset)
                #expect(sequence == UInt64(ends.count), "seed \(seed)")
                ends.append(offset)
                acknowledged.append(false)
                sent.append(sequence)
            }
            // Acknowledge all but a few of this burst, in random order (with a repeat that must be refused).
            let keep = rng.next() % 3 == 0 ? Int(rng.next() % UInt64(burst)) : 0
            for index in stride(from: sent.count - 1, to: 0, by: -1) { sent.swapAt(index, Int(rng.next() % UInt64(index + 1))) }
            for sequence in sent.dropLast(keep) {
                let first = window.acknowledge(sequence)
                let again = window.acknowledge(sequence)
                #expect(first && !again, "seed \(seed)")
                acknowledged[Int(sequence)] = true
            }
            let prefix = acknowledged.firstIndex(of: false) ?? acknowledged.count
            #expect(window.acknowledgedOffset == (prefix == 0 ? 0 : ends[prefix - 1]), "seed \(seed)")
            #expect(window.pendingCount == ends.count - prefix, "seed \(seed)")
            // Sometimes acknowledge everything left, emptying the window.
            if rng.next() % 2 == 0 {
                for sequence in acknowledged.indices where !acknowledged[sequence] {
                    let accepted = window.acknowledge(UInt64(sequence))
                    #expect(accepted, "seed \(seed)")
                    acknowledged[sequence] = true
                }
                #expect(window.pendingCount == 0 && window.acknowledgedOffset == offset, "seed \(seed)")
            }
        }
    }

    @Test func multilineJoinsContinuationLinesAndFlushesAfterTheTimeout() throws {
        let pattern = try LinePattern(#"^\d{4}-\d{2}-\d{2} "#)
        var joiner = MultilineJoiner(pattern: pattern, maxBytes: 1000, flushTimeout: .milliseconds(100))
        var offset: UInt64 = 0
        var events: [SplitLine] = []
        let start = ContinuousClock.now
        for text in ["2024-01-01 boom", "  at a()", "  at b()", "2024-01-01 next"] {
            var value = ByteBuffer()
            value.writeString(text)
            let line = SplitLine(value: value, offset: offset, endOffset: offset + UInt64(text.utf8.count + 1), truncated: false)
            offset = line.endOffset
            joiner.add(line, now: start) { events.append($0) }
        }
        #expect(events.map { Self.text($0) } == ["2024-01-01 boom\n  at a()\n  at b()"])
        #expect(events.first?.offset == 0)
        #expect(events.first?.endOffset == 34)
        joiner.flushIfDue(now: start + .milliseconds(50)) { events.append($0) }
        #expect(events.count == 1, "not due yet")
        joiner.flushIfDue(now: start + .milliseconds(100)) { events.append($0) }
        #expect(events.map { Self.text($0) }.last == "2024-01-01 next")
        #expect(events.last?.offset == 34)
    }

    @Test func multilineNeverDropsBytesPastTheMaximum() throws {
        var joiner = MultilineJoiner(pattern: try LinePattern("^START"), maxBytes: 13, flushTimeout: .seconds(1))
        var events: [SplitLine] = []
        var offset: UInt64 = 0
        for text in ["START a", "cont 1", "cont 2"] {
            var value = ByteBuffer()
            value.writeString(text)
            joiner.add(SplitLine(value: value, offset: offset, endOffset: offset + 8, truncated: false), now: .now) {
                events.append($0)
            }
            offset += 8
        }
        joiner.flush { events.append($0) }
        #expect(events.map { Self.text($0) } == ["START a", "cont 1\ncont 2"])
        #expect(events.map(\.truncated) == [true, true])
    }
}
