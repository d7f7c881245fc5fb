/// Zig-zag varint sizes and raw-pointer writers for the record encoder's hot path.
@usableFromInline
internal enum RecordVarint {
    /// The zig-zag encoding of a signed 32-bit value.
    @inlinable
    static func zigZag(_ value: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31)))
    }

    /// The zig-zag encoding of a signed 64-bit value.
    @inlinable
    static func zigZag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// Bytes an unsigned LEB128 encoding of `value` takes (1...10).
    @inlinable
    static func size(_ value: UInt64) -> Int {
        (64 - (value | 1).leadingZeroBitCount + 6) / 7
    }

    /// Bytes the zig-zag varint of `value` takes.
    @inlinable
    static func size(_ value: Int32) -> Int { size(zigZag(value)) }

    /// Bytes the zig-zag varlong of `value` takes.
    @inlinable
    static func size(_ value: Int64) -> Int { size(zigZag(value)) }

    /// Writes `value` as unsigned LEB128 at `pointer`; returns the bytes written.
    @inlinable
    @inline(__always)
    static func write(_ value: UInt64, to pointer: UnsafeMutableRawPointer) -> Int {
        // One and two bytes (every length and delta of ordinary records) without the loop.
        if value < 0x80 {
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
            return 1
        }
        if value < 0x4000 {
            let pair = UInt16(truncatingIfNeeded: (value & 0x7f) | 0x80 | ((value >> 7) << 8))
            pointer.storeBytes(of: pair.littleEndian, as: UInt16.self)
            return 2
        }
        var value = value
        var count = 0
        while value >= 0x80 {
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: count, as: UInt8.self)
            value >>= 7
            count += 1
        }
        pointer.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: count, as: UInt8.self)
        return count + 1
    }
}
