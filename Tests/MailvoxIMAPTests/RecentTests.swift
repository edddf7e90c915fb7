import Foundation
import MailvoxCore
import MailvoxStoreTesting
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

/// `\Recent` (RFC 3501 §2.3.2) as Dovecot keeps it: the first session to SELECT a folder, or to
/// be told of a new message, holds it as recent; EXAMINE and STATUS only look.
@Suite struct RecentTests {
    @Test func theFirstSelectHoldsTheRecentMessagesAndASecondSeesNone() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 3, recent: true)
        var first = try await Fixture.loggedIn(authenticator)
        let select = try await first.send("b SELECT INBOX").lines
        #expect(select.contains("* 3 EXISTS") && select.contains("* 3 RECENT"))
        #expect(
            try await first.send("c FETCH 1:3 (FLAGS)").lines == [
                "* 1 FETCH (FLAGS (\\Recent))", "* 2 FETCH (FLAGS (\\Recent))", "* 3 FETCH (FLAGS (\\Recent))",
                "c OK FETCH completed",
            ])
        #expect(
            try await first.send("d STORE 2 +FLAGS (\\Seen)").lines == [
                "* 2 FETCH (FLAGS (\\Seen \\Recent))", "d OK STORE completed",
            ])
        // BODY[] sets \Seen and reports FLAGS with \Recent still in them.
        let body = try await first.send("e FETCH 3 (BODY[HEADER.FIELDS (Subject)])").lines
        #expect(body.contains(" FLAGS (\\Seen \\Recent))"))
        #expect(try await store.status(of: "INBOX").recent == 0)

        var second = try await Fixture.loggedIn(authenticator)
        let again = try await second.send("b SELECT INBOX").lines
        #expect(again.contains("* 3 EXISTS") && again.contains("* 0 RECENT"))
        #expect(try await second.send("c FETCH 1 (FLAGS)").lines == ["* 1 FETCH (FLAGS ())", "c OK FETCH completed"])
        // The first session keeps them for as long as it has the folder selected…
        #expect(
            try await first.send("f FETCH 1 (FLAGS)").lines == ["* 1 FETCH (FLAGS (\\Recent))", "f OK FETCH completed"])
        // …and no longer once it selects it again.
        #expect(try await first.send("g SELECT INBOX").lines.contains("* 0 RECENT"))
        #expect(try await first.send("h FETCH 1 (FLAGS)").lines == ["* 1 FETCH (FLAGS ())", "h OK FETCH completed"])
    }

    @Test func examineShowsTheUnclaimedWithoutClaimingThem() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 3, recent: true)
        var reader = try await Fixture.loggedIn(authenticator)
        let examine = try await reader.send("b EXAMINE INBOX").lines
        #expect(examine.contains("* 3 RECENT"))
        #expect(
            try await reader.send("c FETCH 2 (FLAGS)").lines == [
                "* 2 FETCH (FLAGS (\\Recent))", "c OK FETCH completed",
            ])
        #expect(try await store.status(of: "INBOX").recent == 3)

        var writer = try await Fixture.loggedIn(authenticator)
        #expect(try await writer.send("b SELECT INBOX").lines.contains("* 3 RECENT"))
        #expect(try await store.status(of: "INBOX").recent == 0)
        // A new message: unclaimed until the selecting session is told of it.
        try await store.deliver(Fixture.message(subject: "New"))
        await reader.waitForFeed()
        #expect(try await reader.send("d NOOP").lines == ["* 4 EXISTS", "* 4 RECENT", "d OK NOOP completed"])
        #expect(try await store.status(of: "INBOX").recent == 1)
        await writer.waitForFeed()
        #expect(try await writer.send("c NOOP").lines == ["* 4 EXISTS", "* 4 RECENT", "c OK NOOP completed"])
        #expect(try await store.status(of: "INBOX").recent == 0)
        // EXAMINE after the claim: nothing is recent any more.
        #expect(try await reader.send("e EXAMINE INBOX").lines.contains("* 0 RECENT"))
    }

    @Test func statusCountsWhatNoSessionClaimed() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 2, recent: true)
        var watcher = try await Fixture.loggedIn(authenticator)
        func status() async throws -> [String] {
            try await watcher.send("s STATUS INBOX (MESSAGES RECENT)").lines
        }
        #expect(try await status() == ["* STATUS INBOX (MESSAGES 2 RECENT 2)", "s OK STATUS completed"])
        #expect(
            try await watcher.send("t STATUS Saved (RECENT)").lines == [
                "* STATUS Saved (RECENT 0)", "t OK STATUS completed",
            ])
        var reader = try await Fixture.loggedIn(authenticator)
        try await reader.send("b EXAMINE INBOX")
        #expect(try await status() == ["* STATUS INBOX (MESSAGES 2 RECENT 2)", "s OK STATUS completed"])
        var selector = try await Fixture.loggedIn(authenticator)
        try await selector.send("b SELECT INBOX")
        #expect(try await status() == ["* STATUS INBOX (MESSAGES 2 RECENT 0)", "s OK STATUS completed"])
        try await store.deliver(Fixture.message(subject: "New"))
        #expect(try await status() == ["* STATUS INBOX (MESSAGES 3 RECENT 1)", "s OK STATUS completed"])
    }

    @Test func searchRecentNewAndOldUseTheSessionsRecentMessages() async throws {
        var (harness, store) = try await Fixture.selected(messages: 3)
        func search(_ criteria: String) async throws -> String {
            try await harness.send("s \(criteria)").lines.first ?? ""
        }
        #expect(try await search("SEARCH RECENT") == "* SEARCH")
        #expect(try await search("SEARCH NEW") == "* SEARCH")
        #expect(try await search("SEARCH OLD") == "* SEARCH 1 2 3")
        try await store.deliver(Fixture.message(subject: "Fourth"))
        try await store.deliver(Fixture.message(subject: "Fifth"))
        await harness.waitForFeed()
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await harness.send("c NOOP").lines == ["* 5 EXISTS", "* 2 RECENT", "c OK NOOP completed"])
        try await harness.send("d STORE 4 +FLAGS.SILENT (\\Seen)")
        #expect(try await search("SEARCH RECENT") == "* SEARCH 4 5")
        #expect(try await search("SEARCH NEW") == "* SEARCH 5")
        #expect(try await search("SEARCH OLD") == "* SEARCH 1 2 3")
        #expect(try await search("SEARCH NOT RECENT") == "* SEARCH 1 2 3")
        #expect(try await search("SEARCH OR RECENT 1") == "* SEARCH 1 4 5")
        #expect(try await search("SEARCH RECENT SEEN") == "* SEARCH 4")
        #expect(try await search("UID SEARCH NEW") == "* SEARCH 5")
        #expect(try await search("SEARCH RETURN (COUNT) RECENT") == "* ESEARCH (TAG \"s\") COUNT 2")
    }

    @Test func aMessageArrivingWhileIdleIsRecentHereAndNowhereElse() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 2)
        var idler = try await Fixture.loggedIn(authenticator)
        #expect(try await idler.send("b SELECT INBOX").lines.contains("* 0 RECENT"))
        #expect(try await idler.send("c IDLE").lines == ["+ idling"])
        try await store.deliver(Fixture.message(subject: "While idling"))
        #expect(try await idler.pushChanges().lines == ["* 3 EXISTS", "* 1 RECENT"])
        _ = try await store.storeFlags(
            in: "INBOX", uids: [3], operation: .add, flags: MessageFlags(system: .flagged), unchangedSince: nil)
        #expect(try await idler.pushChanges().lines == ["* 3 FETCH (UID 3 FLAGS (\\Flagged \\Recent))"])
        #expect(try await idler.send("DONE").lines == ["c OK IDLE terminated"])
        #expect(
            try await idler.send("d FETCH 2:3 (FLAGS)").lines == [
                "* 2 FETCH (FLAGS ())", "* 3 FETCH (FLAGS (\\Flagged \\Recent))", "d OK FETCH completed",
            ])

        var later = try await Fixture.loggedIn(authenticator)
        #expect(try await later.send("b SELECT INBOX").lines.contains("* 0 RECENT"))
        #expect(try await store.status(of: "INBOX").recent == 0)
    }

    @Test func ownAppendsAndCopiesAreRecentAndExpungeTakesThemAway() async throws {
        var (harness, store) = try await Fixture.selected(messages: 2)
        let message = String(decoding: Fixture.message(subject: "Appended"), as: UTF8.self)
        var lines = try await harness.send("c APPEND INBOX {\(message.utf8.count)+}\r\n\(message)\r\n").lines
        try await Task.sleep(for: .milliseconds(50))
        lines += try await harness.send("d NOOP").lines
        #expect(lines.filter { $0.hasPrefix("* ") } == ["* 3 EXISTS", "* 1 RECENT"])
        lines = try await harness.send("e COPY 1 INBOX").lines
        try await Task.sleep(for: .milliseconds(50))
        lines += try await harness.send("f NOOP").lines
        #expect(lines.filter { $0.hasPrefix("* ") } == ["* 4 EXISTS", "* 2 RECENT"])
        #expect(try await harness.send("g SEARCH RECENT").lines.first == "* SEARCH 3 4")

        try await harness.send("h STORE 3 +FLAGS.SILENT (\\Deleted)")
        #expect(try await harness.send("i EXPUNGE").lines == ["* 3 EXPUNGE", "* 1 RECENT", "i OK EXPUNGE completed"])
        #expect(try await harness.send("j SEARCH RECENT").lines.first == "* SEARCH 3")
        #expect(try await harness.send("k FETCH 3 (UID FLAGS)").lines.first == "* 3 FETCH (UID 4 FLAGS (\\Recent))")
        #expect(try await store.status(of: "INBOX").recent == 0)
    }

    /// RFC 3501 §2.3.2: `\Recent` cannot be altered by the client; STORE ignores it.
    @Test func storeCanNeitherSetNorClearRecent() async throws {
        var (harness, store) = try await Fixture.selected(messages: 2)
        try await store.deliver(Fixture.message(subject: "New"))
        await harness.waitForFeed()
        try await harness.send("b NOOP")
        #expect(
            try await harness.send("c STORE 1 +FLAGS (\\Recent)").lines == [
                "* 1 FETCH (FLAGS ())", "c OK STORE completed",
            ])
        #expect(
            try await harness.send("d STORE 3 -FLAGS (\\Recent)").lines == [
                "* 3 FETCH (FLAGS (\\Recent))", "d OK STORE completed",
            ])
        #expect(
            try await harness.send("e STORE 3 FLAGS (\\Seen \\Recent)").lines == [
                "* 3 FETCH (FLAGS (\\Seen \\Recent))", "e OK STORE completed",
            ])
        #expect(
            try await harness.send("f STORE 3 FLAGS (\\Recent)").lines == [
                "* 3 FETCH (FLAGS (\\Recent))", "f OK STORE completed",
            ])
        #expect(try await store.summaries(in: "INBOX", uids: [1, 3]).map(\.flags) == [MessageFlags(), MessageFlags()])
        #expect(try await harness.send("g SEARCH RECENT").lines.first == "* SEARCH 3")
    }

    /// Sessions of one server share how far recent messages were claimed: a delivery that woke
    /// them all is claimed once, by the first, and the others do not ask the store again.
    @Test func sessionsOfOneServerShareTheirClaims() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 1)
        let caches = SessionCaches()
        var sessions: [SessionHarness] = []
        for _ in 0..<3 {
            var harness = try await Fixture.loggedIn(authenticator, caches: caches)
            try await harness.send("b SELECT INBOX")
            sessions.append(harness)
        }
        try await store.deliver(Fixture.message(subject: "Second"))
        for index in sessions.indices { await sessions[index].waitForFeed() }
        #expect(try await sessions[1].send("c NOOP").lines == ["* 2 EXISTS", "* 1 RECENT", "c OK NOOP completed"])
        #expect(try await sessions[0].send("c NOOP").lines == ["* 2 EXISTS", "c OK NOOP completed"])
        #expect(try await sessions[2].send("c NOOP").lines == ["* 2 EXISTS", "c OK NOOP completed"])

        // The shared mark is trusted: past it, a session leaves the store alone, so a message
        // a mark (wrongly) covers stays unclaimed there.
        let uidValidity = try await store.status(of: "INBOX").uidValidity
        try await caches.recentClaims.noteClaim(
            below: 100, mailbox: Fixture.mailbox, folder: "INBOX", uidValidity: uidValidity)
        try await store.deliver(Fixture.message(subject: "Third"))
        await sessions[0].waitForFeed()
        #expect(try await sessions[0].send("d NOOP").lines == ["* 3 EXISTS", "d OK NOOP completed"])
        #expect(try await store.status(of: "INBOX").recent == 1)
    }
}
