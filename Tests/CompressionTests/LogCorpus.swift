import Foundation

/// Real log text from the loghub samples in `../shared/data/loghub` (relative to the repository root).
enum LogCorpus {
    /// A missing or unreadable corpus, with where it was looked for.
    struct MissingError: Error, CustomStringConvertible {
        var description: String
    }

    /// `<repo root>/../shared/data/loghub`, the repository root being two levels above this file's directory.
    static let directory: String = {
        let thisFile = URL(fileURLWithPath: #filePath)
        let repositoryRoot = thisFile.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repositoryRoot.appendingPathComponent("../shared/data/loghub").standardizedFileURL.path
    }()

    private static let loaded: Result<[(name: String, bytes: [UInt8])], MissingError> = {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }.sorted()
        } catch {
            return .failure(MissingError(description: "loghub corpus not found at \(directory) (expected <repo>/../shared/data/loghub/*.log): \(error)"))
        }
        guard !names.isEmpty else {
            return .failure(MissingError(description: "no *.log files in the loghub corpus directory \(directory)"))
        }
        var files: [(name: String, bytes: [UInt8])] = []
        for name in names {
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)"), !data.isEmpty else {
                return .failure(MissingError(description: "cannot read \(directory)/\(name)"))
            }
            files.append((name, [UInt8](data)))
        }
        return .success(files)
    }()

    /// Every `*.log` file, sorted by name.
    /// - Throws: `MissingError` naming the directory if the corpus is absent.
    static func files() throws -> [(name: String, bytes: [UInt8])] {
        try loaded.get()
    }

    /// The log files concatenated, repeated until at least `minimumBytes` long, then cut to exactly that length.
    static func concatenated(bytes minimumBytes: Int) throws -> [UInt8] {
        let files = try files()
        var result: [UInt8] = []
        result.reserveCapacity(minimumBytes)
        while result.count < minimumBytes {
            for file in files where result.count < minimumBytes {
                result += file.bytes.prefix(minimumBytes - result.count)
            }
        }
        return result
    }

    /// About 4 MiB of concatenated log text.
    static let fourMiB: Result<[UInt8], any Error> = Result { try concatenated(bytes: 4 << 20) }
}
