import NIOConcurrencyHelpers
import Synchronization

/// Test hook: makes chosen file operations fail, once each, on paths under a given directory
/// (tests run in parallel, each in its own temporary directory). Off, it costs one relaxed
/// atomic load per operation.
enum FaultInjection {
    /// The operations that can be made to fail.
    enum Operation: Hashable, Sendable {
        case write
        case sync
        case rename
    }

    private struct Rule: Sendable {
        var pathPrefix: String
        var pathSuffix: String
        var operation: Operation
        var errno: Int32
    }

    private static let isActive = Atomic<Bool>(false)
    private static let rules = NIOLockedValueBox<[Rule]>([])

    /// Makes the next `operation` on a path starting with `prefix` and ending with `suffix` fail
    /// with `errno`.
    static func failNext(_ operation: Operation, pathPrefix prefix: String, suffix: String = "", errno: Int32) {
        rules.withLockedValue { $0.append(Rule(pathPrefix: prefix, pathSuffix: suffix, operation: operation, errno: errno)) }
        isActive.store(true, ordering: .releasing)
    }

    /// The errno to fail `operation` on `path` with, consuming the rule; `nil` to go ahead.
    static func check(_ operation: Operation, path: String) -> Int32? {
        guard isActive.load(ordering: .acquiring) else { return nil }
        return rules.withLockedValue { rules in
            guard let index = rules.firstIndex(where: {
                $0.operation == operation && path.hasPrefix($0.pathPrefix) && path.hasSuffix($0.pathSuffix)
            }) else { return nil }
            return rules.remove(at: index).errno
        }
    }
}
