import Foundation
import MailvoxCore
import MailvoxDatabase
import MailvoxStore
import Testing

@Suite struct FolderTests {
    @Test(arguments: Backend.allCases) func createMakesParentsAndListShowsTheTree(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        try fixture.store.createFolder(mailbox: fixture.mailbox, name: "Clients/Acme")
        let folders = try fixture.store.folders(mailbox: fixture.mailbox)
        #expect(
            folders.map(\.name) == [
                "Clients", "Clients/Acme", "Greetings", "INBOX", "Recently Deleted", "Saved", "Trash",
            ])
        #expect(folders.first { $0.name == "Clients" }?.hasChildren == true)
        #expect(folders.first { $0.name == "Trash" }?.specialUse == "\\Trash")
        #expect(throws: MailStoreError.folderExists("Clients/Acme")) {
            try fixture.store.createFolder(mailbox: fixture.mailbox, name: "Clients/Acme")
        }
        #expect(throws: MailStoreError.folderExists("INBOX")) {
            try fixture.store.createFolder(mailbox: fixture.mailbox, name: "inbox")
        }
    }

    @Test(arguments: ["", "/a", "a/", "a//b", "a*b", "a%b", "tab\there", String(repeating: "x", count: 256)])
    func badNamesAreRefused(_ name: String) throws {
        let fixture = try StoreFixture()
        #expect(throws: MailStoreError.self) { try fixture.store.createFolder(mailbox: fixture.mailbox, name: name) }
    }

    /// RFC 3501 §2.3.1.1: a folder made again under an old name must not get the UIDVALIDITY of
    /// the one deleted, or a client would take the new folder's UID 1 for the old one's. The
    /// folder deleted here held the highest value ever given, so "one past the highest
    /// existing" alone would give it out again.
    @Test(arguments: Backend.allCases) func aFolderMadeAgainGetsANewUIDValidity(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        var seen: Set<UInt32> = []
        for _ in 0..<3 {
            try fixture.store.createFolder(mailbox: fixture.mailbox, name: "Work")
            let validity = try fixture.store.status(mailbox: fixture.mailbox, folder: "Work").uidValidity
            #expect(seen.insert(validity).inserted, "UIDVALIDITY \(validity) given twice")
            #expect(validity > seen.subtracting([validity]).max() ?? 0)
            try fixture.store.deleteFolder(mailbox: fixture.mailbox, name: "Work", deletedBy: "test")
        }
        // The mark survives a restart: it is in the database, not in memory (on PostgreSQL, a
        // new store over the same database is the restarted node).
        let database: any SQLDatabase =
            backend == .sqlite
            ? GRDBDatabase(
                try MailvoxDatabase.open(path: fixture.directoryFixture.path, migrations: [StoreMigrations.set]))
            : fixture.directoryFixture.sql
        let reopened = MessageStore(
            database: database, spoolDir: fixture.root + "/spool", masterKey: fixture.directoryFixture.master)
        try reopened.createFolder(mailbox: fixture.mailbox, name: "Work")
        #expect(!seen.contains(try reopened.status(mailbox: fixture.mailbox, folder: "Work").uidValidity))
    }

    @Test(arguments: Backend.allCases) func renameKeepsUIDValidityMessagesAndChildren(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        try fixture.store.createFolder(mailbox: fixture.mailbox, name: "Work/Old")
        try fixture.store.createFolder(mailbox: fixture.mailbox, name: "work/other")
        let uid = try fixture.store.deliver(mailbox: fixture.mailbox, folder: "Work", message: StoreFixture.message())
        let before = try fixture.store.status(mailbox: fixture.mailbox, folder: "Work")
        try fixture.store.renameFolder(mailbox: fixture.mailbox, from: "Work", to: "Archive/Work")
        let after = try fixture.store.status(mailbox: fixture.mailbox, folder: "Archive/Work")
        #expect(after.uidValidity == before.uidValidity)
        #expect(try fixture.store.read(mailbox: fixture.mailbox, folder: "Archive/Work", uid: uid).count > 0)
        let names = try fixture.store.folders(mailbox: fixture.mailbox).map(\.name)
        #expect(names.contains("Archive/Work/Old"))
        #expect(names.contains("work/other"), "a folder differing only in case is not a child")
        #expect(!names.contains("Work"))
        #expect(throws: MailStoreError.protectedFolder("Trash")) {
            try fixture.store.renameFolder(mailbox: fixture.mailbox, from: "Trash", to: "Bin")
        }
    }

    @Test(arguments: Backend.allCases) func renamingInboxMovesItsMessagesAndKeepsInbox(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message())
        try fixture.store.renameFolder(mailbox: fixture.mailbox, from: "INBOX", to: "Old Inbox")
        #expect(try fixture.store.status(mailbox: fixture.mailbox, folder: "INBOX").messages == 0)
        #expect(try fixture.store.status(mailbox: fixture.mailbox, folder: "Old Inbox").messages == 1)
    }

    @Test(arguments: Backend.allCases) func deleteRemovesMessagesAndRefusesProtectedOrParentFolders(
        _ backend: Backend
    ) throws {
        let fixture = try StoreFixture(backend)
        try fixture.store.createFolder(mailbox: fixture.mailbox, name: "Tmp/Child")
        try fixture.store.deliver(mailbox: fixture.mailbox, folder: "Tmp/Child", message: StoreFixture.message())
        #expect(throws: MailStoreError.self) {
            try fixture.store.deleteFolder(mailbox: fixture.mailbox, name: "Tmp", deletedBy: "test")
        }
        try fixture.store.deleteFolder(mailbox: fixture.mailbox, name: "Tmp/Child", deletedBy: "test")
        try fixture.store.deleteFolder(mailbox: fixture.mailbox, name: "Tmp", deletedBy: "test")
        // The message is kept in Recently Deleted (RecoverableDeletionTests), nothing else.
        #expect(try fixture.messageFiles().count == 1)
        #expect(try fixture.store.deletedMessages(mailbox: fixture.mailbox).map(\.folder) == ["Tmp/Child"])
        for name in ["INBOX", "Saved", "Trash", "Greetings", "Recently Deleted"] {
            #expect(throws: MailStoreError.protectedFolder(name)) {
                try fixture.store.deleteFolder(mailbox: fixture.mailbox, name: name, deletedBy: "test")
            }
        }
        #expect(throws: MailStoreError.noSuchFolder("Nope")) {
            try fixture.store.deleteFolder(mailbox: fixture.mailbox, name: "Nope", deletedBy: "test")
        }
    }

    /// A `.` or `..` level was taken as is, and the Maildir++ export made the folder `.` the
    /// directory `..`, outside the export. The store refuses them for every caller, and for
    /// a rename too.
    @Test(arguments: [".", "..", "a/.", "a/..", "../a", "a/./b", "a/../b"])
    func dotLevelsAreRefused(_ name: String) throws {
        let fixture = try StoreFixture()
        let before = try fixture.store.folders(mailbox: fixture.mailbox).map(\.name)
        let reason = "'.' and '..' cannot be a level of a folder name"
        #expect(throws: MailStoreError.invalidFolderName(name, reason: reason)) {
            try fixture.store.createFolder(mailbox: fixture.mailbox, name: name)
        }
        try fixture.store.createFolder(mailbox: fixture.mailbox, name: "Work")
        #expect(throws: MailStoreError.invalidFolderName(name, reason: reason)) {
            try fixture.store.renameFolder(mailbox: fixture.mailbox, from: "Work", to: name)
        }
        #expect(try fixture.store.folders(mailbox: fixture.mailbox).map(\.name) == (before + ["Work"]).sorted())
    }

    /// At most `FolderNameRules.maxDepth` levels, and a refused CREATE or RENAME changes nothing:
    /// no parent is left behind.
    @Test(arguments: Backend.allCases) func depthIsCappedAllOrNothing(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let before = try fixture.store.folders(mailbox: fixture.mailbox).map(\.name)
        func levels(_ count: Int, _ name: String = "a") -> String {
            Array(repeating: name, count: count).joined(separator: "/")
        }
        #expect(FolderNameRules.maxDepth == 16)
        for count in [17, 128] {
            #expect(throws: MailStoreError.invalidFolderName(levels(count), reason: "more than 16 levels deep")) {
                try fixture.store.createFolder(mailbox: fixture.mailbox, name: levels(count))
            }
        }
        #expect(throws: MailStoreError.self) {
            try fixture.store.createFolder(mailbox: fixture.mailbox, name: levels(300))
        }
        #expect(try fixture.store.folders(mailbox: fixture.mailbox).map(\.name) == before)
        try fixture.store.createFolder(mailbox: fixture.mailbox, name: levels(16, "d"))
        let made = try fixture.store.folders(mailbox: fixture.mailbox).map(\.name)
        #expect(made.count == before.count + 16)
        // Moving the tree one level down would make its deepest child 17 levels deep.
        #expect(throws: MailStoreError.invalidFolderName("x/" + levels(16, "d"), reason: "more than 16 levels deep")) {
            try fixture.store.renameFolder(mailbox: fixture.mailbox, from: "d", to: "x/d")
        }
        #expect(try fixture.store.folders(mailbox: fixture.mailbox).map(\.name) == made)
    }

    @Test(arguments: Backend.allCases) func subscriptionsStick(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        try fixture.store.setSubscribed(mailbox: fixture.mailbox, folder: "Greetings", false)
        #expect(
            try fixture.store.folders(mailbox: fixture.mailbox).first { $0.name == "Greetings" }?.subscribed == false)
    }
}

