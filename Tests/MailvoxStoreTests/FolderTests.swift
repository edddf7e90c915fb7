import Foundation
import MailvoxCore
import MailvoxStore
import Testing

@Suite struct FolderTests {
    @Test func createMakesParentsAndListShowsTheTree() throws {
        let fixture = try StoreFixture()
        try fixture.store.createFolder(mailbox: fixture.mailbox, name: "Clients/Acme")
        let folders = try fixture.store.folders(mailbox: fixture.mailbox)
        #expect(folders.map(\.name) == ["Clients", "Clients/Acme", "Greetings", "INBOX", "Saved", "Trash"])
        #expect(folders.first { $0.name == "Clients" }?.hasChildren == true)
        #expect(folders.first { $0.name == "Trash" }?.specialUse == "\\Trash")
        #expect(throws: StoreError.folderExists("Clients/Acme")) {
            try fixture.store.createFolder(mailbox: fixture.mailbox, name: "Clients/Acme")
        }
        #expect(throws: StoreError.folderExists("INBOX")) {
            try fixture.store.createFolder(mailbox: fixture.mailbox, name: "inbox")
        }
    }

    @Test(arguments: ["", "/a", "a/", "a//b", "a*b", "a%b", "tab\there", String(repeating: "x", count: 256)])
    func badNamesAreRefused(_ name: String) throws {
        let fixture = try StoreFixture()
        #expect(throws: StoreError.self) { try fixture.store.createFolder(mailbox: fixture.mailbox, name: name) }
    }

    @Test func renameKeepsUIDValidityMessagesAndChildren() throws {
        let fixture = try StoreFixture()
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
        #expect(throws: StoreError.protectedFolder("Trash")) {
            try fixture.store.renameFolder(mailbox: fixture.mailbox, from: "Trash", to: "Bin")
        }
    }

    @Test func renamingInboxMovesItsMessagesAndKeepsInbox() throws {
        let fixture = try StoreFixture()
        try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message())
        try fixture.store.renameFolder(mailbox: fixture.mailbox, from: "INBOX", to: "Old Inbox")
        #expect(try fixture.store.status(mailbox: fixture.mailbox, folder: "INBOX").messages == 0)
        #expect(try fixture.store.status(mailbox: fixture.mailbox, folder: "Old Inbox").messages == 1)
    }

    @Test func deleteRemovesMessagesAndRefusesProtectedOrParentFolders() throws {
        let fixture = try StoreFixture()
        try fixture.store.createFolder(mailbox: fixture.mailbox, name: "Tmp/Child")
        try fixture.store.deliver(mailbox: fixture.mailbox, folder: "Tmp/Child", message: StoreFixture.message())
        #expect(throws: StoreError.self) { try fixture.store.deleteFolder(mailbox: fixture.mailbox, name: "Tmp") }
        try fixture.store.deleteFolder(mailbox: fixture.mailbox, name: "Tmp/Child")
        try fixture.store.deleteFolder(mailbox: fixture.mailbox, name: "Tmp")
        #expect(fixture.files().filter { $0.contains("/spool/") }.isEmpty)
        for name in ["INBOX", "Saved", "Trash", "Greetings"] {
            #expect(throws: StoreError.protectedFolder(name)) {
                try fixture.store.deleteFolder(mailbox: fixture.mailbox, name: name)
            }
        }
        #expect(throws: StoreError.noSuchFolder("Nope")) {
            try fixture.store.deleteFolder(mailbox: fixture.mailbox, name: "Nope")
        }
    }

    @Test func subscriptionsStick() throws {
        let fixture = try StoreFixture()
        try fixture.store.setSubscribed(mailbox: fixture.mailbox, folder: "Greetings", false)
        #expect(
            try fixture.store.folders(mailbox: fixture.mailbox).first { $0.name == "Greetings" }?.subscribed == false)
    }
}
