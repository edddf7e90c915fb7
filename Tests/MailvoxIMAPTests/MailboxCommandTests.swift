import Foundation
import MailvoxCore
import MailvoxStoreTesting
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

@Suite struct MailboxCommandTests {
    @Test func listShowsSpecialUseAndChildren() async throws {
        var (harness, _) = try await Fixture.selected()
        try await harness.send("c CREATE Projects/2024/")
        let list = try await harness.send("d LIST \"\" *").lines
        #expect(
            list == [
                "* LIST (\\HasNoChildren) \"/\" INBOX",
                "* LIST (\\HasNoChildren) \"/\" Greetings",
                "* LIST (\\HasChildren) \"/\" Projects",
                "* LIST (\\HasNoChildren) \"/\" Projects/2024",
                "* LIST (\\HasNoChildren \\Archive) \"/\" Saved",
                "* LIST (\\HasNoChildren \\Trash) \"/\" Trash",
                "d OK LIST completed",
            ])
        #expect(list.contains("* LIST (\\HasNoChildren \\Archive) \"/\" Saved"))
        #expect(list.contains("* LIST (\\HasChildren) \"/\" Projects"))
        #expect(try await harness.send("e LIST \"\" %").lines.count == 6)
        #expect(
            try await harness.send("f LIST \"\" \"\"").lines == [
                "* LIST (\\Noselect) \"/\" \"\"", "f OK LIST completed",
            ])
        let special = try await harness.send("g LIST (SPECIAL-USE) \"\" *").lines
        #expect(special.count == 3 && special[0].contains("Saved") && special[1].contains("Trash"))
        let subscribed = try await harness.send("h LIST (SUBSCRIBED) \"\" * RETURN (STATUS (MESSAGES UIDNEXT))").lines
        #expect(subscribed.contains("* LIST (\\HasNoChildren \\Subscribed) \"/\" INBOX"))
        #expect(subscribed.contains("* STATUS INBOX (MESSAGES 3 UIDNEXT 4)"))
        #expect(!subscribed.contains { $0.contains("Projects") })
        try await harness.send("i SUBSCRIBE Projects/2024")
        let recursive = try await harness.send("j LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %").lines
        #expect(recursive.contains("* LIST (\\HasChildren) \"/\" Projects (\"CHILDINFO\" (\"SUBSCRIBED\"))"))
        let lsub = try await harness.send("k LSUB \"\" *").lines
        #expect(lsub.contains("* LSUB () \"/\" Projects/2024"))
        #expect(lsub.contains("* LSUB (\\Trash) \"/\" Trash"))
    }

    @Test func createDeleteRenameErrorsHaveCodes() async throws {
        var (harness, store) = try await Fixture.selected()
        #expect(try await harness.send("c CREATE INBOX").lines == ["c NO [ALREADYEXISTS] INBOX always exists"])
        #expect(try await harness.send("d CREATE Saved").lines == ["d NO [ALREADYEXISTS] Folder already exists"])
        #expect(
            try await harness.send("e DELETE Trash").lines == ["e NO [CANNOT] This folder cannot be deleted or renamed"]
        )
        #expect(try await harness.send("f DELETE Nope").lines == ["f NO [NONEXISTENT] No such folder"])
        #expect(try await harness.send("g RENAME Saved INBOX").lines == ["g NO [ALREADYEXISTS] INBOX already exists"])
        #expect(try await harness.send("h CREATE \"a/../b\"").lines.first?.hasPrefix("h NO [CANNOT]") == true)
        #expect(try await harness.send("i CREATE Entw&APw-rfe").lines == ["i OK CREATE completed"])
        let validity = try await store.status(of: "Entwürfe").uidValidity
        #expect(try await harness.send("j RENAME Entw&APw-rfe Drafts").lines == ["j OK RENAME completed"])
        #expect(try await store.status(of: "Drafts").uidValidity == validity)
        #expect(try await harness.send("k DELETE Drafts").lines == ["k OK DELETE completed"])
        #expect(
            try await harness.send("l NAMESPACE").lines == [
                "* NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\"))", "l OK NAMESPACE completed",
            ])
    }

    /// RFC 3501 §6.3.5: renaming INBOX moves its messages into a new folder and leaves INBOX
    /// there, empty; a session that has INBOX selected is told they left.
    @Test func renamingInboxMovesItsMessagesAndKeepsIt() async throws {
        var (harness, store) = try await Fixture.selected(messages: 3)
        let renamed = try await harness.send("r RENAME INBOX \"Old mail\"").lines
        await harness.waitForFeed()
        let told = renamed + (try await harness.send("n NOOP").lines)
        #expect(told.filter { $0.hasSuffix(" EXPUNGE") } == ["* 3 EXPUNGE", "* 2 EXPUNGE", "* 1 EXPUNGE"], "\(told)")
        #expect(told.contains("r OK RENAME completed") && told.last == "n OK NOOP completed")
        #expect(try await store.status(of: "INBOX").messages == 0)
        let moved = try await store.snapshot(of: "Old mail")
        #expect(moved.messages.count == 3)
        let status = try await harness.send("s STATUS INBOX (MESSAGES)").lines
        #expect(status.first == "* STATUS INBOX (MESSAGES 0)")
        #expect(try await harness.send("t SELECT \"Old mail\"").lines.contains("* 3 EXISTS"))
    }

    @Test func statusReportsEveryAttribute() async throws {
        var (harness, store) = try await Fixture.selected()
        let status = try await store.status(of: "INBOX")
        let lines = try await harness.send(
            "c STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE)"
        ).lines
        #expect(
            lines == [
                "* STATUS INBOX (MESSAGES 3 RECENT 0 UIDNEXT 4 UIDVALIDITY \(status.uidValidity) UNSEEN 3 "
                    + "HIGHESTMODSEQ \(status.highestModseq) SIZE \(status.size))",
                // STATUS HIGHESTMODSEQ is the session's first CONDSTORE-enabling command, with
                // INBOX selected (RFC 7162 §3.1).
                "c OK [HIGHESTMODSEQ \(status.highestModseq)] STATUS completed",
            ])
    }

    @Test func appendAnswersAppendUIDAndRefusesWhatItMust() async throws {
        let (authenticator, store) = try await Fixture.setUp()
        var harness = SessionHarness(
            authenticator: authenticator,
            configuration: SessionConfiguration(allowPlaintextAuth: true, maxMessageBytes: 1000))
        _ = try await harness.greet()
        try await harness.send("a LOGIN 1000 secret")
        let message = String(decoding: Fixture.message(subject: "Appended"), as: UTF8.self)
        let validity = try await store.status(of: "Saved").uidValidity
        let reply = try await harness.send(
            "b APPEND Saved (\\Seen $Important) \" 7-Feb-1994 21:52:25 -0800\" {\(message.utf8.count)+}\r\n\(message)\r\n"
        )
        #expect(reply.lines == ["b OK [APPENDUID \(validity) 1] APPEND completed"])
        let saved = try await store.snapshot(of: "Saved").messages
        #expect(saved.count == 1 && saved[0].flags == MessageFlags(system: .seen, keywords: ["$Important"]))
        #expect(saved[0].internalDate == Date(timeIntervalSince1970: 760_686_745))
        #expect(try await harness.send("c APPEND Nowhere {5+}\r\nHello").lines == ["c NO [TRYCREATE] No such folder"])
        let big = String(repeating: "x", count: 1001)
        #expect(
            try await harness.send("d APPEND Saved {1001+}\r\n\(big)").lines.first?.hasPrefix("d NO [TOOBIG]") == true)
        // A synchronising literal gets its continuation.
        let sync = try await harness.send("e APPEND Saved {\(message.utf8.count)}")
        #expect(sync.lines == ["+ Ready for literal data"])
        #expect(try await harness.send(message + "\r\n").lines == ["e OK [APPENDUID \(validity) 2] APPEND completed"])
    }

    /// `.`, `..` and empty levels are refused by CREATE and RENAME with a reason, and a refused
    /// CREATE leaves no parent behind (it used to make `a` before `a/..` was refused).
    @Test func dotAndEmptyLevelsAreRefusedAndLeaveNothing() async throws {
        var (harness, store) = try await Fixture.selected()
        try await store.createFolder("Work")
        let before = try await store.folders().map(\.name)
        let refusals: [(String, String)] = [
            ("\"a/../b\"", "'.' and '..' cannot be a level of a folder name"),
            ("..", "'.' and '..' cannot be a level of a folder name"),
            (".", "'.' and '..' cannot be a level of a folder name"),
            ("x/.", "'.' and '..' cannot be a level of a folder name"),
            ("a//b", "empty level (a leading, trailing or doubled '/')"),
            ("/a", "empty level (a leading, trailing or doubled '/')"),
            ("a//", "empty level (a leading, trailing or doubled '/')"),
        ]
        for (index, (name, reason)) in refusals.enumerated() {
            #expect(
                try await harness.send("c\(index) CREATE \(name)").lines == [
                    "c\(index) NO [CANNOT] Invalid folder name: \(reason)"
                ])
            #expect(
                try await harness.send("r\(index) RENAME Work \(name)").lines == [
                    "r\(index) NO [CANNOT] Invalid folder name: \(reason)"
                ])
        }
        #expect(try await store.folders().map(\.name) == before, "nothing made, nothing renamed")
        // One trailing delimiter is RFC 3501 §6.3.3's "children will follow", not an empty level.
        #expect(try await harness.send("d CREATE Projects/").lines == ["d OK CREATE completed"])
        #expect(try await store.folders().map(\.name).contains("Projects"))
        // Dots inside a level are ordinary characters.
        #expect(try await harness.send("e CREATE a.b/...c").lines == ["e OK CREATE completed"])
    }

    /// A name deeper than `FolderNameRules.maxDepth` is refused, all or nothing: neither the
    /// 300-level name (also too long) nor the 17-level one leaves a parent behind.
    @Test func tooDeepCreateIsRefusedAndLeavesNoParents() async throws {
        var (harness, store) = try await Fixture.selected()
        let before = try await store.folders().map(\.name)
        let levels300 = Array(repeating: "a", count: 300).joined(separator: "/")
        let levels128 = Array(repeating: "b", count: 128).joined(separator: "/")
        let levels17 = Array(repeating: "c", count: FolderNameRules.maxDepth + 1).joined(separator: "/")
        #expect(
            try await harness.send("c CREATE \(levels300)").lines == [
                "c NO [CANNOT] Invalid folder name: must be 1–255 bytes"
            ])
        #expect(
            try await harness.send("d CREATE \(levels128)").lines == [
                "d NO [CANNOT] Invalid folder name: more than 16 levels deep"
            ])
        #expect(
            try await harness.send("e CREATE \(levels17)").lines == [
                "e NO [CANNOT] Invalid folder name: more than 16 levels deep"
            ])
        #expect(try await store.folders().map(\.name) == before)
        // The store refuses it too, whoever calls it.
        await #expect(throws: MailStoreError.self) { try await store.createFolder(levels17) }
        #expect(try await store.folders().map(\.name) == before)
        let levels16 = Array(repeating: "d", count: FolderNameRules.maxDepth).joined(separator: "/")
        #expect(try await harness.send("f CREATE \(levels16)").lines == ["f OK CREATE completed"])
        #expect(try await store.folders().count == before.count + 16)
        // Renaming a parent must not push a child past the limit either.
        #expect(
            try await harness.send("g RENAME d x/d").lines == [
                "g NO [CANNOT] Invalid folder name: more than 16 levels deep"
            ])
        #expect(try await store.folders().count == before.count + 16)
    }
}
