import Foundation
import MailvoxCore
import MailvoxStoreTesting
import Testing

@testable import MailvoxIMAP

/// SORT and UID SORT (RFC 5256), ESORT's RETURN (RFC 5267) and DISPLAYFROM/DISPLAYTO (RFC 5957),
/// so clients can list voicemail by date, caller or size without fetching every header.
@Suite struct SortTests {
    /// A message with the header fields SORT reads.
    static func message(
        subject: String = "Voicemail", from: String = "\"Caller\" <caller@example.com>",
        to: String = "\"Owner\" <owner@example.com>", cc: String? = nil,
        date: String? = "Mon, 7 Feb 1994 21:52:25 -0800", body: String = "Hello"
    ) -> [UInt8] {
        var lines = ["From: \(from)", "To: \(to)", "Subject: \(subject)"]
        if let cc { lines.append("Cc: \(cc)") }
        if let date { lines.append("Date: \(date)") }
        lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""]
        return Array(lines.joined(separator: "\r\n").utf8)
    }

    /// A selected INBOX holding `messages`, delivered in order a day apart (so ARRIVAL is UID order
    /// unless `arrivals` says otherwise).
    static func selected(_ messages: [[UInt8]], arrivals: [Double]? = nil) async throws -> SessionHarness {
        let (authenticator, store) = try await Fixture.setUp(messages: 0)
        for (index, bytes) in messages.enumerated() {
            let day = arrivals?[index] ?? Double(index)
            try await store.deliver(bytes, internalDate: Date(timeIntervalSince1970: 1_700_000_000 + day * 86_400))
        }
        _ = try await store.claimRecent(in: "INBOX")
        var harness = try await Fixture.loggedIn(authenticator)
        try await harness.send("b SELECT INBOX")
        return harness
    }

    @Test func subjectSortsByBaseSubject() async throws {
        var harness = try await Self.selected([
            Self.message(subject: "Re: banana"), Self.message(subject: "apple"),
            Self.message(subject: "[list] Fwd: Cherry (fwd)"), Self.message(subject: "=?UTF-8?Q?=C3=84pfel?="),
            Self.message(subject: "[Fwd: RE: Apple]"),
        ])
        // Äpfel decomposes to A + U+0308, after "APPLE" and before "BANANA"; 5 ties with 2 by sequence.
        #expect(
            try await harness.send("c SORT (SUBJECT) UTF-8 ALL").lines == ["* SORT 2 5 4 1 3", "c OK SORT completed"])
        #expect(try await harness.send("d SORT (REVERSE SUBJECT) US-ASCII ALL").lines.first == "* SORT 3 1 4 2 5")
    }

    @Test(arguments: [
        ("Re: Re: [list] Fwd: hello (fwd)", "hello"),
        ("[fwd: Re: hi]", "hi"),
        ("[Fwd: [fwd: nested] (fwd)]", "nested"),
        ("[only a blob]", "[only a blob]"),
        ("[a][b] subject", "subject"),
        ("Re:", ""),
        ("  spaced \t  out  ", "spaced out"),
        ("RE [x]: y", "y"),
        ("fw: a", "a"),
        ("Fwd : b", "b"),
        ("Reply: x", "Reply: x"),
        ("Re: =?UTF-8?B?UmU6IGJsYWg=?=", "blah"),
        ("", ""),
    ])
    func baseSubjectFollowsRFC5256(_ subject: String, _ base: String) {
        #expect(SortValue.baseSubject(subject) == base)
    }

    @Test func dateUsesTheHeaderThenInternalDateAndTiesBySequence() async throws {
        var harness = try await Self.selected(
            [
                Self.message(date: "Tue, 8 Feb 1994 10:00:00 +0100"),  // 09:00 UTC
                Self.message(date: "Tue, 8 Feb 1994 01:00:00 -0800"),  // 09:00 UTC, ties with 1
                Self.message(date: "not a date"),  // arrival: 1970, earliest
                Self.message(date: nil),  // arrival: 2023
                Self.message(date: "7 Feb 94 23:00 GMT"),
            ], arrivals: [0, 0, -19_600, 0, 0])
        #expect(try await harness.send("c SORT (DATE) UTF-8 ALL").lines.first == "* SORT 3 5 1 2 4")
        // REVERSE turns the key around; equal messages still come in mailbox order.
        #expect(try await harness.send("d SORT (REVERSE DATE) UTF-8 ALL").lines.first == "* SORT 4 1 2 5 3")
    }

    @Test func arrivalSizeAndUIDs() async throws {
        var harness = try await Self.selected(
            [
                Self.message(body: "a"), Self.message(body: String(repeating: "b", count: 300)),
                Self.message(body: "cc"),
            ],
            arrivals: [5, 1, 3])
        #expect(try await harness.send("c SORT (ARRIVAL) UTF-8 ALL").lines.first == "* SORT 2 3 1")
        #expect(try await harness.send("d SORT (REVERSE SIZE) UTF-8 ALL").lines.first == "* SORT 2 3 1")
        try await harness.send("e STORE 2 +FLAGS (\\Seen)")
        #expect(
            try await harness.send("f UID SORT (SIZE) UTF-8 UNSEEN").lines == ["* SORT 1 3", "f OK SORT completed"])
    }

    @Test func addressKeysUseTheFirstMailboxAndDisplayKeysTheName() async throws {
        var harness = try await Self.selected([
            Self.message(from: "\"Zed\" <Bob@example.com>", to: "carol@example.com", cc: "x@a, b@b"),
            Self.message(from: "=?UTF-8?Q?=C3=89mile?= <zoe@example.com>", to: "\"Al\" <zed@example.com>"),
            Self.message(from: "alice@example.com", to: "Undisclosed:;", cc: "a@z"),
        ])
        // FROM: bob, zoe, alice (local parts, case-folded).
        #expect(try await harness.send("c SORT (FROM) UTF-8 ALL").lines.first == "* SORT 3 1 2")
        // DISPLAYFROM: "Zed", "Émile" (decoded; É decomposes to E and sorts with it), and no name
        // (alice@example.com, the addr-spec).
        #expect(try await harness.send("d SORT (DISPLAYFROM) UTF-8 ALL").lines.first == "* SORT 3 2 1")
        // TO: carol, zed, and an empty group (no address, the empty string first).
        #expect(try await harness.send("e SORT (TO) UTF-8 ALL").lines.first == "* SORT 3 1 2")
        // DISPLAYTO: "" , "Al", carol@example.com.
        #expect(try await harness.send("f SORT (DISPLAYTO) UTF-8 ALL").lines.first == "* SORT 3 2 1")
        // CC: x, none, a.
        #expect(try await harness.send("g SORT (CC) UTF-8 ALL").lines.first == "* SORT 2 3 1")
    }

    @Test func laterCriteriaBreakTies() async throws {
        var harness = try await Self.selected([
            Self.message(from: "b@x", body: "long body here"), Self.message(from: "a@x", body: "x"),
            Self.message(from: "b@x", body: "x"), Self.message(from: "a@x", body: "long body here"),
        ])
        #expect(try await harness.send("c SORT (FROM REVERSE SIZE) UTF-8 ALL").lines.first == "* SORT 4 2 1 3")
        #expect(try await harness.send("d SORT (FROM SIZE) UTF-8 FROM b").lines.first == "* SORT 3 1")
    }

    @Test func esortReturnsInSortOrder() async throws {
        var harness = try await Self.selected(
            [
                Self.message(subject: "d"), Self.message(subject: "a"), Self.message(subject: "b"),
                Self.message(subject: "c"), Self.message(subject: "e"),
            ])
        // RFC 5267 §3.1: MIN and MAX are the first and last in sort order; ALL keeps the order,
        // merging only runs that ascend by one.
        #expect(
            try await harness.send("c SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL").lines == [
                "* ESEARCH (TAG \"c\") MIN 2 MAX 5 COUNT 5 ALL 2:4,1,5", "c OK SORT completed",
            ])
        #expect(
            try await harness.send("d UID SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 ALL").lines.first
                == "* ESEARCH (TAG \"d\") UID ALL 5,4,3,2,1")
        #expect(
            try await harness.send("e SORT RETURN () (SUBJECT) UTF-8 NOT 1").lines.first
                == "* ESEARCH (TAG \"e\") ALL 2:5")
        #expect(
            try await harness.send("f SORT RETURN (MIN COUNT) (SUBJECT) UTF-8 SUBJECT zzz").lines == [
                "* ESEARCH (TAG \"f\") COUNT 0", "f OK SORT completed",
            ])
    }

    @Test func hostileSortsAreRefused() async throws {
        var harness = try await Self.selected([Self.message()])
        for command in [
            "SORT () UTF-8 ALL", "SORT (BOGUS) UTF-8 ALL", "SORT (REVERSE) UTF-8 ALL",
            "SORT (REVERSE REVERSE DATE) UTF-8 ALL",
            "SORT (DATE) ALL", "SORT (DATE)", "SORT DATE UTF-8 ALL", "SORT RETURN (BOGUS) (DATE) UTF-8 ALL",
            "SORT (DATE) UTF-8", "UID SORT (DATE SUBJECT UTF-8 ALL", "SORT (DATE) UTF-8 ALL (",
        ] {
            let lines = try await harness.send("h \(command)").lines
            #expect(lines.count == 1 && lines[0].hasPrefix("h BAD"), "\(command): \(lines)")
        }
        #expect(
            try await harness.send("i SORT (DATE) KOI8-R ALL").lines == [
                "i NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset"
            ])
        try await harness.send("j UNSELECT")
        #expect(try await harness.send("k SORT (DATE) UTF-8 ALL").lines == ["k BAD No folder selected"])
    }

    @Test func sortWithModSeqReportsTheHighest() async throws {
        var harness = try await Self.selected([Self.message(subject: "b"), Self.message(subject: "a")])
        let lines = try await harness.send("c SORT (SUBJECT) UTF-8 MODSEQ 1").lines
        #expect(lines.first?.hasPrefix("* SORT 2 1 (MODSEQ ") == true, "\(lines)")
    }
}
