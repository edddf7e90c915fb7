import Foundation
import GRDB
import MailvoxCore
import MailvoxStore
import Testing

/// Nothing deleted by accident (#19): an expunge keeps the message in Recently Deleted, a
/// restore puts it back byte for byte, the purge waits for `deleted_days` and never touches a
/// held mailbox, and Recently Deleted itself cannot be changed.
@Suite struct RecoverableDeletionTests {
    @Test(arguments: Backend.allCases) func expungeKeepsAndRestoreBringsBackTheSameBytes(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let store = fixture.store
        let mailbox = fixture.mailbox
        let original = StoreFixture.message(subject: "Order 42", body: "Two pallets, Friday")
        let uid = try store.deliver(
            mailbox: mailbox, message: original, flags: MessageFlags(system: [.flagged, .deleted]))
        try store.deliver(mailbox: mailbox, message: StoreFixture.message(subject: "Other"))
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(
            try store.expunge(mailbox: mailbox, folder: "INBOX", uids: [uid], deletedBy: "1000 from 192.0.2.7", at: at)
                == [uid])
        #expect(try store.messages(mailbox: mailbox, folder: "INBOX").map(\.uid) == [2])

        let deleted = try store.deletedMessages(mailbox: mailbox)
        #expect(deleted.count == 1)
        #expect(deleted[0].folder == "INBOX" && deleted[0].originalUID == uid)
        #expect(deleted[0].deletedBy == "1000 from 192.0.2.7" && deleted[0].deletedAt == at)
        // \Deleted, the mark the expunge acted on, is dropped; every other flag is kept.
        #expect(deleted[0].flags.system == .flagged)
        #expect(try store.read(mailbox: mailbox, folder: FolderInfo.recentlyDeleted, uid: deleted[0].uid) == original)

        let restored = try store.restore(mailbox: mailbox, uids: [deleted[0].uid])
        #expect(restored.count == 1 && restored[0].folder == "INBOX" && restored[0].newUID == 3)
        let back = try store.messages(mailbox: mailbox, folder: "INBOX")
        #expect(back.map(\.uid) == [2, 3])
        #expect(back[1].flags.system == .flagged)
        #expect(try store.read(mailbox: mailbox, folder: "INBOX", uid: 3) == original)
        #expect(try store.deletedMessages(mailbox: mailbox).isEmpty)
        // One file per message: Recently Deleted's name went with its row.
        #expect(try fixture.messageFiles().count == 2)
    }

    @Test(arguments: Backend.allCases) func aDeletedFolderComesBackIntoInbox(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let store = fixture.store
        let mailbox = fixture.mailbox
        try store.createFolder(mailbox: mailbox, name: "Orders")
        let message = StoreFixture.message(subject: "In a folder")
        try store.deliver(mailbox: mailbox, folder: "Orders", message: message)
        try store.deleteFolder(mailbox: mailbox, name: "Orders", deletedBy: "test")
        let deleted = try store.deletedMessages(mailbox: mailbox)
        #expect(deleted.map(\.folder) == ["Orders"])
        let restored = try store.restore(mailbox: mailbox, uids: deleted.map(\.uid))
        #expect(restored.map(\.folder) == ["INBOX"])
        #expect(try store.read(mailbox: mailbox, folder: "INBOX", uid: restored[0].newUID) == message)
    }

