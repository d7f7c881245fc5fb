import Foundation

/// Runs a command-line program to completion with bytes on stdin, capturing stdout and stderr.
///
/// Standard input, output and error go through files in a temporary directory, so a child that writes megabytes
/// before it reads everything cannot deadlock on a full pipe.
public struct ProcessRunner {
    /// The result of one run.
    public struct Output: Sendable {
        /// The exit status (or the terminating signal's number when `terminatedBySignal`).
        public var exitCode: Int32
        /// Whether the child was killed by a signal.
        public var terminatedBySignal: Bool
        /// Everything the child wrote to stdout.
        public var stdout: [UInt8]
        /// Everything the child wrote to stderr, as UTF-8 text.
        public var stderr: String

        /// Whether the child exited normally with status 0.
        public var succeeded: Bool { !self.terminatedBySignal && self.exitCode == 0 }
    }

    /// A failure to start the program.
    public struct LaunchError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The absolute path of `program` found on `PATH`, or `nil`.
    public static func executablePath(_ program: String) -> String? {
        if program.contains("/") {
            return FileManager.default.isExecutableFile(atPath: program) ? program : nil
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `program` (looked up on `PATH`) with `arguments`, feeding `stdin`, and waits for it to exit.
    ///
    /// - Throws: `LaunchError` if the program is not on `PATH` or cannot be started.
    public static func run(
        _ program: String, _ arguments: [String], stdin: [UInt8] = [], currentDirectory: String? = nil
    ) throws -> Output {
        guard let executable = executablePath(program) else {
            throw LaunchError(description: "\(program) not found on PATH")
        }
        let directory = try TemporaryDirectory(prefix: "process-runner")
        defer { directory.remove() }
        let inPath = "\(directory.path)/stdin"
        let outPath = "\(directory.path)/stdout"
        let errPath = "\(directory.path)/stderr"
        guard FileManager.default.createFile(atPath: inPath, contents: Data(stdin)),
            FileManager.default.createFile(atPath: outPath, contents: nil),
            FileManager.default.createFile(atPath: errPath, contents: nil),
            let inHandle = FileHandle(forReadingAtPath: inPath),
            let outHandle = FileHandle(forWritingAtPath: outPath),
            let errHandle = FileHandle(forWritingAtPath: errPath)
        else {
            throw LaunchError(description: "cannot create stdio files in \(directory.path)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        process.standardInput = inHandle
        process.standardOutput = outHandle
        process.standardError = errHandle
        do {
            try process.run()
        } catch {
            throw LaunchError(description: "cannot start \(executable): \(error)")
        }
        process.waitUntilExit()
        try? inHandle.close()
        try? outHandle.close()
        try? errHandle.close()
        let stdout = FileManager.default.contents(atPath: outPath) ?? Data()
        let stderr = FileManager.default.contents(atPath: errPath) ?? Data()
        return Output(
            exitCode: process.terminationStatus,
            terminatedBySignal: process.terminationReason == .uncaughtSignal,
            stdout: [UInt8](stdout),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }

    /// Runs `python3 -c script` with `stdin`.
    public static func python(_ script: String, stdin: [UInt8] = []) throws -> Output {
        try run("python3", ["-c", script], stdin: stdin)
    }

    /// Whether `python3` can import every module in `modules`.
    public static func pythonHasModules(_ modules: [String]) -> Bool {
        let imports = modules.map { "import \($0)" }.joined(separator: "; ")
        return (try? python(imports).succeeded) ?? false
    }
}
