import KafkaBroker
import NIOCore
import Testing
import TributaryTestSupport

@Suite("Network: frame decoder")
struct NetworkFrameDecoderTests {
    /// `frames` with their 4-byte size prefixes, back to back.
    private func stream(_ frames: [[UInt8]]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames {
            buffer.writeInteger(Int32(frame.count))
            buffer.writeBytes(frame)
        }
        return buffer
    }

    /// Feeds `input` in chunks of the given sizes (cycled) and collects the frames decoded.
    private func drip(_ input: ByteBuffer, chunkSizes: [Int], decoder: KafkaFrameDecoder) throws -> [[UInt8]] {
        var input = input
        var cumulation = ByteBuffer()
        var frames: [[UInt8]] = []
        var chunkIndex = 0
        while input.readableBytes > 0 {
            let size = min(chunkSizes[chunkIndex % chunkSizes.count], input.readableBytes)
            chunkIndex += 1
            var chunk = input.readSlice(length: size)!
            cumulation.writeBuffer(&chunk)
            while let frame = try decoder.readFrame(from: &cumulation) {
                frames.append(Array(frame.readableBytesView))
            }
        }
        #expect(cumulation.readableBytes == 0)
        return frames
    }

    @Test func dripFedFramesComeOutWhole() throws {
        let seed = SplitMix64.testSeed()
        var random = SplitMix64(seed: seed)
        let frames: [[UInt8]] = (0..<50).map { index in
            index % 7 == 0 ? [] : random.bytes(Int(random.next() % 300))
        }
        let input = stream(frames)
        let decoder = KafkaFrameDecoder(maximumFrameBytes: 1000)
        for chunking in [[1], [2, 3], [4], [5, 1, 7], [4096], [Int(random.next() % 64) + 1]] {
            let decoded = try drip(input, chunkSizes: chunking, decoder: decoder)
            #expect(decoded == frames, "chunking \(chunking), seed \(seed)")
        }
    }

    @Test func incompleteFrameConsumesNothing() throws {
        var buffer = stream([[1, 2, 3, 4, 5]])
        buffer.moveWriterIndex(to: buffer.writerIndex - 1)
        let before = buffer.readerIndex
        #expect(try KafkaFrameDecoder().readFrame(from: &buffer) == nil)
        #expect(buffer.readerIndex == before)
        var sizeOnly = ByteBuffer(bytes: [0, 0])
        #expect(try KafkaFrameDecoder().readFrame(from: &sizeOnly) == nil)
    }

    @Test func oversizedFrameIsRejectedFromItsSizeAlone() {
        // Only the 4 size bytes arrive: the decoder must refuse now, not wait for (and buffer) 2 GiB.
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32.max)
        #expect(throws: KafkaFrameDecoderError.frameTooLarge(size: Int(Int32.max), maximum: 1024)) {
            try KafkaFrameDecoder(maximumFrameBytes: 1024).readFrame(from: &buffer)
        }
        var exact = ByteBuffer()
        exact.writeInteger(Int32(1025))
        #expect(throws: KafkaFrameDecoderError.frameTooLarge(size: 1025, maximum: 1024)) {
            try KafkaFrameDecoder(maximumFrameBytes: 1024).readFrame(from: &exact)
        }
        var limit = stream([[UInt8](repeating: 7, count: 1024)])
        #expect((try? KafkaFrameDecoder(maximumFrameBytes: 1024).readFrame(from: &limit))??.readableBytes == 1024)
    }

    @Test func negativeFrameSizeIsRejected() {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(-1))
        #expect(throws: KafkaFrameDecoderError.negativeFrameSize(-1)) {
            try KafkaFrameDecoder().readFrame(from: &buffer)
        }
    }

    @Test func defaultMaximumIsKafkas() {
        #expect(KafkaFrameDecoder().maximumFrameBytes == 104_857_600)
    }
}