    @Test(arguments: Backend.allCases) func recentlyDeletedIsReadOnly(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let store = fixture.store
        let mailbox = fixture.mailbox
        let uid = try store.deliver(mailbox: mailbox, message: StoreFixture.message())
        try store.expunge(mailbox: mailbox, folder: "INBOX", uids: [uid], deletedBy: "test")
        let kept = try store.deletedMessages(mailbox: mailbox)[0].uid
        let bin = FolderInfo.recentlyDeleted
        #expect(try store.status(mailbox: mailbox, folder: bin).readOnly)
        #expect(try !store.status(mailbox: mailbox, folder: "INBOX").readOnly)
        func refused(_ body: () throws -> Void) {
            #expect(throws: MailStoreError.readOnlyFolder(bin)) { try body() }
        }
        refused { try store.deliver(mailbox: mailbox, folder: bin, message: StoreFixture.message()) }
        refused { _ = try store.append(mailbox: mailbox, folder: bin, message: StoreFixture.message()) }
        refused {
            _ = try store.storeFlags(
                mailbox: mailbox, folder: bin, uids: [kept], operation: .add, flags: MessageFlags(system: .seen))
        }
        refused { try store.expunge(mailbox: mailbox, folder: bin, uids: [kept], deletedBy: "test") }
        refused { try store.copy(mailbox: mailbox, from: "INBOX", uids: [], to: bin) }
        #expect(throws: MailStoreError.protectedFolder(bin)) {
            try store.deleteFolder(mailbox: mailbox, name: bin, deletedBy: "t")
        }
        #expect(throws: MailStoreError.protectedFolder(bin)) {
            try store.renameFolder(mailbox: mailbox, from: bin, to: "x")
        }
        // A MOVE out restores; a COPY out leaves it recoverable too.
        try store.copy(mailbox: mailbox, from: bin, uids: [kept], to: "Saved")
        #expect(try store.deletedMessages(mailbox: mailbox).count == 1)
    }

    @Test(arguments: Backend.allCases) func purgeWaitsForTheWindowAndSkipsAHeldMailbox(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let store = fixture.store
        let mailbox = fixture.mailbox
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let day: TimeInterval = 86_400
        let uid = try store.deliver(mailbox: mailbox, message: StoreFixture.message())
        try store.expunge(mailbox: mailbox, folder: "INBOX", uids: [uid], deletedBy: "test", at: now)
        let rules = Retention(config: .init(deletedDays: 30, trashDays: 0), store: store)
        #expect(try rules.run(now: now + 29 * day).purged == 0)
        try fixture.directoryFixture.directory.setHold(mailbox, on: true, reason: "litigation 2026-17")
        #expect(try rules.run(now: now + 31 * day).purged == 0)
        #expect(try store.deletedMessages(mailbox: mailbox).count == 1)
        try fixture.directoryFixture.directory.setHold(mailbox, on: false, reason: nil)
        #expect(try rules.run(now: now + 31 * day).purged == 1)
        #expect(try store.deletedMessages(mailbox: mailbox).isEmpty)
        #expect(try fixture.messageFiles().isEmpty)
    }

    /// Trash ages into Recently Deleted after trash_days since it was filed there, then waits
    /// deleted_days more; a held mailbox keeps its Trash.
    @Test(arguments: Backend.allCases) func trashAgesIntoRecentlyDeleted(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let store = fixture.store
        let mailbox = fixture.mailbox
        let uid = try store.deliver(mailbox: mailbox, message: StoreFixture.message())
        try store.copy(mailbox: mailbox, from: "INBOX", uids: [uid], to: "Trash", expungingSource: true)
        let filed = Date()
        let rules = Retention(config: .init(deletedDays: 30, trashDays: 30), store: store)
        #expect(try rules.run(now: filed + 29 * 86_400).aged.isEmpty)
        try fixture.directoryFixture.directory.setHold(mailbox, on: true, reason: nil)
        #expect(try rules.run(now: filed + 31 * 86_400).aged.isEmpty)
        try fixture.directoryFixture.directory.setHold(mailbox, on: false, reason: nil)
        let report = try rules.run(now: filed + 31 * 86_400)
        #expect(report.aged == ["Trash": 1] && report.purged == 0)
        let deleted = try store.deletedMessages(mailbox: mailbox)
        #expect(deleted.map(\.folder) == ["Trash"] && deleted.map(\.deletedBy) == ["retention (trash_days)"])
        #expect(try rules.run(now: filed + 62 * 86_400).purged == 1)
    }

    /// A mailbox's own days win over `[retention]`'s, and 0 turns its rule off.
    @Test(arguments: Backend.allCases) func aMailboxsOwnDaysOverrideTheDefaults(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let store = fixture.store
        let mailbox = fixture.mailbox
        let directory = fixture.directoryFixture.directory
        var settings = MailboxSettings()
        settings.trashDays = .some(5)
        settings.inboxDays = .some(0)
        try directory.updateMailbox(mailbox, settings: settings)
        #expect(try directory.mailbox(mailbox)?.trashDays == 5)
        let uid = try store.deliver(mailbox: mailbox, message: StoreFixture.message())
        try store.deliver(mailbox: mailbox, message: StoreFixture.message())
        try store.copy(mailbox: mailbox, from: "INBOX", uids: [uid], to: "Trash", expungingSource: true)
        let rules = Retention(config: .init(deletedDays: 30, trashDays: 30, inboxDays: 1), store: store)
        let report = try rules.run(now: Date() + 6 * 86_400)
        #expect(report.aged == ["Trash": 1], "INBOX's rule is off for this mailbox: \(report)")
        settings = MailboxSettings()
        settings.inboxDays = .some(nil)
        try directory.updateMailbox(mailbox, settings: settings)
        #expect(try rules.run(now: Date() + 6 * 86_400).aged == ["INBOX": 1])
        #expect(throws: DirectoryError.self) {
            var negative = MailboxSettings()
            negative.savedDays = .some(-1)
            try directory.updateMailbox(mailbox, settings: negative)
        }
    }

    @Test(arguments: Backend.allCases) func recentlyDeletedDoesNotCountAgainstTheQuota(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let store = fixture.store
        let mailbox = fixture.mailbox
        let message = StoreFixture.message(body: String(repeating: "x", count: 1000))
        let uid = try store.deliver(mailbox: mailbox, message: message)
        let directory = fixture.directoryFixture.directory
        #expect(try directory.quota(of: mailbox, defaults: .init()).usage.messages == 1)
        try store.expunge(mailbox: mailbox, folder: "INBOX", uids: [uid], deletedBy: "test")
        #expect(try directory.quota(of: mailbox, defaults: .init()).usage.messages == 0)
    }
}
