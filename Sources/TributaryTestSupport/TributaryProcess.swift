import Foundation

/// Runs the project's built executables (found beside the test bundle) and other programs.
public enum TributaryProcess {
    /// What a finished process left behind.
    public struct Result: Sendable {
        /// The exit status, or 128 + signal number if it was killed by a signal.
        public var status: Int32
        /// Everything it wrote to standard output.
        public var stdout: Data
        /// Everything it wrote to standard error, as UTF-8 text.
        public var stderr: String
        /// Standard output as UTF-8 text.
        public var stdoutString: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// The directory holding the built products (`.build/<triple>/debug`): the test bundle's directory.
    public static var productsDirectory: URL {
        // On Linux the test runner is `.build/<config>/TributaryPackageTests.xctest`, beside the products.
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    /// Runs `tributary` with `arguments`, feeding `stdin`, and waits for it to exit.
    public static func run(_ arguments: [String], stdin: Data = Data()) throws -> Result {
        try run(executable: productsDirectory.appendingPathComponent("tributary").path, arguments, stdin: stdin)
    }

    /// Runs `executable` (an absolute path, or a name looked up on `PATH`) with `arguments` and waits for it.
    public static func run(executable: String, _ arguments: [String], stdin: Data = Data()) throws -> Result {
        let output = try ProcessRunner.run(executable, arguments, stdin: [UInt8](stdin))
        return Result(
            status: output.terminatedBySignal ? 128 + output.exitCode : output.exitCode,
            stdout: Data(output.stdout), stderr: output.stderr)
    }
}