/// Subscriptions are names (RFC 3501 §6.3.6): they outlive a deleted folder and follow a renamed one.
@Suite struct SubscriptionTests {
    @Test(arguments: Backend.allCases) func aSubscriptionOutlivesItsFolderAndStaysThroughARename(
        _ backend: Backend
    ) throws {
        let fixture = try StoreFixture(backend)
        let store = fixture.store
        let mailbox = fixture.mailbox
        try store.createFolder(mailbox: mailbox, name: "a/b")
        #expect(try store.subscriptions(mailbox: mailbox).contains("a/b"), "new folders are subscribed")
        try store.renameFolder(mailbox: mailbox, from: "a", to: "c")
        // RFC 9051 §6.3.6: RENAME leaves subscriptions alone; the client moves them.
        #expect(
            try store.subscriptions(mailbox: mailbox).filter { $0.hasPrefix("a") || $0.hasPrefix("c") } == ["a", "a/b"])
        for name in ["c", "c/b"] { try store.setSubscribed(mailbox: mailbox, folder: name, true) }
        for name in ["a", "a/b"] { try store.setSubscribed(mailbox: mailbox, folder: name, false) }
        try store.deleteFolder(mailbox: mailbox, name: "c/b", deletedBy: "test")
        #expect(try store.subscriptions(mailbox: mailbox).contains("c/b"))
        #expect(try store.folders(mailbox: mailbox).first { $0.name == "c" }?.subscribed == true)
        try store.setSubscribed(mailbox: mailbox, folder: "c/b", false)
        #expect(try !store.subscriptions(mailbox: mailbox).contains("c/b"))
        #expect(throws: MailStoreError.noSuchFolder("c/b")) {
            try store.setSubscribed(mailbox: mailbox, folder: "c/b", false)
        }
        try store.setSubscribed(mailbox: mailbox, folder: "never/made", true)
        #expect(try store.subscriptions(mailbox: mailbox).contains("never/made"))
        #expect(throws: MailStoreError.self) { try store.setSubscribed(mailbox: mailbox, folder: "a/../b", true) }
    }
}
