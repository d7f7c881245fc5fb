internal import CCRC32C
public import NIOCore

/// CRC-32C (Castagnoli, the iSCSI polynomial of RFC 3720), the checksum of Kafka record batches
/// and of Tributary's own on-disk frames.
///
/// Uses the CPU's CRC instructions when it has them (SSE4.2 on x86-64, chosen at run time; the
/// ARMv8 CRC extension when the build targets it) and a portable slicing-by-8 table otherwise.
///
/// Checksums chain: `checksum(b, initial: checksum(a))` equals the checksum of `a` followed by `b`.
public enum CRC32C {
    /// The CRC-32C of `bytes`, continuing from the finished checksum `initial` (0 to start).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return initial }
        return _checksum(base, count: bytes.count, initial: initial)
    }

    /// The CRC-32C of the readable bytes of `buffer`, continuing from `initial`.
    @inlinable
    public static func checksum(_ buffer: ByteBuffer, initial: UInt32 = 0) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0, initial: initial) }
    }

    /// The CRC-32C of `length` bytes of `buffer` starting at `index`, or `nil` if those bytes are
    /// not all readable. Does not move the reader index.
    @inlinable
    public static func checksum(_ buffer: ByteBuffer, at index: Int, length: Int, initial: UInt32 = 0) -> UInt32? {
        guard index >= buffer.readerIndex, length >= 0, index <= buffer.writerIndex - length else { return nil }
        return buffer.withUnsafeReadableBytes { bytes in
            checksum(UnsafeRawBufferPointer(rebasing: bytes[(index - buffer.readerIndex)...].prefix(length)), initial: initial)
        }
    }

    /// Whether `checksum` runs on CRC instructions on this machine.
    public static var isHardwareAccelerated: Bool { tributary_crc32c_hardware_available() }

    @usableFromInline
    internal static func _checksum(_ base: UnsafeRawPointer, count: Int, initial: UInt32) -> UInt32 {
        tributary_crc32c(initial, base, count)
    }

    /// The table-driven implementation, for tests that compare it with the hardware one.
    internal static func softwareChecksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return initial }
        return tributary_crc32c_software(initial, base, bytes.count)
    }

    /// The hardware implementation (the software one where the CPU lacks CRC instructions).
    internal static func hardwareChecksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return initial }
        return tributary_crc32c_hardware(initial, base, bytes.count)
    }
}
