#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The `sd_journal_*` functions of a libsystemd loaded at run time with `dlopen`.
///
/// The agent does not link libsystemd, so it starts (and ships files) on hosts without it; only the journald input
/// needs this table, and `load(_:)` says exactly why it cannot be had. The library is never unloaded: the function
/// pointers stay valid for the life of the process.
public struct SystemdLibrary: Sendable {
    typealias OpenFunction = @convention(c) (UnsafeMutablePointer<OpaquePointer?>?, Int32) -> Int32
    typealias OpenDirectoryFunction = @convention(c) (
        UnsafeMutablePointer<OpaquePointer?>?, UnsafePointer<CChar>?, Int32
    ) -> Int32
    typealias OpenFilesFunction = @convention(c) (
        UnsafeMutablePointer<OpaquePointer?>?, UnsafeMutablePointer<UnsafePointer<CChar>?>?, Int32
    ) -> Int32
    typealias VoidFunction = @convention(c) (OpaquePointer?) -> Void
    typealias IntFunction = @convention(c) (OpaquePointer?) -> Int32
    typealias UInt64OutFunction = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt64>?) -> Int32
    typealias GetCursorFunction = @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> Int32
    typealias CursorFunction = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Int32
    typealias GetDataFunction = @convention(c) (
        OpaquePointer?, UnsafePointer<CChar>?, UnsafeMutablePointer<UnsafeRawPointer?>?, UnsafeMutablePointer<Int>?
    ) -> Int32
    typealias EnumerateDataFunction = @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UnsafeRawPointer?>?, UnsafeMutablePointer<Int>?
    ) -> Int32
    typealias AddMatchFunction = @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int) -> Int32
    typealias SetThresholdFunction = @convention(c) (OpaquePointer?, Int) -> Int32
    typealias WaitFunction = @convention(c) (OpaquePointer?, UInt64) -> Int32

    /// The name `load()` uses by default: the soname every systemd since 209 ships.
    public static let defaultLibraryName = "libsystemd.so.0"

    /// The name or path the table was loaded from.
    public let libraryName: String

    let open: OpenFunction
    let openDirectory: OpenDirectoryFunction
    let openFiles: OpenFilesFunction
    let close: VoidFunction
    let next: IntFunction
    let previous: IntFunction
    let seekHead: IntFunction
    let seekTail: IntFunction
    let seekCursor: CursorFunction
    let testCursor: CursorFunction
    let getCursor: GetCursorFunction
    let getRealtimeUsec: UInt64OutFunction
    let getData: GetDataFunction
    let enumerateData: EnumerateDataFunction
    let restartData: VoidFunction
    let setDataThreshold: SetThresholdFunction
    let addMatch: AddMatchFunction
    let addDisjunction: IntFunction
    let addConjunction: IntFunction
    let flushMatches: VoidFunction
    let getFd: IntFunction
    let getEvents: IntFunction
    let getTimeout: UInt64OutFunction
    let process: IntFunction
    let wait: WaitFunction

    /// The default library, loaded once per process on first use.
    public static let shared: Result<SystemdLibrary, JournalError> = Result { () throws(JournalError) in
        try SystemdLibrary.load(defaultLibraryName)
    }

    /// Loads `name` (a soname searched like the dynamic linker does, or a path) and resolves every function.
    ///
    /// - Throws: `JournalError.libraryUnavailable` with `dlerror()`'s text when the library cannot be loaded,
    ///   `JournalError.symbolMissing` when it lacks one of the functions.
    public static func load(_ name: String = defaultLibraryName) throws(JournalError) -> SystemdLibrary {
        guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
            throw .libraryUnavailable(library: name, reason: lastDynamicLinkerError() ?? "dlopen returned NULL")
        }
        var resolver = SymbolResolver(handle: handle, library: name)
        return try SystemdLibrary(libraryName: name, resolver: &resolver)
    }

    private init(libraryName: String, resolver: inout SymbolResolver) throws(JournalError) {
        self.libraryName = libraryName
        self.open = try resolver.resolve("sd_journal_open")
        self.openDirectory = try resolver.resolve("sd_journal_open_directory")
        self.openFiles = try resolver.resolve("sd_journal_open_files")
        self.close = try resolver.resolve("sd_journal_close")
        self.next = try resolver.resolve("sd_journal_next")
        self.previous = try resolver.resolve("sd_journal_previous")
        self.seekHead = try resolver.resolve("sd_journal_seek_head")
        self.seekTail = try resolver.resolve("sd_journal_seek_tail")
        self.seekCursor = try resolver.resolve("sd_journal_seek_cursor")
        self.testCursor = try resolver.resolve("sd_journal_test_cursor")
        self.getCursor = try resolver.resolve("sd_journal_get_cursor")
        self.getRealtimeUsec = try resolver.resolve("sd_journal_get_realtime_usec")
        self.getData = try resolver.resolve("sd_journal_get_data")
        self.enumerateData = try resolver.resolve("sd_journal_enumerate_data")
        self.restartData = try resolver.resolve("sd_journal_restart_data")
        self.setDataThreshold = try resolver.resolve("sd_journal_set_data_threshold")
        self.addMatch = try resolver.resolve("sd_journal_add_match")
        self.addDisjunction = try resolver.resolve("sd_journal_add_disjunction")
        self.addConjunction = try resolver.resolve("sd_journal_add_conjunction")
        self.flushMatches = try resolver.resolve("sd_journal_flush_matches")
        self.getFd = try resolver.resolve("sd_journal_get_fd")
        self.getEvents = try resolver.resolve("sd_journal_get_events")
        self.getTimeout = try resolver.resolve("sd_journal_get_timeout")
        self.process = try resolver.resolve("sd_journal_process")
        self.wait = try resolver.resolve("sd_journal_wait")
    }

    /// `dlerror()`'s text, or `nil` when no error is pending.
    static func lastDynamicLinkerError() -> String? {
        guard let text = dlerror() else { return nil }
        return String(cString: text)
    }
}

/// Looks up C functions in one `dlopen` handle.
private struct SymbolResolver {
    let handle: UnsafeMutableRawPointer
    let library: String

    func resolve<Function>(_ symbol: String) throws(JournalError) -> Function {
        _ = dlerror()  // clear a stale error so the one reported belongs to this lookup
        guard let address = dlsym(handle, symbol) else {
            throw .symbolMissing(
                symbol: symbol, library: library,
                reason: SystemdLibrary.lastDynamicLinkerError() ?? "dlsym returned NULL")
        }
        return unsafeBitCast(address, to: Function.self)
    }
}
