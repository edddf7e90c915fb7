import Foundation
import MailvoxCore
import MailvoxDatabase
import MailvoxStore
import Testing

@Suite struct RecoveryTests {
    func execute(_ fixture: StoreFixture, _ sql: String) throws {
        _ = try fixture.directoryFixture.sql.write { db in try db.execute(sql) }
    }

    /// A crash after the file's rename but before its row committed leaves a file with no row:
    /// the scan indexes it under a new UID, and the retried job finds it instead of filing it twice.
    @Test(arguments: Backend.maildir) func aFileWithoutARowIsIndexedAndARetriedDepositFindsIt(
        _ backend: Backend
    ) throws {
        let fixture = try StoreFixture(backend)
        let message = StoreFixture.message(body: "kept across a crash")
        try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "d-1", message: message)
        try execute(fixture, "DELETE FROM message")
        let report = try fixture.store.recover()
        #expect(report.indexed.map(\.uid) == [2], "UID 1 was handed out once and is never reused")
        #expect(report.problems.isEmpty)
        #expect(try fixture.store.read(mailbox: fixture.mailbox, folder: "INBOX", uid: 2) == message)
        #expect(try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "d-1", message: message) == 2)
        #expect(try fixture.store.messages(mailbox: fixture.mailbox, folder: "INBOX").count == 1)
    }

    @Test(arguments: Backend.maildir) func flagsComeBackFromTheInfoSuffix(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let uid = try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message())
        try fixture.store.storeFlags(
            mailbox: fixture.mailbox, folder: "INBOX", uids: [uid], operation: .add,
            flags: MessageFlags(system: [.seen, .answered]))
        try execute(fixture, "DELETE FROM message")
        _ = try fixture.store.recover()
        let summary = try #require(try fixture.store.messages(mailbox: fixture.mailbox, folder: "INBOX").first)
        #expect(summary.flags.system == [.seen, .answered])
    }

    @Test(arguments: Backend.maildir) func leftoversInTmpAreRemovedAndMissingFilesReported(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "d-1", message: StoreFixture.message())
        try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "d-2", message: StoreFixture.message())
        let newFile = try #require(fixture.files().first { $0.hasSuffix("/new/d-2") })
        let folder = ((newFile as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        #expect(FileManager.default.createFile(atPath: folder + "/tmp/half-written", contents: Data("x".utf8)))
        try FileManager.default.removeItem(atPath: newFile)
        let report = try fixture.store.recover()
        #expect(report.temporaryFilesRemoved == 1)
        #expect(report.problems.map(\.uid) == [2])
        #expect(
            try fixture.store.messages(mailbox: fixture.mailbox, folder: "INBOX").count == 2, "rows are never dropped")
    }

    @Test(arguments: Backend.maildir) func fsckFindsAFlippedByteAndAMissingFile(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        for index in 0..<3 {
            try fixture.store.deliver(
                mailbox: fixture.mailbox, depositID: "d-\(index)", message: StoreFixture.message())
        }
        #expect(try fixture.store.check().problems.isEmpty)
        #expect(try fixture.store.check().messagesChecked == 3)
        let path = try #require(fixture.files().first { $0.hasSuffix("/new/d-1") })
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 20] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: path))
        try FileManager.default.removeItem(atPath: try #require(fixture.files().first { $0.hasSuffix("/new/d-2") }))
        try execute(fixture, "DELETE FROM message_meta WHERE message_id = (SELECT id FROM message WHERE uid = 1)")
        // Two rows a page: the check goes on past the first page and counts every message once.
        var seen: [Int] = []
        let report = try fixture.store.check(pageSize: 2) { done, _ in seen.append(done) }
        #expect(report.messagesChecked == 3)
        #expect(seen.last == 3)
        #expect(report.problems.map(\.uid) == [1, 2, 3])
        #expect(report.problems[0].reason.contains("no sealed metadata"), "\(report.problems[0].reason)")
        #expect(report.problems[1].reason.contains("chunk 0 was altered"))
        #expect(report.problems[2].reason.contains("no file"))
    }

    @Test(arguments: Backend.maildir) func rebuildReindexesUnderANewUIDValidity(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        for index in 0..<3 {
            try fixture.store.deliver(
                mailbox: fixture.mailbox, depositID: "d-\(index)", message: StoreFixture.message())
        }
        try fixture.store.copy(mailbox: fixture.mailbox, from: "INBOX", uids: [1], to: "Saved")
        let before = try fixture.store.status(mailbox: fixture.mailbox, folder: "INBOX")
        let report = try fixture.store.rebuild()
        #expect(report.indexed.count == 4)
        let after = try fixture.store.status(mailbox: fixture.mailbox, folder: "INBOX")
        #expect(after.uidValidity > before.uidValidity)
        #expect(after.messages == 3)
        #expect(try fixture.store.status(mailbox: fixture.mailbox, folder: "Saved").messages == 1)
        #expect(try fixture.store.check().problems.isEmpty)
    }

    /// In a bucket: fsck opens every object and finds a flipped byte and a missing object; the
    /// index is never rebuilt from objects, whose names carry no flags.
    @Test func fsckChecksObjectsAndRebuildIsRefused() throws {
        let fixture = try StoreFixture(.objects)
        let bucket = try #require(fixture.bucket)
        for index in 0..<3 {
            try fixture.store.deliver(
                mailbox: fixture.mailbox, depositID: "d-\(index)", message: StoreFixture.message())
        }
        #expect(try fixture.store.check().problems.isEmpty)
        let keys = try fixture.messageFiles()
        let altered = try BlobKey(try #require(keys.first { $0.hasSuffix("/d-1") }))
        var bytes = try #require(try bucket.get(altered))
        bytes[bytes.count - 20] ^= 0x01
        try bucket.put(altered, bytes)
        try bucket.delete(try BlobKey(try #require(keys.first { $0.hasSuffix("/d-2") })))
        let report = try fixture.store.check()
        #expect(report.problems.map(\.uid) == [2, 3])
        #expect(report.problems[0].reason.contains("chunk 0 was altered"))
        #expect(report.problems[1].reason.contains("the bucket has no object"), "\(report.problems[1].reason)")
        #expect(throws: MailStoreError.self) { try fixture.store.rebuild() }
        #expect(try fixture.store.messages(mailbox: fixture.mailbox, folder: "INBOX").count == 3)
    }
}

/// The bucket's sweeper: what no row, tombstone or unfinished deposit names goes at the second
/// pass that finds it unnamed; everything named stays.
@Suite struct OrphanSweeperTests {
    @Test func unnamedObjectsGoAtTheSecondPassAndNamedOnesStay() throws {
        let fixture = try StoreFixture(.objects)
        let bucket = try #require(fixture.bucket)
        let uid = try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "d-1", message: StoreFixture.message())
        try fixture.store.copy(mailbox: fixture.mailbox, from: "INBOX", uids: [uid], to: "Saved")
        let folder = try #require(try fixture.messageFiles().first { $0.hasSuffix("/d-1") })
            .split(separator: "/").dropLast().joined(separator: "/")
        // A file name another folder's row has is no name here; an object a tombstone names is
        // on its way out and left to the tombstone's replay.
        let strays = [
            "\(folder)/stray-append", "queue/crashed-intake.mvx", "queue/notify/finished.mvx",
            "\(folder.split(separator: "/").dropLast().joined(separator: "/"))/999999/d-1",
        ]
        let kept = [
            "\(folder)/pending", "queue/pending.mvx", "queue/notify/pending.mvx", "\(folder)/late",
            "\(folder)/being-removed",
        ]
        for key in strays + kept { try bucket.put(try BlobKey(key), [1, 2, 3]) }
        try fixture.directoryFixture.sql.write { db in
            try db.execute("INSERT INTO tombstone (path) VALUES (?)", [.text("\(folder)/being-removed")])
        }
        let before = Set(try fixture.messageFiles())
        // Two keys a listing page: the named keys of a pass are looked up page by page.
        let sweeper = OrphanSweeper(store: fixture.store, bucket: bucket, pageSize: 2, pendingDeposits: { ["pending"] })

        let first = try sweeper.sweep()
        #expect(first.removed.isEmpty)
        #expect(first.checked == before.count + 4, "every spool object and the four queue ones: \(first)")
        #expect(first.suspected == strays.count + 1)
        // An object that gained its row between the passes (a delivery's PUT seen before its
        // commit) is not taken.
        try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "late", message: StoreFixture.message())
        let second = try sweeper.sweep()
        #expect(Set(second.removed) == Set(strays))
        #expect(try sweeper.sweep().removed.isEmpty)
        let after = Set(try bucket.allKeys(prefix: try BlobPrefix("spool/")).map(\.value))
        #expect(after == before.subtracting(strays))
        #expect(try fixture.store.messages(mailbox: fixture.mailbox, folder: "INBOX").count == 2)
        for key in kept { #expect(try bucket.get(try BlobKey(key)) != nil) }
        #expect(try fixture.store.read(mailbox: fixture.mailbox, folder: "Saved", uid: 1).count > 0)
        #expect(try fixture.store.read(mailbox: fixture.mailbox, folder: "INBOX", uid: uid).count > 0)
    }
}
