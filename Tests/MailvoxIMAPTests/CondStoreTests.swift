import Foundation
import MailvoxCore
import Testing

@testable import MailvoxIMAP

/// RFC 7162 §3.1 (issue #14, item 6): the first CONDSTORE-enabling command in a selected
/// folder ends with HIGHESTMODSEQ, and SEARCH RETURN (MIN)/(MAX) reports the modseq of the
/// message it returns, not the folder's highest.
@Suite struct CondStoreTests {
    func modseqs(_ harness: inout SessionHarness) async throws -> [Int] {
        try await harness.send("m FETCH 1:* (MODSEQ)").lines.compactMap { line in
            guard let range = line.range(of: "MODSEQ (") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
    }

    @Test func theFirstEnablingCommandEndsWithHighestModSeq() async throws {
        for (index, enabling) in [
            "FETCH 1 (MODSEQ)", "SEARCH MODSEQ 1", "ENABLE CONDSTORE", "STATUS INBOX (HIGHESTMODSEQ)",
        ]
        .enumerated() {
            let (authenticator, store) = try await Fixture.setUp(messages: 3)
            var harness = try await Fixture.loggedIn(authenticator)
            try await harness.send("b SELECT INBOX")
            try await harness.send("c STORE 2 +FLAGS (\\Flagged)")
            let highest = try await store.status(of: "INBOX").highestModseq
            let first = try await harness.send("d \(enabling)").lines
            #expect(
                first.last?.hasPrefix("d OK [HIGHESTMODSEQ \(highest)]") == true
                    || first.contains("* OK [HIGHESTMODSEQ \(highest)] Highest"), "case \(index): \(first)")
            let second = try await harness.send("e \(enabling)").lines
            #expect(!second.contains { $0.contains("HIGHESTMODSEQ \(highest)]") }, "case \(index): \(second)")
        }
    }

    @Test func selectWithCondStoreOwesNothingMore() async throws {
        let (authenticator, _) = try await Fixture.setUp(messages: 2)
        var harness = try await Fixture.loggedIn(authenticator)
        try await harness.send("b SELECT INBOX (CONDSTORE)")
        let fetch = try await harness.send("c FETCH 1 (MODSEQ)").lines
        #expect(fetch.last?.hasPrefix("c OK FETCH") == true, "\(fetch)")
    }

    @Test func minAndMaxReportTheirOwnModSeq() async throws {
        let (authenticator, _) = try await Fixture.setUp(messages: 3)
        var harness = try await Fixture.loggedIn(authenticator)
        try await harness.send("b SELECT INBOX (CONDSTORE)")
        // Changed in the order 1, 3, 2: the middle message holds the folder's highest modseq.
        try await harness.send("c STORE 1 +FLAGS (\\Answered)")
        try await harness.send("d STORE 3 +FLAGS (\\Flagged)")
        try await harness.send("e STORE 2 +FLAGS (\\Flagged)")
        let values = try await modseqs(&harness)
        try #require(values.count == 3 && values[0] < values[2] && values[2] < values[1], "\(values)")
        func esearch(_ options: String) async throws -> String {
            try await harness.send("s SEARCH RETURN (\(options)) MODSEQ 1").lines.first ?? ""
        }
        #expect(try await esearch("MIN") == "* ESEARCH (TAG \"s\") MIN 1 MODSEQ \(values[0])")
        #expect(try await esearch("MAX") == "* ESEARCH (TAG \"s\") MAX 3 MODSEQ \(values[2])")
        #expect(try await esearch("MIN MAX") == "* ESEARCH (TAG \"s\") MIN 1 MAX 3 MODSEQ \(max(values[0], values[2]))")
        #expect(try await esearch("COUNT") == "* ESEARCH (TAG \"s\") COUNT 3 MODSEQ \(values.max()!)")
    }
}
