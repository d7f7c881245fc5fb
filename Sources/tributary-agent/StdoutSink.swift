import Agent
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `--dry-run`: writes each event's value as a line to stdout and acknowledges it once written.
final class StdoutSink: RecordSink {
    private let inbox: AcknowledgementInbox
    private var buffer = ByteBufferAllocator().buffer(capacity: 64 << 10)
    private var pending: [AckToken] = []

    init(acknowledgements: AcknowledgementInbox) { inbox = acknowledgements }

    func accept(_ event: LineEvent) {
        buffer.writeImmutableBuffer(event.value)
        buffer.writeInteger(UInt8(ascii: "\n"))
        pending.append(event.ackToken)
        if buffer.readableBytes >= 32 << 10 || pending.count >= 1024 { flush() }
    }

    /// Writes what is buffered, then acknowledges it.
    func flush() {
        buffer.withUnsafeReadableBytes { bytes in
            var done = 0
            while done < bytes.count {
                let count = write(1, bytes.baseAddress! + done, bytes.count - done)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return }
                done += count
            }
        }
        buffer.clear()
        inbox.acknowledge(pending)
        pending.removeAll(keepingCapacity: true)
    }
}
