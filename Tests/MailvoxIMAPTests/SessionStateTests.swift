import Foundation
import MailvoxCore
import MailvoxStoreTesting
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

/// The session as a state machine: which commands each state takes, and the RFC 3501 §8
/// example exchange replayed against the in-memory store.
@Suite struct SessionStateTests {
    @Test func commandsNeedTheirState() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        var harness = SessionHarness(authenticator: authenticator)
        _ = try await harness.greet()
        #expect(try await harness.send("a SELECT INBOX").lines == ["a BAD Log in first"])
        #expect(try await harness.send("b FETCH 1 FLAGS").lines == ["b BAD Log in first"])
        try await harness.send("c LOGIN 1000 secret")
        #expect(try await harness.send("d FETCH 1 FLAGS").lines == ["d BAD No folder selected"])
        #expect(try await harness.send("e LOGIN 1000 secret").lines == ["e BAD Already logged in"])
        try await harness.send("f SELECT INBOX")
        guard case .selected(_, let folder) = harness.session.state.phase else {
            Issue.record("not selected")
            return
        }
        #expect(folder.name == "INBOX" && folder.tracker.count == 3)
        #expect(try await harness.send("g UNSELECT").lines == ["g OK UNSELECT completed"])
        guard case .authenticated = harness.session.state.phase else {
            Issue.record("UNSELECT did not go back to authenticated")
            return
        }
        let bye = try await harness.send("h LOGOUT")
        #expect(bye.lines == ["* BYE Mailvox logging out", "h OK LOGOUT completed"])
        #expect(harness.closed)
        guard case .logout = harness.session.state.phase else {
            Issue.record("not logged out")
            return
        }
    }

    @Test func failedSelectClosesThePreviousFolder() async throws {
        var (harness, _) = try await Fixture.selected()
        let reply = try await harness.send("c SELECT Nowhere")
        // RFC 7162 §3.2.11: [CLOSED] marks the end of the previous folder's responses.
        #expect(reply.lines == ["* OK [CLOSED] Previous folder closed", "c NO [NONEXISTENT] No such folder"])
        #expect(harness.session.state.selected == nil)
        #expect(harness.session.state.store != nil)
    }

    /// RFC 3501 §8, the sample IMAP4rev1 connection, with Mailvox's own texts.
    @Test func rfc3501SampleConnection() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 18)
        _ = try await store.storeFlags(
            in: "INBOX", uids: Array(1...17), operation: .add, flags: MessageFlags(system: .seen), unchangedSince: nil)
        var harness = SessionHarness(authenticator: authenticator)
        let greeting = try await harness.greet()
        #expect(greeting.hasPrefix("* OK [CAPABILITY IMAP4rev1 "))
        #expect(try await harness.send("a001 login 1000 secret").lines.last?.hasPrefix("a001 OK [CAPABILITY") == true)
        let select = try await harness.send("a002 select inbox").lines
        #expect(select.contains("* 18 EXISTS"))
        #expect(select.contains("* 0 RECENT"))
        #expect(select.contains("* OK [UNSEEN 18] First unseen"))
        #expect(select.contains { $0.hasPrefix("* OK [UIDVALIDITY ") })
        #expect(select.contains("* OK [UIDNEXT 19] Predicted next UID"))
        #expect(select.contains("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"))
        #expect(select.last == "a002 OK [READ-WRITE] SELECT completed")
        let fetch = try await harness.send("a003 fetch 12 full")
        #expect(fetch.hasPrefix("* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \""))
        #expect(fetch.contains("RFC822.SIZE "))
        #expect(fetch.contains("ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" \"Message 12\""))
        #expect(fetch.contains("BODY ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\""))
        #expect(fetch.hasSuffix("a003 OK FETCH completed\r\n"))
        let header = try await harness.send("a004 fetch 12 body[header]")
        #expect(header.hasPrefix("* 12 FETCH (BODY[HEADER] {"))
        #expect(header.contains("Subject: Message 12\r\n"))
        // BODY[HEADER] is not PEEK, but only the header was read: RFC 3501 still sets \Seen (it was already).
        let store4 = try await harness.send("a005 store 12 +flags \\deleted")
        #expect(store4.lines == ["* 12 FETCH (FLAGS (\\Deleted \\Seen))", "a005 OK STORE completed"])
        #expect(
            try await harness.send("a006 logout").lines == ["* BYE Mailvox logging out", "a006 OK LOGOUT completed"])
    }

    @Test func tooManyCommandsBeforeLoginEndWithBye() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        var harness = SessionHarness(
            authenticator: authenticator, configuration: SessionConfiguration(maxCommandsBeforeLogin: 3))
        _ = try await harness.greet()
        for tag in ["a", "b", "c"] {
            #expect(try await harness.send("\(tag) NOOP").lines == ["\(tag) OK NOOP completed"])
        }
        #expect(try await harness.send("d NOOP").lines == ["* BYE [LIMIT] Too many commands before login"])
        #expect(harness.closed)
    }
}
