import SystemdJournal
import Testing

@Suite("SystemdJournal: loading libsystemd at run time")
struct LibraryLoadingTests {
    @Test("a missing library gives a typed error naming it, with dlerror's reason")
    func missingLibrary() throws {
        let name = "libsystemd-bogus-\(UInt32.random(in: 0...UInt32.max)).so.0"
        do {
            _ = try SystemdLibrary.load(name)
            Issue.record("loading \(name) succeeded")
        } catch {
            guard case .libraryUnavailable(let library, let reason) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(library == name)
            #expect(reason.contains(name))  // dlerror: "<name>: cannot open shared object file: ..."
            #expect(reason.contains("cannot open shared object file"))
            #expect(error.description.hasPrefix("journald input unavailable: \(name) could not be loaded ("))
        }
    }

    @Test("a library without the sd_journal functions is reported as missing a symbol")
    func libraryWithoutSymbols() throws {
        #expect(throws: JournalError.self) { try SystemdLibrary.load("libc.so.6") }
        do {
            _ = try SystemdLibrary.load("libc.so.6")
        } catch {
            guard case .symbolMissing(let symbol, let library, let reason) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(symbol == "sd_journal_open")
            #expect(library == "libc.so.6")
            #expect(reason.contains("sd_journal_open"))
        }
    }

    @Test("libsystemd.so.0 loads and the shared table is the same library")
    func realLibrary() throws {
        let library = try SystemdLibrary.load()
        #expect(library.libraryName == "libsystemd.so.0")
        let shared = try SystemdLibrary.shared.get()
        #expect(shared.libraryName == SystemdLibrary.defaultLibraryName)
    }

    @Test("a failing sd_journal call names the call, the journal and strerror")
    func failingCallIsDescribed() throws {
        let missing = "/nonexistent/journal-\(UInt32.random(in: 0...UInt32.max))"
        do {
            _ = try SystemdJournal(directory: missing)
            Issue.record("opening \(missing) succeeded")
        } catch {
            #expect(error.errno == 2)  // ENOENT
            #expect(
                error.description
                    == "sd_journal_open_directory failed on journal directory \(missing): No such file or directory (errno 2)")
        }
    }
}
