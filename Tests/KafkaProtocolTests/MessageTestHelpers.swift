import NIOCore

/// Bytes from a readable spec: hex byte groups (`"00 12 ff"`) and quoted ASCII (`"'logs'"`),
/// separated by `|` or spaces, so golden frames read like the protocol guide.
func wire(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var rest = Substring(text)
    while let first = rest.first {
        if first == " " || first == "|" || first == "\n" {
            rest = rest.dropFirst()
        } else if first == "'" {
            let body = rest.dropFirst()
            let end = body.firstIndex(of: "'")!
            bytes += Array(body[..<end].utf8)
            rest = body[body.index(after: end)...]
        } else {
            let pair = rest.prefix(2)
            bytes.append(UInt8(pair, radix: 16)!)
            rest = rest.dropFirst(2)
        }
    }
    return bytes
}

extension ByteBuffer {
    /// The readable bytes as an array.
    var bytes: [UInt8] { Array(self.readableBytesView) }
}

/// A frame's bytes with its 4-byte size prefix checked and removed.
func stripSizePrefix(_ frame: ByteBuffer) -> ByteBuffer? {
    var frame = frame
    guard let size = frame.readInteger(as: Int32.self), Int(size) == frame.readableBytes else { return nil }
    return frame
}
