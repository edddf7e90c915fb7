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
        onThreads(4) { node in
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

    /// Three nodes claim `\Recent` as fast as they can while a fourth delivers: no UID is
    /// claimed twice and none is lost, because the claim reads the folder `FOR UPDATE`.
    @Test func nodesClaimingRecentAtOnceNeverShareAUID() throws {
        let nodes = try Nodes(4)
        defer { nodes.close() }
        let failures = ConcurrentFailures()
        let claims = ConcurrentClaims()
        let stores = nodes.stores
        let mailbox = nodes.mailbox
        onThreads(4) { node in
            do {
                if node == 0 {
                    for _ in 0..<60 { try stores[0].deliver(mailbox: mailbox, message: StoreFixture.message()) }
                    claims.finish()
                } else {
                    while !claims.finished {
                        claims.add(try stores[node].claimRecent(mailbox: mailbox, folder: "INBOX"))
                    }
                }
            } catch { failures.record(error) }
        }
        claims.add(try nodes.stores[1].claimRecent(mailbox: mailbox, folder: "INBOX"))
        #expect(failures.all.isEmpty, "\(failures.all)")
        #expect(claims.uids.sorted() == Array(1...60))
    }

    /// Four nodes change flags in one folder at once, each on messages of its own (so only the
    /// folder's counter is shared): every change gets a MODSEQ of its own.
    @Test func flagChangesOnFourNodesNeverShareAModseq() throws {
        let nodes = try Nodes(4)
        defer { nodes.close() }
        for _ in 0..<20 { try nodes.stores[0].deliver(mailbox: nodes.mailbox, message: StoreFixture.message()) }
        let before = try nodes.stores[0].status(mailbox: nodes.mailbox, folder: "INBOX").highestModseq
        let failures = ConcurrentFailures()
        let modseqs = ConcurrentClaims()
        let stores = nodes.stores
        let mailbox = nodes.mailbox
        onThreads(4) { node in
            for round in 0..<10 {
                for uid in UInt32(1)...20 where Int(uid) % 4 == node {
                    do {
                        let changed = try stores[node].storeFlags(
                            mailbox: mailbox, folder: "INBOX", uids: [uid], operation: round % 2 == 0 ? .add : .remove,
                            flags: MessageFlags(keywords: ["node\(node)"])
                        ).changed
                        for summary in changed { modseqs.add(UInt32(summary.modseq)..<UInt32(summary.modseq + 1)) }
                    } catch { failures.record(error) }
                }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let given = modseqs.uids
        #expect(given.count == 200)
        #expect(Set(given).count == given.count, "a MODSEQ was given twice")
        let status = try nodes.stores[0].status(mailbox: mailbox, folder: "INBOX")
        #expect(status.highestModseq == before + 200)
    }

    /// One node expunges INBOX into Recently Deleted while another restores from it, each
    /// write needing both folders (taken in id order on PostgreSQL): neither fails and no
    /// message is lost. It did not catch the lock cycle of the unordered locks in the runs tried,
    /// so it guards the outcome, not the order.
    @Test func anExpungeAndARestoreOnTwoNodesLoseNoMessage() throws {
        let nodes = try Nodes(2)
        defer { nodes.close() }
        let stores = nodes.stores
        let mailbox = nodes.mailbox
        for _ in 0..<30 { try stores[0].deliver(mailbox: mailbox, message: StoreFixture.message()) }
        let failures = ConcurrentFailures()
        onThreads(2) { node in
            for _ in 0..<30 {
                do {
                    if node == 0 {
                        let uids = try stores[0].messages(mailbox: mailbox, folder: "INBOX").map(\.uid)
                        try stores[0].expunge(mailbox: mailbox, folder: "INBOX", uids: uids, deletedBy: "node 0")
                    } else {
                        try stores[1].restore(
                            mailbox: mailbox, uids: try stores[1].deletedMessages(mailbox: mailbox).map(\.uid))
                    }
                } catch { failures.record(error) }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let inbox = try stores[0].messages(mailbox: mailbox, folder: "INBOX").count
        let deleted = try stores[0].deletedMessages(mailbox: mailbox).count
        #expect(inbox + deleted == 30)
    }
}

/// Runs `body(0..<count)` on `count` threads of their own at once, and waits for them all:
/// `concurrentPerform` runs no more at once than there are cores, and the nodes must overlap.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            body(index)
            group.leave()
        }.start()
    }
    group.wait()
}

/// UIDs claimed on several threads, behind a lock.
final class ConcurrentClaims: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed: [UInt32] = []
    private var done = false
    func add(_ range: Range<UInt32>) { lock.withLock { claimed += Array(range) } }
    var uids: [UInt32] { lock.withLock { claimed } }
    func finish() { lock.withLock { done = true } }
    var finished: Bool { lock.withLock { done } }
}
