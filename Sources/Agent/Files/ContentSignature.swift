#if canImport(Glibc)
import Glibc
#endif

/// What identifies a stream's content: a hash of its first bytes and a hash of the bytes just before a read
/// position. A file whose bytes at both places hash the same (and which is long enough) holds the same stream,
/// whatever its name or inode; an inode reused by a new file or a truncated and rewritten file does not.
struct ContentSignature: Codable, Equatable {
    /// Length of the head window `[0, headLength)`.
    var headLength: Int
    var headHash: UInt64
    /// The check window is `[checkEnd - checkLength, checkEnd)`.
    var checkEnd: UInt64
    var checkLength: Int
    var checkHash: UInt64

    static let empty = ContentSignature(headLength: 0, headHash: FNV1a.offsetBasis, checkEnd: 0, checkLength: 0, checkHash: FNV1a.offsetBasis)

    /// The signature of the open file `fd` covering bytes up to `offset`, windows of at most `window` bytes;
    /// nil when the file no longer holds `offset` bytes.
    static func compute(fd: Int32, upTo offset: UInt64, window: Int) -> ContentSignature? {
        let headLength = Int(min(UInt64(window), offset))
        let checkLength = Int(min(UInt64(window), offset))
        guard let headHash = hashRange(fd: fd, offset: 0, length: headLength),
            let checkHash = hashRange(fd: fd, offset: offset - UInt64(checkLength), length: checkLength)
        else { return nil }
        return ContentSignature(
            headLength: headLength, headHash: headHash, checkEnd: offset, checkLength: checkLength, checkHash: checkHash)
    }

    /// Whether the open file `fd` (of `size` bytes) holds this signature's content.
    func matches(fd: Int32, size: UInt64) -> Bool {
        var candidate = CandidateFile(fd: fd, size: size)
        return candidate.holds(self, upTo: 0)
    }

    /// FNV-1a of `length` bytes at `offset` of `fd`; nil if they cannot all be read.
    static func hashRange(fd: Int32, offset: UInt64, length: Int) -> UInt64? {
        var hasher = FNV1a()
        guard length > 0 else { return hasher.value }
        var buffer = [UInt8](repeating: 0, count: min(length, 4096))
        var done = 0
        while done < length {
            let want = min(buffer.count, length - done)
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset) + off_t(done)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return nil }
            buffer.withUnsafeBytes { hasher.add(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
            done += got
        }
        return hasher.value
    }
}

/// 64-bit FNV-1a, for content signatures and stream ids (not for security).
struct FNV1a {
    static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    private(set) var value: UInt64 = offsetBasis

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
    }

    mutating func add(_ word: UInt64) {
        withUnsafeBytes(of: word.littleEndian) { add($0) }
    }
}

/// A file being compared with many signatures: its head hashes are computed once per head length, and only
/// signatures whose head matches cost a read of their check window.
struct CandidateFile {
    let fd: Int32
    let size: UInt64
    private var headHashes: [Int: UInt64?] = [:]

    init(fd: Int32, size: UInt64) {
        self.fd = fd
        self.size = size
    }

    /// Whether the file could be a copy of `signature`'s stream still being written: shorter than the signature's
    /// check window end, and its bytes so far are the stream's (the head window's hash when it is that long, else
    /// the bytes of `original`, the stream's open file, if any).
    mutating func mayBeUnfinishedCopy(of signature: ContentSignature, original: Int32?) -> Bool {
        guard size > 0, size < signature.checkEnd else { return false }
        if signature.headLength > 0, size >= UInt64(signature.headLength) {
            return headHash(length: signature.headLength) == signature.headHash
        }
        guard let original, let mine = headHash(length: Int(size)) else { return false }
        return ContentSignature.hashRange(fd: original, offset: 0, length: Int(size)) == mine
    }

    /// Whether the file holds `signature`'s content and at least `offset` bytes.
    mutating func holds(_ signature: ContentSignature, upTo offset: UInt64) -> Bool {
        guard size >= signature.checkEnd, size >= UInt64(signature.headLength), size >= offset,
            headHash(length: signature.headLength) == signature.headHash
        else { return false }
        return ContentSignature.hashRange(
            fd: fd, offset: signature.checkEnd - UInt64(signature.checkLength), length: signature.checkLength)
            == signature.checkHash
    }

    /// The hash of the file's first `length` bytes, read once per length.
    private mutating func headHash(length: Int) -> UInt64? {
        if let known = headHashes[length] { return known }
        let hash = ContentSignature.hashRange(fd: fd, offset: 0, length: length)
        headHashes[length] = hash
        return hash
    }
}
