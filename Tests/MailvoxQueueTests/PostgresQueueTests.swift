import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxPostgres
import MailvoxQueue
import MailvoxStore
import MailvoxTestSupport
import Testing

/// Runs `body(0..<count)` on `count` threads of their own at once (not the cooperative pool:
/// the queue's calls block) and returns what each returned or threw, in thread order.
func onThreads<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, any Error>] {
    let results = Results<T>()
    let group = DispatchGroup()
    let start = DispatchSemaphore(value: 0)
    for index in 0..<count {
        group.enter()
        Thread.detachNewThread {
            start.wait()
            let result = Result { try body(index) }
            results.set(index, result)
            group.leave()
        }
    }
    for _ in 0..<count { start.signal() }
    group.wait()
    return (0..<count).map { results.get($0) }
}

/// The threads' results, behind a lock.
private final class Results<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int: Result<T, any Error>] = [:]

    func set(_ index: Int, _ value: Result<T, any Error>) {
        lock.withLock { values[index] = value }
    }

    func get(_ index: Int) -> Result<T, any Error> { lock.withLock { values[index]! } }
}

/// What only PostgreSQL has: several nodes on one queue, several nodes migrating, restarts.
@Suite struct PostgresQueueTests {
    /// Four workers (as on four nodes) lease from one queue at once: every job is taken exactly once.
    @Test func concurrentWorkersLeaseEveryJobExactlyOnce() throws {
        let fixture = try QueueFixture(.postgres, poolSize: 4)
        let total = 200
        for index in 0..<total { _ = try fixture.accept("d\(index)") }
        let queue = fixture.queue
        let results = onThreads(4) { worker -> [Int64] in
            var taken: [Int64] = []
            while let job = try queue.lease(owner: "node-\(worker)", kinds: [.deliver], leaseSeconds: 300) {
                taken.append(job.id)
                try queue.complete(job)
            }
            return taken
        }
        let perWorker = try results.map { try $0.get() }
        let all = perWorker.flatMap { $0 }
        #expect(all.count == total)
        #expect(Set(all).count == total, "a job was leased twice")
        #expect(try fixture.queue.jobs().isEmpty)
        #expect(
            try fixture.scalar("SELECT COUNT(*) FROM job WHERE state = 'done' AND attempts = 1", as: Int.self) == total)
    }

    /// The same idempotency key arriving on several nodes at once makes one deposit.
    @Test func concurrentDepositsWithOneKeyMakeOneDeposit() throws {
        let fixture = try QueueFixture(.postgres, poolSize: 4)
        let digest = Hashing.sha256(Data("call-1".utf8))
        let queue = fixture.queue
        let mailbox = fixture.mailbox
        let answers = try onThreads(4) { node in
            try queue.accept(depositID: "d\(node)", mailbox: mailbox, idempotencyDigest: digest)
        }.map { try $0.get() }
        let accepted = answers.compactMap { answer -> String? in
            if case .accepted(let id) = answer { return id }
            return nil
        }
        #expect(accepted.count == 1, "\(answers)")
        #expect(
            answers.allSatisfy { answer in
                answer == JobQueue.Acceptance.accepted(depositID: accepted[0])
                    || answer == JobQueue.Acceptance.duplicate(depositID: accepted[0])
            })
        #expect(try fixture.queue.jobs().count == 1)
    }

    /// Nodes starting together migrate once: the advisory lock lets one apply, the rest find it done.
    @Test func migrationsRunOnceWhenNodesMigrateTogether() throws {
        let server = try PostgresServer.shared
        let url = server.url(database: try server.createDatabase())
        let results = onThreads(4) { _ -> [String] in
            let database = try PostgresDatabase(settings: PostgresSettings(url: url, poolSize: 1))
            defer { database.close() }
            return try PostgresMigrator.migrate(database, sets: [StoreMigrations.postgres, QueueMigrations.postgres])
        }
        let applied = try results.flatMap { try $0.get() }
        let all = [
            "store.1-schema", "store.2-shared-logins", "store.3-message-meta", "queue.1-jobs", "queue.2-alerts",
            "queue.3-body-digest",
            "queue.4-mailbox-keys",
        ]
        #expect(applied.sorted() == all.sorted())
        let database = try PostgresDatabase(settings: PostgresSettings(url: url, poolSize: 1))
        #expect(try PostgresMigrator.appliedMigrations(database) == all)
        #expect(
            try PostgresMigrator.migrate(database, sets: [StoreMigrations.postgres, QueueMigrations.postgres]).isEmpty)
    }

    /// A connection that dies inside a transaction fails that call with a temporary error; the
    /// next call gets a new connection.
    @Test func aConnectionKilledMidTransactionFailsThatCallOnly() throws {
        let fixture = try QueueFixture(.postgres, poolSize: 1)
        _ = try fixture.accept("d1")
        let error = try #require(throws: PostgresDatabaseError.self) {
            try fixture.database.write { db in
                try db.execute("UPDATE deposit SET status = 'failed' WHERE id = 'd1'")
                try db.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            }
        }
        #expect(error == .connectionLost(target: fixture.postgres!.settings.displayURL, atCommit: false))
        #expect(error.isTemporary)
        #expect(try fixture.queue.deposit(id: "d1")?.status == .queued, "nothing of it was committed")
        #expect(try fixture.accept("d2") == .accepted(depositID: "d2"))
    }

    /// PostgreSQL restarts under a running node: calls fail while it is down, with a temporary
    /// error, and the first call after it is back works on fresh connections.
    @Test func aServerRestartIsSurvived() throws {
        let server = try PostgresServer.makePrivate()
        let url = server.url(database: try server.createDatabase())
        let database = try PostgresDatabase(
            settings: PostgresSettings(url: url, poolSize: 2, connectTimeoutSeconds: 5))
        try PostgresMigrator.migrate(database, sets: [StoreMigrations.postgres, QueueMigrations.postgres])
        let queue = JobQueue(database: database, policy: RetryPolicy(maxAttempts: 3, initialSeconds: 5, maxSeconds: 60))
        let mailbox = MailboxID("1000")!
        try Directory(database: database, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1)).addMailbox(
            id: mailbox, settings: MailboxSettings(name: "Desk"), password: "long-enough", master: MasterKey.generate())
        #expect(
            try queue.accept(depositID: "d1", mailbox: mailbox, idempotencyDigest: nil) == .accepted(depositID: "d1"))

        try server.stop()
        let down = try #require(throws: PostgresDatabaseError.self) { try queue.deposit(id: "d1") }
        #expect(down.isTemporary, "\(down)")
        try server.start()

        #expect(try queue.deposit(id: "d1")?.status == .queued)
        #expect(
            try queue.accept(depositID: "d2", mailbox: mailbox, idempotencyDigest: nil) == .accepted(depositID: "d2"))
        try server.stop()
        try server.start()
        #expect(try queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60)?.depositID == "d1")
    }
}
