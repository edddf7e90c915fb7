import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxPostgres
import MailvoxStore
import MailvoxTestSupport
import Testing

/// The message store where several nodes share one PostgreSQL database: UIDs, MODSEQs and
/// `\Recent` must come out as SQLite's single writer gave them (docs/STORAGE.md, "Allocation
/// on PostgreSQL").
@Suite struct PostgresMessageStoreTests {
    /// One database with mailbox `1000`, a spool dir, and `nodes` stores over pools of their own.
    struct Nodes {
        let setup: PostgresDatabase
        let pools: [PostgresDatabase]
        let stores: [MessageStore]
        let mailbox = MailboxID("1000")!

        init(_ nodes: Int) throws {
            let server = try PostgresServer.shared
            let url = server.url(database: try server.createDatabase())
            setup = try PostgresDatabase(settings: PostgresSettings(url: url, poolSize: 1))
            try PostgresMigrator.migrate(setup, sets: [StoreMigrations.postgres])
            let master = MasterKey.generate()
            try Directory(database: setup, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1)).addMailbox(
                id: mailbox, settings: MailboxSettings(name: "Grace Hopper"), password: "correct-horse", master: master)
            let spool = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-pg-\(UUID())").path
            pools = try (0..<nodes).map { _ in try PostgresDatabase(settings: PostgresSettings(url: url, poolSize: 2)) }
            stores = pools.map { MessageStore(database: $0, spoolDir: spool, masterKey: master) }
        }

        func close() {
            pools.forEach { $0.close() }
            setup.close()
        }
    }

    /// Four nodes deliver 50 messages each into one INBOX at once: the UIDs are exactly 1…200,
    /// and MODSEQs rise with them, because each delivery raises both counters in one `UPDATE …
    /// RETURNING` whose row lock holds the next delivery until it commits.
    @Test func fourNodesDeliveringIntoOneFolderGetEveryUIDOnceAndInOrder() throws {
        let nodes = try Nodes(4)
        defer { nodes.close() }
        let failures = ConcurrentFailures()
        let stores = nodes.stores
        let mailbox = nodes.mailbox
        DispatchQueue.concurrentPerform(iterations: 4) { node in
            for _ in 0..<50 {
                do {
                    try stores[node].deliver(mailbox: mailbox, message: StoreFixture.message())
                } catch { failures.record(error) }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let messages = try nodes.stores[0].messages(mailbox: mailbox, folder: "INBOX")
        #expect(messages.map(\.uid) == Array(1...200))
        let modseqs = messages.map(\.modseq)
        #expect(zip(modseqs, modseqs.dropFirst()).allSatisfy { $0 < $1 }, "\(modseqs)")
        let status = try nodes.stores[1].status(mailbox: mailbox, folder: "INBOX")
        #expect(status.uidNext == 201 && status.messages == 200)
        #expect(status.highestModseq == modseqs.last)
    }

    /// Two nodes claim `\Recent` while a third delivers: no UID is claimed twice, none is lost.
    @Test func twoNodesClaimingRecentNeverShareAUID() throws {
        let nodes = try Nodes(3)
        defer { nodes.close() }
        let failures = ConcurrentFailures()
        let claims = ConcurrentClaims()
        let stores = nodes.stores
        let mailbox = nodes.mailbox
        DispatchQueue.concurrentPerform(iterations: 3) { node in
            for _ in 0..<40 {
                do {
                    if node == 0 {
                        try stores[0].deliver(mailbox: mailbox, message: StoreFixture.message())
                    } else {
                        claims.add(try stores[node].claimRecent(mailbox: mailbox, folder: "INBOX"))
                    }
                } catch { failures.record(error) }
            }
        }
        claims.add(try nodes.stores[1].claimRecent(mailbox: mailbox, folder: "INBOX"))
        #expect(failures.all.isEmpty, "\(failures.all)")
        #expect(claims.uids.sorted() == Array(1...40))
    }

    /// Flags changed on two nodes at once: every change gets a MODSEQ of its own.
    @Test func flagChangesOnTwoNodesNeverShareAModseq() throws {
        let nodes = try Nodes(2)
        defer { nodes.close() }
        for _ in 0..<20 { try nodes.stores[0].deliver(mailbox: nodes.mailbox, message: StoreFixture.message()) }
        let before = try nodes.stores[0].status(mailbox: nodes.mailbox, folder: "INBOX").highestModseq
        let failures = ConcurrentFailures()
        let stores = nodes.stores
        let mailbox = nodes.mailbox
        DispatchQueue.concurrentPerform(iterations: 2) { node in
            for uid in UInt32(1)...20 {
                do {
                    try stores[node].storeFlags(
                        mailbox: mailbox, folder: "INBOX", uids: [uid], operation: .add,
                        flags: MessageFlags(keywords: ["node\(node)"]))
                } catch { failures.record(error) }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let messages = try nodes.stores[0].messages(mailbox: mailbox, folder: "INBOX")
        #expect(messages.allSatisfy { $0.flags.keywords == ["node0", "node1"] })
        let status = try nodes.stores[0].status(mailbox: mailbox, folder: "INBOX")
        // 40 flag changes, each a MODSEQ of its own.
        #expect(status.highestModseq == before + 40)
        #expect(Set(messages.map(\.modseq)).count == 20)
    }
}

/// UIDs claimed on several threads, behind a lock.
final class ConcurrentClaims: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed: [UInt32] = []
    func add(_ range: Range<UInt32>) { lock.withLock { claimed += Array(range) } }
    var uids: [UInt32] { lock.withLock { claimed } }
}
