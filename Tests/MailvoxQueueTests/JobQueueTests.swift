import Foundation
import GRDB
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxPostgres
import MailvoxQueue
import MailvoxStore
import MailvoxTestSupport
import Testing

/// Where a queue test's tables live: the SQLite file, or a database of its own on the test
/// process's PostgreSQL server (`PostgresServer.shared`).
enum Backend: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

struct QueueFixture {
    let database: any SQLDatabase
    /// The SQLite pool behind `database` on `.sqlite`: what `CorruptRowTests` edit by hand.
    let pool: DatabasePool?
    let postgres: PostgresDatabase?
    let queue: JobQueue
    let mailbox = MailboxID("1000")!

    init(_ backend: Backend = .sqlite, maxAttempts: Int = 3, poolSize: Int = 4) throws {
        let policy = RetryPolicy(maxAttempts: maxAttempts, initialSeconds: 5, maxSeconds: 60)
        switch backend {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-queue-\(UUID())").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let pool = try MailvoxDatabase.open(
                path: folder + "/db.sqlite", migrations: [StoreMigrations.set, QueueMigrations.set], create: true)
            try Directory(database: pool, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1)).addMailbox(
                id: mailbox, settings: MailboxSettings(name: "Desk"), password: "long-enough",
                master: MasterKey.generate())
            self.pool = pool
            postgres = nil
            database = GRDBDatabase(pool)
            queue = JobQueue(database: pool, policy: policy)
        case .postgres:
            // The store's set first, as on SQLite: the queue's rows reference its mailbox.
            let postgres = try Self.postgresDatabase(poolSize: poolSize)
            try PostgresMigrator.migrate(postgres, sets: [StoreMigrations.postgres, QueueMigrations.postgres])
            try Directory(database: postgres, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1)).addMailbox(
                id: mailbox, settings: MailboxSettings(name: "Desk"), password: "long-enough",
                master: MasterKey.generate())
            pool = nil
            self.postgres = postgres
            database = postgres
            queue = JobQueue(database: postgres, policy: policy)
        }
    }

    /// A pool on a new, empty database of the shared server.
    static func postgresDatabase(poolSize: Int = 4) throws -> PostgresDatabase {
        let server = try PostgresServer.shared
        let name = try server.createDatabase()
        return try PostgresDatabase(settings: PostgresSettings(url: server.url(database: name), poolSize: poolSize))
    }

    func accept(_ id: String, key: String? = nil, body: String? = nil) throws -> JobQueue.Acceptance {
        try queue.accept(
            depositID: id, mailbox: mailbox, idempotencyDigest: key.map { Hashing.sha256(Data($0.utf8)) },
            bodyDigest: body.map { Hashing.sha256(Data($0.utf8)) })
    }

    /// The first column of the first row of `sql`, read through the seam on either backend.
    func scalar<T: SQLValueConvertible>(_ sql: String, as type: T.Type = T.self) throws -> T? {
        try database.read { db in try db.one(sql).flatMap { row in try row.optional(row.columns[0], as: type) } }
    }
}

@Suite struct JobQueueTests {
    @Test(arguments: Backend.allCases) func acceptRecordsADepositAndItsDeliverJob(_ backend: Backend) throws {
        let fixture = try QueueFixture(backend)
        #expect(try fixture.accept("d1") == .accepted(depositID: "d1"))
        #expect(try fixture.queue.deposit(id: "d1")?.status == .queued)
        let jobs = try fixture.queue.jobs()
        #expect(jobs.map(\.kind) == [.deliver])
        #expect(jobs.first?.mailbox == fixture.mailbox)
    }

    @Test(arguments: Backend.allCases) func anIdempotencyKeyIsScopedToItsMailboxAndStoredAsADigest(
        _ backend: Backend
    ) throws {
        let fixture = try QueueFixture(backend)
        #expect(try fixture.accept("d1", key: "call-42") == .accepted(depositID: "d1"))
        #expect(try fixture.accept("d2", key: "call-42") == .duplicate(depositID: "d1"))
        #expect(try fixture.queue.jobs().count == 1)
        let stored = try fixture.scalar("SELECT idempotency_sha256 FROM deposit", as: Data.self)
        #expect(stored == Hashing.sha256(Data("call-42".utf8)))
    }

