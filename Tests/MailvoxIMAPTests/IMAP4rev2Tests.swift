import Foundation
import MailvoxCore
import MailvoxStoreTesting
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

/// IMAP4rev2 (RFC 9051) beside IMAP4rev1, and UTF8=ACCEPT (RFC 6855): what changes for a session
/// once it ENABLEs either, and that nothing changes for one that does not.
@Suite struct IMAP4rev2Tests {
    @Test func bothAreAdvertisedAndEnabledByTheirOwnNames() async throws {
        let (authenticator, _) = try await Fixture.setUp(messages: 0)
        var harness = try await Fixture.loggedIn(authenticator)
        let capability = try await harness.send("b CAPABILITY").lines[0]
        #expect(capability.hasPrefix("* CAPABILITY IMAP4rev1 IMAP4rev2 "))
        #expect(capability.contains(" UTF8=ACCEPT"))
        // RFC 7888 §4: never LITERAL- beside LITERAL+, which IMAP4rev2's LITERAL- is a subset of.
        #expect(capability.contains(" LITERAL+") && !capability.contains("LITERAL-"))
        #expect(
            try await harness.send("c ENABLE imap4rev2 utf8=accept IMAP4REV2 X-UNKNOWN").lines == [
                "* ENABLED IMAP4rev2 UTF8=ACCEPT", "c OK ENABLE completed",
            ])
    }

    /// RFC 9051 §6.3.2's example: no RECENT and no UNSEEN, a LIST of the folder instead.
    @Test func selectSendsListInsteadOfRecentAndUnseen() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 2, recent: true)
        var harness = try await Fixture.loggedIn(authenticator)
        try await harness.send("b ENABLE IMAP4rev2")
        let select = try await harness.send("c SELECT INBOX").lines
        #expect(select.contains("* 2 EXISTS"))
        #expect(select.contains("* LIST (\\HasNoChildren) \"/\" INBOX"), "\(select)")
        #expect(!select.contains { $0.contains("RECENT") || $0.contains("[UNSEEN") }, "\(select)")
        #expect(select.last == "c OK [READ-WRITE] SELECT completed")
        let trash = try await harness.send("d EXAMINE Trash").lines
        #expect(trash.contains("* LIST (\\HasNoChildren \\Trash) \"/\" Trash"), "\(trash)")
        // It claimed nothing: an IMAP4rev1 session still gets the two messages as recent.
        #expect(try await store.status(of: "INBOX").recent == 2)
        var rev1 = try await Fixture.loggedIn(authenticator)
        #expect(try await rev1.send("b SELECT INBOX").lines.contains("* 2 RECENT"))
    }

    @Test func noRecentInFlagsUpdatesOrSearch() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 1, recent: true)
        var harness = try await Fixture.loggedIn(authenticator)
        try await harness.send("b ENABLE IMAP4rev2")
        try await harness.send("c SELECT INBOX")
        #expect(try await harness.send("d FETCH 1 (FLAGS)").lines == ["* 1 FETCH (FLAGS ())", "d OK FETCH completed"])
        #expect(try await harness.send("e IDLE").lines == ["+ idling"])
        try await store.deliver(Fixture.message(subject: "New"))
        // An IMAP4rev1 session would get `* 1 RECENT` with it (MessageCommandTests).
        #expect(try await harness.pushChanges().lines == ["* 2 EXISTS"])
        #expect(try await harness.send("DONE").lines == ["e OK IDLE terminated"])
        #expect(
            try await harness.send("f SEARCH RECENT").lines == ["* ESEARCH (TAG \"f\")", "f OK SEARCH completed"])
        #expect(
            try await harness.send("g SEARCH OLD").lines == [
                "* ESEARCH (TAG \"g\") ALL 1:2", "g OK SEARCH completed",
            ])
    }

    /// ENABLE after SELECT (which this server allows, as Dovecot does): what the session had
    /// claimed is let go without a `* 0 RECENT`.
    @Test func enablingWhileSelectedDropsRecentSilently() async throws {
        let (authenticator, _) = try await Fixture.setUp(messages: 2, recent: true)
        var harness = try await Fixture.loggedIn(authenticator)
        #expect(try await harness.send("b SELECT INBOX").lines.contains("* 2 RECENT"))
        try await harness.send("c ENABLE IMAP4rev2")
        #expect(
            try await harness.send("d FETCH 1:2 (FLAGS)").lines == [
                "* 1 FETCH (FLAGS ())", "* 2 FETCH (FLAGS ())", "d OK FETCH completed",
            ])
        #expect(try await harness.send("e NOOP").lines == ["e OK NOOP completed"])
    }

    /// RFC 9051 §6.4.4 / §7.3.4: SEARCH answers ESEARCH with the command's tag; UID SEARCH adds UID.
    @Test func searchAnswersESearch() async throws {
        var (harness, _) = try await Fixture.selected(messages: 3)
        #expect(try await harness.send("c SEARCH ALL").lines.first == "* SEARCH 1 2 3")
        try await harness.send("d ENABLE IMAP4rev2")
        #expect(
            try await harness.send("e SEARCH 2:3").lines == ["* ESEARCH (TAG \"e\") ALL 2:3", "e OK SEARCH completed"])
        #expect(try await harness.send("f UID SEARCH 1").lines.first == "* ESEARCH (TAG \"f\") UID ALL 1")
        #expect(try await harness.send("g SEARCH RETURN (COUNT) ALL").lines.first == "* ESEARCH (TAG \"g\") COUNT 3")
        #expect(try await harness.send("h SEARCH SUBJECT nothing").lines.first == "* ESEARCH (TAG \"h\")")
        // SORT keeps its own response.
        #expect(try await harness.send("i SORT (SUBJECT) UTF-8 ALL").lines.first == "* SORT 1 2 3")
    }

    /// RFC 6855 §3: once enabled, names are UTF-8 both ways — `&` is just `&` — while a session
    /// that did not enable it keeps modified UTF-7 for the same folders.
    @Test func utf8NamesBothWays() async throws {
        for enable in ["UTF8=ACCEPT", "IMAP4rev2"] {
            let (authenticator, store) = try await Fixture.setUp(messages: 1)
            var harness = try await Fixture.loggedIn(authenticator)
            #expect(try await harness.send("b ENABLE \(enable)").lines.count == 2)
            #expect(try await harness.send("c CREATE \"Entwürfe\"").lines == ["c OK CREATE completed"])
            #expect(try await harness.send("d CREATE \"R&D\"").lines == ["d OK CREATE completed"])
            // A name in modified UTF-7 is now a name with an ampersand in it.
            #expect(try await harness.send("e CREATE Caf&AOk-").lines == ["e OK CREATE completed"])
            let names = Set(try await store.folders().map(\.name))
            #expect(names.isSuperset(of: ["Entwürfe", "R&D", "Caf&AOk-"]), "\(names)")
            let list = try await harness.send("f LIST \"\" *").lines
            #expect(list.contains("* LIST (\\HasNoChildren) \"/\" \"Entwürfe\""), "\(list)")
            #expect(list.contains("* LIST (\\HasNoChildren) \"/\" R&D"), "\(list)")
            #expect(
                try await harness.send("g STATUS \"Entwürfe\" (MESSAGES)").lines.first
                    == "* STATUS \"Entwürfe\" (MESSAGES 0)")
            try await harness.send("i SELECT INBOX")
            #expect(try await harness.send("j COPY 1 \"Entwürfe\"").lines.last?.hasPrefix("j OK") == true)
            #expect(try await store.status(of: "Entwürfe").messages == 1)

            var rev1 = try await Fixture.loggedIn(authenticator)
            let rev1List = try await rev1.send("b LIST \"\" *").lines
            #expect(rev1List.contains("* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe"), "\(rev1List)")
            #expect(rev1List.contains("* LIST (\\HasNoChildren) \"/\" R&-D"), "\(rev1List)")
            #expect(rev1List.contains("* LIST (\\HasNoChildren) \"/\" Caf&-AOk-"), "\(rev1List)")
        }
    }

    @Test func utf8AcceptSearchTakesOnlyUTF8() async throws {
        var (harness, _) = try await Fixture.selected(messages: 2)
        #expect(try await harness.send("c SEARCH CHARSET US-ASCII ALL").lines.first == "* SEARCH 1 2")
        try await harness.send("d ENABLE UTF8=ACCEPT")
        #expect(try await harness.send("e SEARCH CHARSET US-ASCII ALL").lines.first?.hasPrefix("e BAD") == true)
        #expect(try await harness.send("f SEARCH CHARSET UTF-8 ALL").lines.first == "* SEARCH 1 2")
        #expect(try await harness.send("g SEARCH SUBJECT \"Message 2\"").lines.first == "* SEARCH 2")
    }

    /// RFC 6855 §4: `APPEND box UTF8 (~{n}…)`, alone and in a MULTIAPPEND; a plain literal inside
    /// UTF8 ( ) is BAD.
    @Test func appendTakesTheUTF8DataItem() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 0)
        var harness = try await Fixture.loggedIn(authenticator)
        try await harness.send("b ENABLE UTF8=ACCEPT")
        let message = Array("Subject: Grüße\r\nFrom: Jörg <jörg@beispiel.de>\r\n\r\nHallo".utf8)
        let text = String(decoding: message, as: UTF8.self)
        let single = try await harness.send("c APPEND INBOX (\\Seen) UTF8 (~{\(message.count)+}\r\n\(text))")
        #expect(single.lines.last?.hasPrefix("c OK [APPENDUID") == true, "\(single)")
        let multi = try await harness.send(
            "d APPEND INBOX UTF8 (~{\(message.count)+}\r\n\(text)) {\(message.count)+}\r\n\(text)")
        #expect(multi.lines.last?.hasPrefix("d OK [APPENDUID") == true, "\(multi)")
        #expect(try await store.status(of: "INBOX").messages == 3)
        let bad = try await harness.send("e APPEND INBOX UTF8 ({\(message.count)+}\r\n\(text))")
        #expect(bad.lines.last?.hasPrefix("e BAD") == true, "\(bad)")
        #expect(try await store.status(of: "INBOX").messages == 3)
        try await harness.send("f SELECT INBOX")
        let fetched = try await harness.send("g FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        #expect(fetched.contains("Subject: Grüße"), "\(fetched)")
    }

    /// Python's imaplib in its UTF-8 mode against the real server (Clients/utf8_accept.py).
    @Test func imaplibInUTF8Mode() async throws {
        let (authenticator, _) = try await Fixture.setUp(messages: 0)
        let server = try await RunningServer.start(authenticator: authenticator)
        let result = try await Programs.python(
            "utf8_accept.py", ["127.0.0.1", "\(server.tlsPort)", server.certificate, "1000", "secret"])
        await server.stop()
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("PASS"), "\(result.output)")
    }
}
