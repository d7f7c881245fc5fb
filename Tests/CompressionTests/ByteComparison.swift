import Foundation

/// `nil` if `actual` and `expected` hold the same bytes, else what differs (lengths and the first differing offset).
///
/// Uses `memcmp`, which stays fast in debug builds (generic `Array ==` does not), and keeps failure messages short
/// where `#expect(a == b)` would print megabytes.
func byteDifference(_ actual: [UInt8]?, _ expected: [UInt8]) -> String? {
    guard let actual else { return "no output" }
    let common = min(actual.count, expected.count)
    let equalPrefix = actual.withUnsafeBytes { a in
        expected.withUnsafeBytes { e in common == 0 || memcmp(a.baseAddress!, e.baseAddress!, common) == 0 }
    }
    if equalPrefix && actual.count == expected.count { return nil }
    var first = common
    if !equalPrefix {
        first = (0..<common).first { actual[$0] != expected[$0] }!
    }
    return "got \(actual.count) bytes, expected \(expected.count); first difference at offset \(first)"
}