    /// A key used again with a different body used to be answered as the first deposit, and
    /// the new recording was dropped; it is refused now, with nothing written.
    @Test(arguments: Backend.allCases) func aRepeatedKeyWithAnotherBodyIsAMismatchAndWritesNothing(
        _ backend: Backend
    ) throws {
        let fixture = try QueueFixture(backend)
        #expect(try fixture.accept("d1", key: "call-42", body: "first recording") == .accepted(depositID: "d1"))
        #expect(try fixture.accept("d2", key: "call-42", body: "first recording") == .duplicate(depositID: "d1"))
        #expect(try fixture.accept("d3", key: "call-42", body: "another recording") == .mismatch(depositID: "d1"))
        #expect(try fixture.queue.jobs().count == 1)
        #expect(try fixture.queue.deposit(id: "d3") == nil)
        let key = Hashing.sha256(Data("call-42".utf8))
        #expect(
            try fixture.queue.existingDeposit(
                mailbox: fixture.mailbox, idempotencyDigest: key,
                bodyDigest: Hashing.sha256(Data("first recording".utf8)))
                == .duplicate(depositID: "d1"))
        #expect(
            try fixture.queue.existingDeposit(
                mailbox: fixture.mailbox, idempotencyDigest: key, bodyDigest: Hashing.sha256(Data("other".utf8)))
                == .mismatch(depositID: "d1"))
        #expect(
            try fixture.queue.existingDeposit(
                mailbox: fixture.mailbox, idempotencyDigest: Hashing.sha256(Data("new".utf8)), bodyDigest: nil) == nil)
        let stored = try fixture.scalar("SELECT body_sha256 FROM deposit WHERE id = 'd1'", as: Data.self)
        #expect(stored == Hashing.sha256(Data("first recording".utf8)))
    }

    /// Deposits recorded before `queue.3-body-digest` have no body digest: a repeat of their
    /// key cannot be compared and stays the duplicate answer it always was.
    @Test(arguments: Backend.allCases) func aFirstDepositWithoutABodyDigestStaysADuplicate(_ backend: Backend) throws {
        let fixture = try QueueFixture(backend)
        #expect(try fixture.accept("d1", key: "call-7") == .accepted(depositID: "d1"))
        #expect(try fixture.accept("d2", key: "call-7", body: "anything") == .duplicate(depositID: "d1"))
    }

    @Test(arguments: Backend.allCases) func theBodyDigestMigrationIsRecorded(_ backend: Backend) throws {
        let fixture = try QueueFixture(backend)
        let applied: [String]
        if let postgres = fixture.postgres {
            applied = try PostgresMigrator.appliedMigrations(postgres)
        } else {
            applied = try MailvoxDatabase.appliedMigrations(try #require(fixture.pool))
        }
        #expect(applied.contains("queue.3-body-digest"), "\(applied)")
    }

    @Test(arguments: Backend.allCases) func aLeaseIsExclusiveUntilItExpires(_ backend: Backend) throws {
        let fixture = try QueueFixture(backend)
        _ = try fixture.accept("d1")
        let now = Date()
        let first = try #require(try fixture.queue.lease(owner: "a", kinds: [.deliver], leaseSeconds: 60, now: now))
        #expect(first.attempts == 1)
        #expect(try fixture.queue.lease(owner: "b", kinds: [.deliver], leaseSeconds: 60, now: now) == nil)
        // The worker holding it crashed: after the lease, another takes it over.
        let again = try #require(
            try fixture.queue.lease(owner: "b", kinds: [.deliver], leaseSeconds: 60, now: now + 61))
        #expect(again.id == first.id)
        #expect(again.attempts == 2)
        #expect(try fixture.queue.lease(owner: "c", kinds: [.notify], leaseSeconds: 60, now: now + 200) == nil)
    }

    @Test(arguments: Backend.allCases) func failuresBackOffThenDeadLetter(_ backend: Backend) throws {
        let fixture = try QueueFixture(backend, maxAttempts: 3)
        _ = try fixture.accept("d1")
        var now = Date()
        for attempt in 1...3 {
            let job = try #require(try fixture.queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60, now: now))
            #expect(job.attempts == attempt)
            let state = try fixture.queue.fail(job, reason: "relay down", permanent: false, now: now)
            #expect(state == (attempt < 3 ? .queued : .dead))
            let waiting = try #require(try fixture.queue.job(id: job.id))
            if attempt < 3 {
                let delay = waiting.runAfter.timeIntervalSince(now)
                #expect(
                    delay >= 0.5 * 5 * pow(2, Double(attempt - 1)) - 0.01
                        && delay <= 5 * pow(2, Double(attempt - 1)) + 0.01)
                #expect(
                    try fixture.queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60, now: now) == nil,
                    "not before its time")
            }
            now = waiting.runAfter + 1
        }
        #expect(try fixture.queue.jobs(dead: true).map(\.lastError) == ["relay down"])
        #expect(try fixture.queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60, now: now + 10_000) == nil)
        let dead = try #require(try fixture.queue.jobs(dead: true).first)
        try fixture.queue.retry(id: dead.id)
        #expect(try fixture.queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60)?.attempts == 1)
    }

    @Test(arguments: Backend.allCases) func aPermanentFailureIsDeadAtOnce(_ backend: Backend) throws {
        let fixture = try QueueFixture(backend, maxAttempts: 8)
        _ = try fixture.accept("d1")
        let job = try #require(try fixture.queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60))
        #expect(try fixture.queue.fail(job, reason: "not audio", permanent: true) == .dead)
    }

    @Test(arguments: Backend.allCases) func releaseGivesTheJobBackWithoutCountingTheAttempt(_ backend: Backend) throws {
        let fixture = try QueueFixture(backend)
        _ = try fixture.accept("d1")
        let job = try #require(try fixture.queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60))
        try fixture.queue.release(job)
        #expect(try fixture.queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60)?.attempts == 1)
    }

    @Test(arguments: Backend.allCases) func completingADeliveryRecordsAlertsDepositAndJobAtOnce(
        _ backend: Backend
    ) throws {
        let fixture = try QueueFixture(backend)
        _ = try fixture.accept("d1")
        let job = try #require(try fixture.queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60))
        let alerts = [
            (channel: AlertChannel.email, recipient: "desk@example.com"), (channel: .sms, recipient: "+4930123456"),
        ]
        try fixture.queue.completeDelivery(job, uid: 7, notify: alerts)
        // Run again after a crash before the sealed deposit's removal: no second alert.
        try fixture.queue.completeDelivery(job, uid: 7, notify: alerts)
        let record = try #require(try fixture.queue.deposit(id: "d1"))
        #expect(record.status == .delivered)
        #expect(record.uid == 7)
        let jobs = try fixture.queue.jobs()
        // The deliver job is done (no longer queued or leased); one queued job per recipient.
        #expect(jobs.map(\.kind) == [.notify, .notify])
        #expect(jobs.map(\.channel) == [.email, .sms])
    }

    @Test(arguments: Backend.allCases) func orphanedLeasesAreReleasedAtStartWithTheirAttemptCounted(
        _ backend: Backend
    ) throws {
        let fixture = try QueueFixture(backend)
        _ = try fixture.accept("d1")
        _ = try #require(try fixture.queue.lease(owner: "dead-server", kinds: [.deliver], leaseSeconds: 300))
        #expect(try fixture.queue.releaseOrphanedLeases() == 1)
        #expect(try fixture.queue.lease(owner: "new-server", kinds: [.deliver], leaseSeconds: 300)?.attempts == 2)
    }

    /// On a shared database a restarted node releases only its own earlier leases, named by its
    /// hostname; another node's live lease stays.
    @Test(arguments: Backend.allCases) func aNodeReleasesOnlyItsOwnLeases(_ backend: Backend) throws {
        let fixture = try QueueFixture(backend)
        _ = try fixture.accept("d1")
        _ = try fixture.accept("d2")
        _ = try #require(try fixture.queue.lease(owner: "node1.example:41:0", kinds: [.deliver], leaseSeconds: 300))
        _ = try #require(try fixture.queue.lease(owner: "node10.example:7:0", kinds: [.deliver], leaseSeconds: 300))
        #expect(try fixture.queue.releaseOrphanedLeases(ownerPrefix: "node1.example:") == 1)
        let again = try #require(
            try fixture.queue.lease(owner: "node1.example:99:0", kinds: [.deliver], leaseSeconds: 300))
        #expect(again.depositID == "d1")
        #expect(try fixture.queue.lease(owner: "node1.example:99:1", kinds: [.deliver], leaseSeconds: 300) == nil)
    }

    @Test(arguments: Backend.allCases) func finishedDepositsAndTheirKeysAreForgottenAfterTheRetention(
        _ backend: Backend
    ) throws {
        let fixture = try QueueFixture(backend)
        _ = try fixture.accept("old", key: "k-old")
        _ = try fixture.accept("waiting", key: "k-waiting")
        let job = try #require(try fixture.queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60))
        try fixture.queue.complete(job)
        try fixture.queue.setDeposit(job.depositID, status: .delivered, uid: 1)
        #expect(try fixture.queue.purge(finishedBefore: Date().addingTimeInterval(-3600)) == 0, "not old enough yet")
        #expect(try fixture.queue.purge(finishedBefore: Date().addingTimeInterval(60)) == 1)
        #expect(try fixture.queue.deposit(id: job.depositID) == nil)
        #expect(try fixture.queue.deposit(id: job.depositID == "old" ? "waiting" : "old")?.status == .queued)
        #expect(
            try fixture.accept("again", key: job.depositID == "old" ? "k-old" : "k-waiting")
                == .accepted(depositID: "again"))
    }

    @Test(arguments: Backend.allCases) func notifyJobsAreUniquePerRecipient(_ backend: Backend) throws {
        let fixture = try QueueFixture(backend)
        _ = try fixture.accept("d1")
        try fixture.queue.enqueue(kind: .notify, depositID: "d1", channel: .email, recipient: "a@example.com")
        try fixture.queue.enqueue(kind: .notify, depositID: "d1", channel: .email, recipient: "a@example.com")
        try fixture.queue.enqueue(kind: .notify, depositID: "d1", channel: .email, recipient: "b@example.com")
        #expect(
            try fixture.queue.jobs().filter { $0.kind == .notify }.map(\.recipient) == [
                "a@example.com", "b@example.com",
            ])
    }

    @Test(arguments: Backend.allCases) func theLastAlertResultPerRecipientReplacesTheOneBefore(
        _ backend: Backend
    ) throws {
        let fixture = try QueueFixture(backend)
        _ = try fixture.accept("d1")
        try fixture.queue.recordAlert(
            mailbox: fixture.mailbox, channel: .email, recipient: "a@example.com", depositID: "d1", outcome: .retrying,
            attempts: 1, detail: "SMTP relay answered DATA with 451 later")
        try fixture.queue.recordAlert(
            mailbox: fixture.mailbox, channel: .sms, recipient: "+4915112345678", depositID: "d1", outcome: .failed,
            attempts: 1, detail: "SMS gateway answered HTTP 400")
        try fixture.queue.recordAlert(
            mailbox: fixture.mailbox, channel: .email, recipient: "a@example.com", depositID: "d1", outcome: .sent,
            attempts: 2, detail: nil)
        let results = try fixture.queue.alertResults(mailbox: fixture.mailbox)
        #expect(results.map(\.channel) == [.email, .sms])
        #expect(results.first?.outcome == .sent)
        #expect(results.first?.attempts == 2)
        #expect(results.first?.detail == nil)
        let counts = try fixture.queue.alertOutcomeCounts()
        #expect(counts.contains { $0.channel == .email && $0.outcome == .sent && $0.count == 1 })
        #expect(counts.contains { $0.channel == .sms && $0.outcome == .failed && $0.count == 1 })
        #expect(!counts.contains { $0.outcome == .retrying })
    }

    @Test(arguments: Backend.allCases) func pendingNotifyJobsCountOnlyWaitingOrRunningOnes(_ backend: Backend) throws {
        let fixture = try QueueFixture(backend, maxAttempts: 1)
        _ = try fixture.accept("d1")
        try fixture.queue.enqueue(kind: .notify, depositID: "d1", channel: .email, recipient: "a@example.com")
        try fixture.queue.enqueue(kind: .notify, depositID: "d1", channel: .email, recipient: "b@example.com")
        #expect(try fixture.queue.pendingNotifyJobs(depositID: "d1") == 2)
        let first = try #require(try fixture.queue.lease(owner: "n", kinds: [.notify], leaseSeconds: 60))
        try fixture.queue.complete(first)
        let second = try #require(try fixture.queue.lease(owner: "n", kinds: [.notify], leaseSeconds: 60))
        #expect(try fixture.queue.pendingNotifyJobs(depositID: "d1") == 1)
        try fixture.queue.fail(second, reason: "550", permanent: true)
        #expect(try fixture.queue.pendingNotifyJobs(depositID: "d1") == 0)
        #expect(Set(try fixture.queue.notifyJobStates(depositID: "d1", channel: .email)) == [.done, .dead])
        #expect(try fixture.queue.notifyJobStates(depositID: "d1", channel: .sms).isEmpty)
    }

    @Test func backoffIsCappedAndJittered() {
        let policy = RetryPolicy(maxAttempts: 8, initialSeconds: 5, maxSeconds: 3600)
        #expect(policy.delay(afterAttempt: 1, jitter: 1) == 5)
        #expect(policy.delay(afterAttempt: 4, jitter: 1) == 40)
        #expect(policy.delay(afterAttempt: 30, jitter: 1) == 3600)
        #expect(policy.delay(afterAttempt: 4, jitter: 0.5) == 20)
    }

    @Test(arguments: Backend.allCases) func unknownJobsAreNamed(_ backend: Backend) throws {
        let fixture = try QueueFixture(backend)
        #expect(throws: QueueError.noSuchJob(99)) { try fixture.queue.retry(id: 99) }
        #expect(throws: QueueError.noSuchJob(99)) { try fixture.queue.drop(id: 99) }
    }
}
