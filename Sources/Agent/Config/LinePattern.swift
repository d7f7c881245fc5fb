import CPCRE2
import NIOConcurrencyHelpers

/// A compiled PCRE2 pattern matched against raw line bytes (no UTF-8 check, so binary lines are safe).
///
/// A class only so the C objects are freed once.
public final class LinePattern: @unchecked Sendable {
    // @unchecked Sendable: the compiled code is immutable after init (PCRE2 documents pcre2_code as shareable
    // between threads); the one mutable object, the match-data block, is only used under `lock`.
    /// The pattern's source text, as written in the config.
    public let source: String
    private let code: OpaquePointer
    private let matchData: OpaquePointer
    private let lock = NIOLock()

    /// Compiles `source`; throws a message naming the error and the offset in the pattern.
    public init(_ source: String) throws(LinePatternError) {
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let compiled = source.utf8CString.withUnsafeBufferPointer { text -> OpaquePointer? in
            text.withMemoryRebound(to: UInt8.self) { bytes in
                pcre2_compile_8(
                    bytes.baseAddress, bytes.count - 1, 0, &errorCode, &errorOffset, nil)
            }
        }
        guard let compiled else {
            var message = [UInt8](repeating: 0, count: 256)
            let length = pcre2_get_error_message_8(errorCode, &message, message.count)
            let text = length > 0 ? String(decoding: message[0..<Int(length)], as: UTF8.self) : "error \(errorCode)"
            throw LinePatternError(pattern: source, message: "\(text) at offset \(errorOffset)")
        }
        _ = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE))  // falls back to the interpreter if JIT is unavailable
        guard let data = pcre2_match_data_create_from_pattern_8(compiled, nil) else {
            pcre2_code_free_8(compiled)
            throw LinePatternError(pattern: source, message: "cannot allocate PCRE2 match data")
        }
        self.source = source
        self.code = compiled
        self.matchData = data
    }

    deinit {
        pcre2_match_data_free_8(matchData)
        pcre2_code_free_8(code)
    }

    /// Whether the pattern matches somewhere in `bytes`.
    public func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let empty: UInt8 = 0
        return lock.withLock {
            withUnsafePointer(to: empty) { emptyPointer in
                pcre2_match_8(code, base ?? emptyPointer, bytes.count, 0, 0, matchData, nil) >= 0
            }
        }
    }

    /// Whether the pattern matches somewhere in `bytes`.
    public func matches(_ bytes: some Collection<UInt8>) -> Bool {
        if let result = bytes.withContiguousStorageIfAvailable({ matches(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { matches($0) }
    }
}

/// A pattern that does not compile.
public struct LinePatternError: Error, CustomStringConvertible, Sendable {
    /// The pattern text.
    public var pattern: String
    /// PCRE2's message and the offset of the error.
    public var message: String
    public var description: String { "invalid pattern \"\(pattern)\": \(message)" }
}
