import Foundation
import GRDB
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxStore
import Testing

/// Each folder's first recent UID (RFC 3501 §2.3.2): what sessions claim as `\Recent`.
@Suite struct RecentTests {
    @Test(arguments: Backend.allCases) func aClaimTakesTheUnclaimedOnceAndADeliveryIsRecentAgain(
        _ backend: Backend
    ) async throws {
        let fixture = try StoreFixture(backend)
        let store = MailboxStore(mailbox: fixture.mailbox, store: fixture.store, limits: .default)
        for _ in 0..<3 { try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message()) }

        var status = try await store.status(of: "INBOX")
        #expect(status.firstRecentUID == 1 && status.recent == 3)
        #expect(try await store.claimRecent(in: "INBOX") == 1..<4)
        status = try await store.status(of: "INBOX")
        #expect(status.firstRecentUID == 4 && status.recent == 0)
        // Nothing new: a second session gets nothing.
        #expect(try await store.claimRecent(in: "INBOX").isEmpty)

        try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message())
        #expect(try await store.status(of: "INBOX").recent == 1)
        #expect(try await store.claimRecent(in: "INBOX") == 4..<5)
        #expect(try await store.status(of: "INBOX").recent == 0)

        // A copy is new to its target folder; other folders are their own.
        _ = try await store.copy(from: "INBOX", uids: [1, 2], to: "Saved", removingSource: false)
        #expect(try await store.status(of: "Saved").recent == 2)
        #expect(try await store.status(of: "INBOX").recent == 0)
        // An expunged recent message is no longer counted.
        _ = try await store.expunge(in: "Saved", uids: [1])
        #expect(try await store.status(of: "Saved").recent == 1)
        #expect(try await store.claimRecent(in: "Saved") == 1..<3)
        await #expect(throws: MailStoreError.noSuchFolder("Nowhere")) { try await store.claimRecent(in: "Nowhere") }
    }

    @Test(arguments: Backend.allCases) func concurrentClaimsNeverShareAMessage(_ backend: Backend) async throws {
        let fixture = try StoreFixture(backend)
        let messages = fixture.store
        let mailbox = fixture.mailbox
        let claims = try await withThrowingTaskGroup(of: [Range<UInt32>].self) { group in
            group.addTask {
                for _ in 0..<20 { try messages.deliver(mailbox: mailbox, message: StoreFixture.message()) }
                return []
            }
            for _ in 0..<3 {
                group.addTask {
                    var mine: [Range<UInt32>] = []
                    for _ in 0..<20 { mine.append(try messages.claimRecent(mailbox: mailbox, folder: "INBOX")) }
                    return mine
                }
            }
            var all: [Range<UInt32>] = []
            for try await batch in group { all += batch }
            return all
        }
        let last = try messages.claimRecent(mailbox: mailbox, folder: "INBOX")
        var claimed: [UInt32] = []
        for range in claims + [last] { claimed += Array(range) }
        #expect(claimed.sorted() == Array(1...20))
    }

    @Test func theClaimSurvivesReopeningTheDatabase() throws {
        let fixture = try StoreFixture()
        for _ in 0..<2 { try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message()) }
        #expect(try fixture.store.claimRecent(mailbox: fixture.mailbox, folder: "INBOX") == 1..<3)

        let database = try MailvoxDatabase.open(path: fixture.directoryFixture.path, migrations: [StoreMigrations.set])
        let reopened = MessageStore(
            database: database, spoolDir: fixture.root + "/spool", masterKey: fixture.directoryFixture.master)
        let status = try reopened.status(mailbox: fixture.mailbox, folder: "INBOX")
        #expect(status.firstRecentUID == 3 && status.recent == 0)
        try reopened.deliver(mailbox: fixture.mailbox, message: StoreFixture.message())
        #expect(try reopened.claimRecent(mailbox: fixture.mailbox, folder: "INBOX") == 3..<4)
    }

    /// An upgrade flags no old mail as recent: existing folders start at their UIDNEXT.
    @Test func theMigrationStartsExistingFoldersAtTheirUIDNext() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-recent-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/mailvox.sqlite"
        let before = MigrationSet(
            module: StoreMigrations.set.module,
            migrations: StoreMigrations.set.migrations.filter { $0.name != "3-recent" })
        let old = try MailvoxDatabase.open(path: path, migrations: [before], create: true)
        let master = MasterKey.generate()
        try Directory(database: old, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1)).addMailbox(
            id: MailboxID("1000")!, settings: MailboxSettings(name: "Grace Hopper"), password: "correct-horse",
            master: master)
        try old.write { db in try db.execute(sql: "UPDATE folder SET uid_next = 7 WHERE name = 'INBOX'") }

        let upgraded = try MailvoxDatabase.open(path: path, migrations: [StoreMigrations.set])
        let store = MessageStore(database: upgraded, spoolDir: folder + "/spool", masterKey: master)
        let mailbox = MailboxID("1000")!
        #expect(try store.status(mailbox: mailbox, folder: "INBOX").firstRecentUID == 7)
        #expect(try store.status(mailbox: mailbox, folder: "Saved").firstRecentUID == 1)
        try store.createFolder(mailbox: mailbox, name: "Later")
        #expect(try store.status(mailbox: mailbox, folder: "Later").firstRecentUID == 1)
        try store.deliver(mailbox: mailbox, message: StoreFixture.message())
        #expect(try store.claimRecent(mailbox: mailbox, folder: "INBOX") == 7..<8)
    }
}
