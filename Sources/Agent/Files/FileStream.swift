#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// One stream's reading state: identity, the file holding it (if any), read position, held partial line,
/// multiline event and acknowledgement window.
final class FileStream {
    let id: StreamID
    let slot: Int
    /// The path the stream was first seen at (the `source` of its events).
    let source: String
    /// Where the file holding the stream was last seen.
    var currentPath: String
    /// The file holding the stream, or the last one that did.
    var key: FileKey
    /// Open descriptor, or -1 (closed while idle, or detached).
    var fd: Int32 = -1 {
        didSet { if (oldValue >= 0) != (fd >= 0) { onStateChange?(self) } }
    }
    /// Whether a file currently holds this stream. A detached stream (its file truncated, deleted or gone)
    /// is kept so that a renamed file or a copytruncate copy with its content continues it.
    var attached = false {
        didSet { if oldValue != attached { onStateChange?(self) } }
    }
    /// Called when the stream opens or closes its file, or is attached or detached (the owning input keeps
    /// its sets of open and unattached streams with it).
    var onStateChange: ((FileStream) -> Void)?
    /// Next byte to read.
    var readOffset: UInt64
    /// File size at the last fstat.
    var lastSize: UInt64 = 0
    var splitter: LineSplitter
    var joiner: MultilineJoiner?
    var acks: AckWindow
    var signature: ContentSignature
    /// The signature no longer covers `readOffset`.
    var signatureStale = false
    var lastGrowth: ContinuousClock.Instant
    /// Unix seconds when the stream's file was last seen by a scan.
    var lastSeen: Int64
    /// The file was unlinked (st_nlink == 0) while open.
    var deleted = false
    /// Bytes may be waiting to be read.
    var needsRead = false
    /// Whether another file holding this stream's content continues it (false once its file was deleted).
    var mayContinueInCopy = true
    /// Hash and length of the last bytes before `readOffset`, checked before reading more: a file truncated and
    /// rewritten past the old offset between two reads no longer has them.
    var tailCheck: (hash: UInt64, length: Int)?

    init(
        id: StreamID, slot: Int, source: String, key: FileKey, offset: UInt64, signature: ContentSignature,
        maxLineBytes: Int, multiline: FileInputConfiguration.Multiline?, now: ContinuousClock.Instant, lastSeen: Int64
    ) {
        self.id = id
        self.slot = slot
        self.source = source
        self.currentPath = source
        self.key = key
        self.readOffset = offset
        self.splitter = LineSplitter(maxLineBytes: maxLineBytes, startOffset: offset)
        self.joiner = multiline.map {
            MultilineJoiner(pattern: $0.startPattern, maxBytes: maxLineBytes, flushTimeout: $0.flushTimeout)
        }
        self.acks = AckWindow(startOffset: offset)
        self.signature = signature
        self.lastGrowth = now
        self.lastSeen = lastSeen
    }

    var isOpen: Bool { fd >= 0 }

    /// Nothing is held: no partial line, no multiline event.
    var holdsNothing: Bool { splitter.pending.readableBytes == 0 && (joiner?.isEmpty ?? true) }

    /// The file's modification time when it was closed: a closed file modified since is examined again even
    /// when its size is unchanged (truncated and rewritten to the same length).
    var modifiedAtClose: Int64?

    func closeFile() {
        var info = stat()
        modifiedAtClose = fd >= 0 && fstat(fd, &info) == 0 ? info.modificationNanoseconds : nil
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// The stream id of a new stream in file `key`: device, inode, birth time and the id of the stream the file
    /// held before (after a truncation or an inode reuse), so the same file gets the same id after a restart.
    static func makeID(key: FileKey, birthTime: UInt64, predecessor: StreamID?) -> StreamID {
        var hasher = FNV1a()
        hasher.add(key.device)
        hasher.add(key.inode)
        hasher.add(birthTime)
        hasher.add(predecessor?.rawValue ?? 0)
        return StreamID(rawValue: hasher.value)
    }
}
