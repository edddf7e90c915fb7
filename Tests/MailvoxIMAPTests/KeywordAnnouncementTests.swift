import MailvoxCore
import Testing

@testable import MailvoxIMAP

/// RFC 3501 §7.2.6: FLAGS names every flag a FETCH may report. A keyword in use is listed at
/// SELECT, and one that appears later is announced — FLAGS, then PERMANENTFLAGS — to every
/// session of the folder before the first FETCH that shows it (issue #14, item 1: found thousands
/// of times by the randomised multi-client run).
@Suite struct KeywordAnnouncementTests {
    static let system = "\\Answered \\Flagged \\Deleted \\Seen \\Draft"

    @Test func selectListsTheKeywordsInUse() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 2)
        _ = try await store.storeFlags(
            in: "INBOX", uids: [2], operation: .add, flags: MessageFlags(keywords: ["$Label1", "Junk"]),
            unchangedSince: nil)
        var harness = try await Fixture.loggedIn(authenticator)
        let lines = try await harness.send("b SELECT INBOX").lines
        #expect(lines.contains("* FLAGS (\(Self.system) $Label1 Junk)"), "\(lines)")
        #expect(lines.contains("* OK [PERMANENTFLAGS (\(Self.system) $Label1 Junk \\*)] Flags permitted"), "\(lines)")
        // EXAMINE lists them too; nothing is permanent there.
        let examined = try await harness.send("c EXAMINE INBOX").lines
        #expect(examined.contains("* FLAGS (\(Self.system) $Label1 Junk)"), "\(examined)")
    }

    @Test func aNewKeywordIsAnnouncedBeforeTheFetchThatShowsIt() async throws {
        var (harness, _) = try await Fixture.selected()
        let lines = try await harness.send("d STORE 1 +FLAGS ($Label1)").lines
        #expect(
            lines == [
                "* FLAGS (\(Self.system) $Label1)",
                "* OK [PERMANENTFLAGS (\(Self.system) $Label1 \\*)] Flags permitted",
                "* 1 FETCH (FLAGS ($Label1))", "d OK STORE completed",
            ], "\(lines)")
        // Once told, never again; case does not make a keyword new.
        let again = try await harness.send("e STORE 2 +FLAGS ($label1)").lines
        #expect(!again.contains { $0.hasPrefix("* FLAGS") }, "\(again)")
        let fetched = try await harness.send("f FETCH 1:2 (FLAGS)").lines
        #expect(!fetched.contains { $0.hasPrefix("* FLAGS") }, "\(fetched)")
    }

    @Test func anotherSessionLearnsTheKeywordBeforeItsFetch() async throws {
        let (authenticator, _) = try await Fixture.setUp(messages: 2)
        var setter = try await Fixture.loggedIn(authenticator)
        var watcher = try await Fixture.loggedIn(authenticator)
        try await setter.send("b SELECT INBOX")
        try await watcher.send("b SELECT INBOX")
        try await setter.send("c STORE 2 +FLAGS ($Important)")
        await watcher.waitForFeed()
        let lines = try await watcher.send("d NOOP").lines
        let flags = lines.firstIndex(of: "* FLAGS (\(Self.system) $Important)")
        let fetch = lines.firstIndex { $0.hasPrefix("* 2 FETCH (") && $0.contains("FLAGS ($Important)") }
        #expect(flags != nil && fetch != nil && flags! < fetch!, "\(lines)")
    }
}
