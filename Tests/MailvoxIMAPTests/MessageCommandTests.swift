import Foundation
import MailvoxCore
import MailvoxStoreTesting
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

@Suite struct MessageCommandTests {
    @Test func fetchEveryItem() async throws {
        var (harness, store) = try await Fixture.selected()
        let bytes = Fixture.message(subject: "Message 2", body: "Body number 2")
        let reply = try await harness.send(
            "c FETCH 2 (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE MODSEQ BODY.PEEK[1] "
                + "BODY.PEEK[1.MIME] BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[HEADER.FIELDS.NOT (Subject)] "
                + "BODY.PEEK[TEXT]<0.6> BODY.PEEK[]<5.10> RFC822.HEADER)")
        #expect(
            reply.hasPrefix(
                "* 2 FETCH (UID 2 FLAGS () INTERNALDATE \"15-Nov-2023 22:13:20 +0000\" RFC822.SIZE \(bytes.count) ENVELOPE ("
            ))
        #expect(
            reply.contains(
                "BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 13 0 NIL NIL NIL NIL)"))
        #expect(reply.contains(" MODSEQ ("))
        #expect(reply.contains("BODY[1] {13}\r\nBody number 2 "))
        #expect(reply.contains("BODY[1.MIME] {43}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"))
        #expect(reply.contains("BODY[HEADER.FIELDS (Subject)] {22}\r\nSubject: Message 2\r\n\r\n"))
        #expect(reply.contains("BODY[HEADER.FIELDS.NOT (Subject)] {"))
        #expect(reply.contains("BODY[TEXT]<0> {6}\r\n--b1\r\n"))
        #expect(reply.contains("BODY[]<5> {10}\r\n" + String(decoding: bytes[5..<15], as: UTF8.self)))
        #expect(reply.contains("RFC822.HEADER {"))
        // PEEK and RFC822.HEADER leave \Seen alone.
        #expect(try await store.summaries(in: "INBOX", uids: [2])[0].flags.system.isEmpty)
        #expect(harness.session.state.condStore)
    }

    @Test func bodyFetchSetsSeenAndReportsFlags() async throws {
        var (harness, store) = try await Fixture.selected()
        let bytes = Fixture.message(subject: "Message 1", body: "Body number 1")
        let reply = try await harness.send("c UID FETCH 1 (BODY[])")
        #expect(
            reply
                == "* 1 FETCH (UID 1 BODY[] {\(bytes.count)}\r\n\(String(decoding: bytes, as: UTF8.self)) FLAGS (\\Seen))\r\n"
                + "c OK FETCH completed\r\n")
        #expect(try await store.summaries(in: "INBOX", uids: [1])[0].flags.system == .seen)
        // The feed's echo of that change is not reported again.
        await harness.waitForFeed()
        #expect(try await harness.send("d NOOP").lines == ["d OK NOOP completed"])
        // EXAMINE never sets \Seen.
        try await harness.send("e EXAMINE INBOX")
        _ = try await harness.send("f FETCH 2 RFC822.TEXT")
        #expect(try await store.summaries(in: "INBOX", uids: [2])[0].flags.system.isEmpty)
        #expect(try await harness.send("g STORE 2 +FLAGS (\\Seen)").lines == ["g NO [READ-ONLY] Folder is read-only"])
    }

    @Test func largeBodiesAreStreamedWhole() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 0)
        let body = String(repeating: "0123456789abcdef\r\n", count: 20_000)
        let bytes = Fixture.message(body: body)
        try await store.deliver(bytes)
        var harness = SessionHarness(authenticator: authenticator)
        _ = try await harness.greet()
        try await harness.send("a LOGIN 1000 secret")
        try await harness.send("b SELECT INBOX")
        let reply = try await harness.send("c FETCH 1 BODY.PEEK[]")
        #expect(
            reply
                == "* 1 FETCH (BODY[] {\(bytes.count)}\r\n\(String(decoding: bytes, as: UTF8.self)))\r\nc OK FETCH completed\r\n"
        )
    }

    @Test func searchEveryKindOfKey() async throws {
        var (harness, store) = try await Fixture.selected(messages: 4)
        _ = try await store.storeFlags(
            in: "INBOX", uids: [2], operation: .add,
            flags: MessageFlags(system: [.seen, .flagged], keywords: ["$Work"]),
            unchangedSince: nil)
        await harness.waitForFeed()
        try await harness.send("c NOOP")
        func search(_ criteria: String) async throws -> String {
            try await harness.send("s SEARCH \(criteria)").lines.first ?? ""
        }
        #expect(try await search("ALL") == "* SEARCH 1 2 3 4")
        #expect(try await search("SEEN") == "* SEARCH 2")
        #expect(try await search("UNSEEN FLAGGED") == "* SEARCH")
        #expect(try await search("KEYWORD $Work") == "* SEARCH 2")
        #expect(try await search("UNKEYWORD $Work") == "* SEARCH 1 3 4")
        #expect(try await search("SUBJECT \"message 3\"") == "* SEARCH 3")
        #expect(try await search("FROM 4930123456") == "* SEARCH 1 2 3 4")
        #expect(try await search("TO nobody") == "* SEARCH")
        #expect(try await search("HEADER Message-ID \"\"") == "* SEARCH 1 2 3 4")
        #expect(try await search("BODY \"number 4\"") == "* SEARCH 4")
        #expect(try await search("TEXT \"Message 1\"") == "* SEARCH 1")
        #expect(try await search("OR 1 3:4") == "* SEARCH 1 3 4")
        #expect(try await search("NOT 2:3") == "* SEARCH 1 4")
        #expect(try await search("UID 2:*") == "* SEARCH 2 3 4")
        #expect(try await search("SINCE 15-Nov-2023") == "* SEARCH 2 3 4")
        #expect(try await search("BEFORE 15-Nov-2023") == "* SEARCH 1")
        #expect(try await search("ON 16-Nov-2023") == "* SEARCH 3")
        // The Date: header says 7 Feb 1994 21:52 -0800: its day as written, not 8 Feb in UTC.
        #expect(try await search("SENTON 7-Feb-1994") == "* SEARCH 1 2 3 4")
        #expect(try await search("SENTBEFORE 1-Jan-1990") == "* SEARCH")
        #expect(try await search("LARGER 10 SMALLER 100000") == "* SEARCH 1 2 3 4")
        #expect(try await search("NEW") == "* SEARCH")
        #expect(try await search("OLD") == "* SEARCH 1 2 3 4")
        #expect(try await search("(DELETED) OR ANSWERED DRAFT") == "* SEARCH")
        #expect(try await search("UNDELETED UNANSWERED UNDRAFT UNFLAGGED") == "* SEARCH 1 3 4")
        let modseq = try await store.summaries(in: "INBOX", uids: [2])[0].modseq
        #expect(try await search("MODSEQ \(modseq)") == "* SEARCH 2 (MODSEQ \(modseq))")
        #expect(try await search("CHARSET KOI8-R ALL") == "s NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset")
        #expect(
            try await harness.send("t UID SEARCH RETURN (MIN MAX COUNT ALL) NOT SEEN").lines == [
                "* ESEARCH (TAG \"t\") UID MIN 1 MAX 4 COUNT 3 ALL 1,3:4", "t OK SEARCH completed",
            ])
        #expect(
            try await harness.send("u SEARCH RETURN () DELETED").lines == [
                "* ESEARCH (TAG \"u\")", "u OK SEARCH completed",
            ])
    }

    @Test func storeWithUnchangedSinceReportsModified() async throws {
        var (harness, store) = try await Fixture.selected()
        try await harness.send("c ENABLE CONDSTORE")
        let modseqs = try await store.summaries(in: "INBOX", uids: [1, 2, 3]).map(\.modseq)
        _ = try await store.storeFlags(
            in: "INBOX", uids: [2], operation: .add, flags: MessageFlags(system: .answered), unchangedSince: nil)
        await harness.waitForFeed()
        let reply = try await harness.send("d STORE 1:3 (UNCHANGEDSINCE \(modseqs.max()!)) +FLAGS.SILENT (\\Flagged)")
        let lines = reply.lines
        #expect(lines.last == "d OK [MODIFIED 2] Conditional STORE failed")
        #expect(lines.contains { $0.hasPrefix("* 1 FETCH (MODSEQ (") })
        #expect(!lines.contains { $0.hasPrefix("* 1 FETCH (FLAGS") })
        let flags = try await store.summaries(in: "INBOX", uids: [1, 2, 3]).map(\.flags.system)
        #expect(flags == [.flagged, .answered, .flagged])
        let replace = try await harness.send("e UID STORE 2 FLAGS (\\Deleted foo)").lines
        // The new keyword is announced before the FETCH that shows it (RFC 3501 §7.2.6).
        #expect(replace[0] == "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft foo)")
        #expect(replace[2].hasPrefix("* 2 FETCH (UID 2 FLAGS (\\Deleted foo) MODSEQ ("))
        let minus = try await harness.send("f STORE 2 -FLAGS (foo)").lines
        #expect(minus[0].hasPrefix("* 2 FETCH (FLAGS (\\Deleted) MODSEQ ("))
        let changed = try await harness.send("g FETCH 1:* (FLAGS) (CHANGEDSINCE \(modseqs.max()!))").lines
        #expect(changed.count == 4 && changed.allSatisfy { !$0.hasPrefix("* ") || $0.contains("MODSEQ") })
        #expect(try await harness.send("h STORE 9 +FLAGS (\\Seen)").lines == ["h BAD Invalid message sequence number"])
    }

    @Test func copyAndMoveAnswerCopyUID() async throws {
        var (harness, store) = try await Fixture.selected(messages: 4)
        let trash = try await store.status(of: "Trash").uidValidity
        #expect(try await harness.send("c COPY 2:3 Trash").lines == ["c OK [COPYUID \(trash) 2:3 1:2] COPY completed"])
        #expect(try await harness.send("d COPY 1 Elsewhere").lines == ["d NO [TRYCREATE] No such folder"])
        let saved = try await store.status(of: "Saved").uidValidity
        let move = try await harness.send("e MOVE 2,4 Saved").lines
        #expect(
            move == [
                "* OK [COPYUID \(saved) 2,4 1:2] Moved UIDs", "* 4 EXPUNGE", "* 2 EXPUNGE", "e OK MOVE completed",
            ])
        #expect(try await store.snapshot(of: "INBOX").messages.map(\.uid) == [1, 3])
        let uidMove = try await harness.send("f UID MOVE 3 Trash").lines
        #expect(uidMove == ["* OK [COPYUID \(trash) 3 3] Moved UIDs", "* 2 EXPUNGE", "f OK MOVE completed"])
        await harness.waitForFeed()
        #expect(try await harness.send("g NOOP").lines == ["g OK NOOP completed"])
    }

    @Test func expungeRemovesDeletedAndUIDExpungeOnlyTheSet() async throws {
        var (harness, store) = try await Fixture.selected(messages: 5)
        try await harness.send("c STORE 1:4 +FLAGS.SILENT (\\Deleted)")
        #expect(
            try await harness.send("d UID EXPUNGE 3:4").lines == [
                "* 4 EXPUNGE", "* 3 EXPUNGE", "d OK EXPUNGE completed",
            ])
        #expect(try await harness.send("e EXPUNGE").lines == ["* 2 EXPUNGE", "* 1 EXPUNGE", "e OK EXPUNGE completed"])
        #expect(try await store.snapshot(of: "INBOX").messages.map(\.uid) == [5])
        try await harness.send("f STORE 1 +FLAGS.SILENT (\\Deleted)")
        #expect(try await harness.send("g CLOSE").lines == ["g OK CLOSE completed"])
        #expect(try await store.snapshot(of: "INBOX").messages.isEmpty)
    }

    /// RFC 3501 §7.4.1 and §5.5: another session's expunge is not reported while answering
    /// FETCH, STORE or SEARCH, but is at NOOP (and UID commands may report it).
    @Test func otherSessionsExpungeWaitsForAnAllowedCommand() async throws {
        var (harness, store) = try await Fixture.selected(messages: 3)
        _ = try await store.expunge(in: "INBOX", uids: [2])
        try await store.deliver(Fixture.message(subject: "New"))
        await harness.waitForFeed()
        try await Task.sleep(for: .milliseconds(50))
        let fetch = try await harness.send("c FETCH 1:3 (UID)").lines
        #expect(!fetch.contains { $0.hasSuffix("EXPUNGE") })
        #expect(fetch.contains("* 4 EXISTS"))
        #expect(fetch.contains("* 3 FETCH (UID 3)"))
        let search = try await harness.send("d SEARCH ALL").lines
        #expect(search == ["* SEARCH 1 3 4", "d OK SEARCH completed"])
        let store1 = try await harness.send("e STORE 3 +FLAGS (\\Flagged)").lines
        #expect(!store1.contains { $0.hasSuffix("EXPUNGE") })
        #expect(try await harness.send("f NOOP").lines == ["* 2 EXPUNGE", "f OK NOOP completed"])
        #expect(try await harness.send("g FETCH 3 (UID)").lines == ["* 3 FETCH (UID 4)", "g OK FETCH completed"])
    }

    @Test func idlePushesChangesAtOnce() async throws {
        var (harness, store) = try await Fixture.selected(messages: 2)
        #expect(try await harness.send("c IDLE").lines == ["+ idling"])
        #expect(harness.session.parserMode == .idle)
        try await store.deliver(Fixture.message(subject: "While idling"))
        // RFC 3501 §7.3.2: the count of recent messages changed with it.
        #expect(try await harness.pushChanges().lines == ["* 3 EXISTS", "* 1 RECENT"])
        _ = try await store.storeFlags(
            in: "INBOX", uids: [1], operation: .add, flags: MessageFlags(system: .seen), unchangedSince: nil)
        #expect(try await harness.pushChanges().lines == ["* 1 FETCH (UID 1 FLAGS (\\Seen))"])
        _ = try await store.expunge(in: "INBOX", uids: [2])
        #expect(try await harness.pushChanges().lines == ["* 2 EXPUNGE"])
        #expect(try await harness.send("DONE").lines == ["c OK IDLE terminated"])
        #expect(harness.session.parserMode == .command)
    }
}
