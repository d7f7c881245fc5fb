import Compression
import NIOCore
import Testing

@Suite struct RoundTripTests {
    @Test(arguments: CompressionAlgorithm.allCases)
    func smoke(_ algorithm: CompressionAlgorithm) throws {
        let compressor = try Compressor(algorithm: algorithm)
        let decompressor = Decompressor(algorithm: algorithm)
        let input = ByteBuffer(string: String(repeating: "hello tributary ", count: 5000))
        var compressed = ByteBuffer()
        try compressor.compress(input, appendingTo: &compressed)
        var output = ByteBuffer()
        let n = try decompressor.decompress(compressed, appendingTo: &output, maxOutputBytes: 1 << 20)
        #expect(n == input.readableBytes)
        #expect(output == input)
    }
}
