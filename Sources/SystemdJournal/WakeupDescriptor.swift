#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOConcurrencyHelpers

/// A pipe another thread writes to, to wake a thread blocked in `poll` (the journal reader's stop signal).
final class WakeupDescriptor: Sendable {
    /// The pipe's read and write ends, or -1 once released; used only under the lock, so `wake()` never writes to a
    /// descriptor number the process has reused.
    private let descriptors: NIOLockedValueBox<(read: Int32, write: Int32)>

    /// Creates the pipe (close-on-exec, non-blocking, so `wake()` never blocks on a full pipe).
    init() throws(JournalError) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw .callFailed(call: "pipe", journal: "journal reader", errno: errno) }
        for fd in ends {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        descriptors = NIOLockedValueBox((ends[0], ends[1]))
    }

    /// The descriptor to poll for `POLLIN`.
    var fileDescriptor: Int32 { descriptors.withLockedValue { $0.read } }

    /// Makes the descriptor readable (no-op after `release()`).
    func wake() {
        descriptors.withLockedValue { ends in
            guard ends.write >= 0 else { return }
            var byte: UInt8 = 1
            _ = write(ends.write, &byte, 1)
        }
    }

    /// Closes both ends.
    func release() {
        descriptors.withLockedValue { ends in
            if ends.read >= 0 { _ = close(ends.read) }
            if ends.write >= 0 { _ = close(ends.write) }
            ends = (-1, -1)
        }
    }

    deinit { release() }
}
