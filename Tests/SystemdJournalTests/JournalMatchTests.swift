import SystemdJournal
import Testing
import TributaryTestSupport

@Suite("SystemdJournal: unit and FIELD=value matches applied by the journal")
struct JournalMatchTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var units: [String] = []
        var fields: [String] = []
        var expectedCount: Int
        var testDescription: String { "units \(units) fields \(fields)" }
    }

    /// Independent model of the journal's semantics: OR among matches on one field, AND across fields.
    static func matches(_ entry: ExportEntry, units: [String], fields: [String]) -> Bool {
        var byField: [String: [[UInt8]]] = [:]
        for unit in units { byField["_SYSTEMD_UNIT", default: []].append(Array(unit.utf8)) }
        for match in fields {
            let parts = match.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            byField[String(parts[0]), default: []].append(Array(parts[1].utf8))
        }
        return byField.allSatisfy { name, values in
            entry.fields.contains { $0.name == name && values.contains($0.value) }
        }
    }

    @Test(
        "the journal returns exactly the entries the matches select",
        arguments: [
            Case(units: ["ssh.service"], expectedCount: 4),
            Case(units: ["ssh.service", "cron.service"], expectedCount: 6),
            Case(fields: ["PRIORITY=3"], expectedCount: 2),
            Case(fields: ["PRIORITY=3", "PRIORITY=4"], expectedCount: 4),
            Case(units: ["ssh.service"], fields: ["PRIORITY=3"], expectedCount: 1),
            Case(units: ["ssh.service", "nginx.service"], fields: ["PRIORITY=4", "PRIORITY=6"], expectedCount: 5),
            Case(fields: ["_SYSTEMD_UNIT=ssh.service", "PRIORITY=6"], expectedCount: 2),
            Case(fields: ["_TRANSPORT=kernel"], expectedCount: 1),
            Case(fields: ["PRIORITY=0"], expectedCount: 0),
            Case(units: ["absent.service"], expectedCount: 0),
        ])
    func matchesSelectEntries(_ test: Case) async throws {
        try await withTemporaryDirectory { directory in
            let expected = try JournalFixtures.entries("basic").filter {
                Self.matches($0, units: test.units, fields: test.fields)
            }
            #expect(expected.count == test.expectedCount)
            try JournalFixtures.journal("basic", in: directory)
            let journal = try SystemdJournal(directory: directory)
            try journal.addMatches(units: test.units, fields: test.fields)
            let read = try readAll(journal)
            #expect(read.map(\.realtime) == expected.map(\.realtime))
            #expect(read.map(\.fields) == expected.map(\.payloadFields))
        }
    }

    @Test("an explicit disjunction ORs two conjunctions")
    func disjunction() async throws {
        try await withTemporaryDirectory { directory in
            let all = try JournalFixtures.entries("basic")
            try JournalFixtures.journal("basic", in: directory)
            let journal = try SystemdJournal(directory: directory)
            // (ssh.service AND PRIORITY=3) OR (nginx.service AND PRIORITY=6)
            try journal.addMatches(units: ["ssh.service"], fields: ["PRIORITY=3"])
            try journal.addDisjunction()
            try journal.addMatches(units: ["nginx.service"], fields: ["PRIORITY=6"])
            let expected = all.filter {
                Self.matches($0, units: ["ssh.service"], fields: ["PRIORITY=3"])
                    || Self.matches($0, units: ["nginx.service"], fields: ["PRIORITY=6"])
            }
            #expect(expected.count == 2)
            #expect(try readAll(journal).map(\.realtime) == expected.map(\.realtime))
        }
    }

    @Test(
        "malformed matches are rejected naming the match",
        arguments: [
            ("PRIORITY", "expected FIELD=value"),
            ("priority=3", "field name: only A-Z, 0-9 and _ are allowed"),
            ("=3", "field name: empty field name"),
            ("1FIELD=x", "field name: starts with a digit"),
        ])
    func malformedMatches(_ match: String, _ reason: String) throws {
        #expect(throws: JournalError.invalidMatch(match: match, reason: reason)) {
            try JournalMatches(fields: [match])
        }
        #expect(throws: JournalError.invalidMatch(match: "_SYSTEMD_UNIT=", reason: "empty unit name")) {
            try JournalMatches(units: [""])
        }
    }

    @Test("a match value may hold any bytes")
    func binaryMatchValue() throws {
        var matches = JournalMatches()
        try matches.append(bytes: Array("MESSAGE=".utf8) + [0, 0xFF, 0x0A])
        #expect(matches.matches.count == 1)
    }
}
