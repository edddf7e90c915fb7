import Foundation
import GRDB
import MailvoxCore
import MailvoxDatabase

/// Durable jobs on the shared database (SQLite, or PostgreSQL shared by several nodes):
/// enqueue with idempotency, lease with expiry, retry with backoff, dead letter. A crashed
/// worker's lease simply expires.
public final class JobQueue: Sendable {
    let database: any SQLDatabase
    public let policy: RetryPolicy

    public init(database: any SQLDatabase, policy: RetryPolicy) {
        self.database = database
        self.policy = policy
    }

    /// The queue on the one SQLite file, as every caller before the SQL seam built it.
    public convenience init(database: DatabasePool, policy: RetryPolicy) {
        self.init(database: GRDBDatabase(database), policy: policy)
    }

    public enum Acceptance: Sendable, Equatable {
        case accepted(depositID: String)
        /// The idempotency key was seen for this mailbox with the same body (or with a deposit
        /// recorded before bodies had digests): the first deposit's id.
        case duplicate(depositID: String)
        /// The idempotency key was seen for this mailbox with a different body: nothing was
        /// written; the first deposit's id, for the error.
        case mismatch(depositID: String)
    }

    /// Adds a job unless the same (kind, deposit, channel, recipient) exists: enqueueing twice
    /// after a crash makes no second alert. A notify job has a channel, a deliver job none.
    public func enqueue(
        kind: Job.Kind, depositID: String, channel: AlertChannel? = nil, recipient: String = ""
    ) throws {
        try database.write { db in
            try Self.insertJob(
                db, kind: kind, depositID: depositID, channel: channel, recipient: recipient,
                now: Date().timeIntervalSince1970)
        }
    }

    static func insertJob(
        _ db: any SQLConnection, kind: Job.Kind, depositID: String, channel: AlertChannel?, recipient: String,
        now: Double
    ) throws {
        // No channel is '', the column's default, as deliver jobs have always been stored. The
        // conflict is the job's uniqueness (kind, deposit, channel, recipient): a repeat is no-op.
        try db.execute(
            """
            INSERT INTO job (kind, deposit_id, channel, recipient, state, run_after, created_at, updated_at)
            VALUES (?, ?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT (kind, deposit_id, channel, recipient) DO NOTHING
            """,
            [
                .text(kind.rawValue), .text(depositID), .text(channel?.rawValue ?? ""), .text(recipient), .real(now),
                .real(now), .real(now),
            ])
    }

    /// Takes the next due job of `kinds` for `leaseSeconds`; an expired lease counts as due.
    ///
    /// A due row this version cannot read (`QueueError.corruptRow`) goes to the dead letters in
    /// this same transaction, the error in `last_error`, and the next due job is taken. Thrown
    /// instead, the write would roll back and the same row, first in line, come back at every
    /// poll: the worker loop would back off on it for ever and no job behind it would run.
    /// Skipped by the query, it would wait unseen for ever. Dead, it is counted in `/metrics`,
    /// `queue list --dead` names its bad column and `queue drop` removes it. A deliver job's
    /// deposit is marked failed with it, as `DeliverWorker` does when any deliver job dies, so
    /// `GET /api/v1/deposits/{id}` stops answering "queued".
    public func lease(owner: String, kinds: [Job.Kind], leaseSeconds: Double, now: Date = Date()) throws -> Job? {
        try database.write { db in
            let time = now.timeIntervalSince1970
            while let row = try Self.leaseNext(db, kinds: kinds, owner: owner, until: time + leaseSeconds, at: time) {
                do {
                    return try Self.job(row)
                } catch let error as QueueError {
                    guard case .corruptRow = error else { throw error }
                    // The statement matched `kind` against `kinds`, so this one is readable.
                    let kind: String = try row.get("kind")
                    try Self.deadLetter(
                        db, id: try row.get("id"), isDeliver: kind == Job.Kind.deliver.rawValue,
                        reason: error.description, at: time)
                }
            }
            return nil
        }
    }

    /// Leases the first due job of `kinds`, if any, and gives its row with its deposit's
    /// `mailbox_id`: one statement (on PostgreSQL, with BEGIN and COMMIT, three round trips
    /// where a SELECT, an UPDATE and a SELECT made five).
    ///
    /// On PostgreSQL several nodes lease at once: `FOR UPDATE SKIP LOCKED` locks the row the
    /// subquery finds and passes over rows another transaction holds, so each job goes to one
    /// worker and none waits for another's commit. SQLite has one writer at a time and needs
    /// neither.
    private static func leaseNext(
        _ db: any SQLConnection, kinds: [Job.Kind], owner: String, until expiry: Double, at time: Double
    ) throws -> SQLRow? {
        let locking = db.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        return try db.one(
            """
            UPDATE job SET state = 'leased', lease_owner = ?, lease_expires = ?, attempts = attempts + 1, updated_at = ?
            WHERE id = (
                SELECT id FROM job WHERE kind IN (\(placeholders(kinds.count))) AND (
                    (state = 'queued' AND run_after <= ?) OR (state = 'leased' AND lease_expires < ?))
                ORDER BY run_after, id LIMIT 1\(locking))
            RETURNING *, (SELECT mailbox_id FROM deposit WHERE deposit.id = job.deposit_id) AS mailbox_id
            """,
            [.text(owner), .real(expiry), .real(time)] + kinds.map { .text($0.rawValue) } + [.real(time), .real(time)])
    }

    /// Dead-letters a leased job that cannot be read (see `lease`), and a deliver job's deposit.
    private static func deadLetter(
        _ db: any SQLConnection, id: Int64, isDeliver: Bool, reason: String, at time: Double
    ) throws {
        try db.execute(
            """
            UPDATE job SET state = 'dead', last_error = ?, lease_owner = NULL, lease_expires = NULL, updated_at = ?
            WHERE id = ?
            """, [.text(reason), .real(time), .integer(id)])
        guard isDeliver else { return }
        // The code every dead deliver job's deposit gets; the message is for the PBX that asks,
        // so it names no table or stored value.
        try db.execute(
            """
            UPDATE deposit SET status = ?, error_code = 'delivery_failed', error_message = ?, updated_at = ?
            WHERE id = (SELECT deposit_id FROM job WHERE id = ?)
            """,
            [
                .text(DepositRecord.Status.failed.rawValue), .text("the queue cannot read this deposit's job"),
                .real(time), .integer(id),
            ])
    }

    /// The end of a delivery in one transaction: the alert jobs enqueued (`ON CONFLICT DO NOTHING`, as
    /// `enqueue`), the deposit marked delivered with its UID, the job done. One commit instead
    /// of one per step: each commit is a WAL fsync, and a crash between them used to leave a
    /// delivered deposit whose job ran again.
    public func completeDelivery(
        _ job: Job, uid: UInt32, notify: [(channel: AlertChannel, recipient: String)], now: Date = Date()
    ) throws {
        try database.write { db in
            let time = now.timeIntervalSince1970
            for alert in notify {
                try Self.insertJob(
                    db, kind: .notify, depositID: job.depositID, channel: alert.channel, recipient: alert.recipient,
                    now: time)
            }
            try db.execute(
                "UPDATE deposit SET status = ?, uid = ?, error_code = NULL, error_message = NULL, updated_at = ? WHERE id = ?",
                [
                    .text(DepositRecord.Status.delivered.rawValue), .integer(Int64(uid)), .real(time),
                    .text(job.depositID),
                ])
            try Self.markDone(db, job, now: time)
        }
    }

    public func complete(_ job: Job) throws {
        try database.write { db in try Self.markDone(db, job, now: Date().timeIntervalSince1970) }
    }

    private static func markDone(_ db: any SQLConnection, _ job: Job, now: Double) throws {
        try db.execute(
            "UPDATE job SET state = 'done', lease_owner = NULL, lease_expires = NULL, updated_at = ? WHERE id = ?",
            [.real(now), .integer(job.id)])
    }

    /// Records a failure: retried after the backoff, or dead when `permanent` or out of attempts.
    /// Returns the job's new state. `reason` must never carry caller data.
    @discardableResult
    public func fail(_ job: Job, reason: String, permanent: Bool, now: Date = Date()) throws -> Job.State {
        try database.write { db in
            let attempts =
                try db.one("SELECT attempts FROM job WHERE id = ?", [.integer(job.id)])?.get("attempts", as: Int.self)
                ?? job.attempts
            let dead = permanent || attempts >= policy.maxAttempts
            let runAfter = now.timeIntervalSince1970 + (dead ? 0 : policy.delay(afterAttempt: attempts))
            try db.execute(
                """
                UPDATE job SET state = ?, run_after = ?, last_error = ?, lease_owner = NULL, lease_expires = NULL,
                    updated_at = ? WHERE id = ?
                """,
                [
                    .text(dead ? "dead" : "queued"), .real(runAfter), .text(reason), .real(now.timeIntervalSince1970),
                    .integer(job.id),
                ])
            return dead ? .dead : .queued
        }
    }

    /// Gives a leased job back untouched (shutdown): it runs again at once, its attempt not counted.
    public func release(_ job: Job) throws {
        try database.write { db in
            // CASE, not MAX(a, b): SQLite's two-argument MAX is PostgreSQL's GREATEST.
            try db.execute(
                """
                UPDATE job SET state = 'queued', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
                    lease_owner = NULL, lease_expires = NULL, updated_at = ? WHERE id = ? AND state = 'leased'
                """, [.real(Date().timeIntervalSince1970), .integer(job.id)])
        }
    }

    /// Requeues every leased job whose lease owner's name starts with `ownerPrefix` — with the
    /// default "", every leased job at once. Only for `serve` start: it holds the data dir's
    /// lock, so no worker that took a lease is alive. On a shared database a node releases only what its own
    /// earlier run held (owner names start with its `server.hostname` and a colon); other nodes'
    /// leases are alive, and a dead node's run out. The attempt stays counted, so a job that
    /// kills the server each time it runs still ends in the dead letters.
    @discardableResult
    public func releaseOrphanedLeases(ownerPrefix: String = "") throws -> Int {
        let now = SQLValue.real(Date().timeIntervalSince1970)
        return try database.write { db in
            try db.execute(
                """
                UPDATE job SET state = 'queued', lease_owner = NULL, lease_expires = NULL, run_after = ?,
                    updated_at = ? WHERE state = 'leased'
                    AND substr(lease_owner, 1, length(CAST(? AS TEXT))) = ?
                """, [now, now, .text(ownerPrefix), .text(ownerPrefix)])
        }
    }

    public func jobs(dead: Bool = false) throws -> [Job] {
        try database.read { db in
            try db.rows(
                """
                SELECT job.*, deposit.mailbox_id FROM job JOIN deposit ON deposit.id = job.deposit_id
                WHERE \(dead ? "job.state = 'dead'" : "job.state IN ('queued', 'leased')") ORDER BY job.id
                """
            ).map(Self.job)
        }
    }

    public func job(id: Int64) throws -> Job? { try database.read { db in try Self.job(db, id: id) } }

    /// Makes a dead (or waiting) job due now with a fresh attempt count.
    public func retry(id: Int64) throws {
        try database.write { db in
            let changed = try db.execute(
                """
                UPDATE job SET state = 'queued', attempts = 0, run_after = ?, last_error = NULL, updated_at = ?
                WHERE id = ? AND state IN ('dead', 'queued')
                """, [.real(Date().timeIntervalSince1970), .real(Date().timeIntervalSince1970), .integer(id)])
            if changed == 0 { throw QueueError.noSuchJob(id) }
        }
    }

    /// Removes a job for good (its deposit record stays; `queue drop` marks it failed if this
    /// was the deliver job). Only the kind and deposit are read, so a row that `queue list`
    /// refuses as corrupt can still be removed: `kind` is nil when this version does not know it.
    public func drop(id: Int64) throws -> (kind: Job.Kind?, depositID: String) {
        try database.write { db in
            guard let row = try db.one("SELECT kind, deposit_id FROM job WHERE id = ?", [.integer(id)])
            else { throw QueueError.noSuchJob(id) }
            try db.execute("DELETE FROM job WHERE id = ?", [.integer(id)])
            return ((try? row.get("kind", as: String.self)).flatMap(Job.Kind.init), try row.get("deposit_id"))
        }
    }

    /// Queue depth and the age of the oldest due job, for `/metrics`.
    public func depth() throws -> (queued: Int, leased: Int, dead: Int, oldestSeconds: Double) {
        try database.read { db in
            // COUNT of a CASE, not SUM of a comparison: PostgreSQL has no SUM over booleans.
            let row = try db.one(
                """
                SELECT COUNT(CASE WHEN state = 'queued' THEN 1 END) AS queued,
                    COUNT(CASE WHEN state = 'leased' THEN 1 END) AS leased,
                    COUNT(CASE WHEN state = 'dead' THEN 1 END) AS dead,
                    MIN(CASE WHEN state IN ('queued', 'leased') THEN created_at END) AS oldest FROM job
                """)
            guard let row else { return (0, 0, 0, 0) }
            let oldest = try row.optional("oldest", as: Double.self)
            return (
                try row.get("queued"), try row.get("leased"), try row.get("dead"),
                oldest.map { Date().timeIntervalSince1970 - $0 } ?? 0
            )
        }
    }

    static func job(_ db: any SQLConnection, id: Int64) throws -> Job? {
        try db.one(
            "SELECT job.*, deposit.mailbox_id FROM job JOIN deposit ON deposit.id = job.deposit_id WHERE job.id = ?",
            [.integer(id)]
        ).map(job)
    }

    /// A row of `job` joined with its deposit's `mailbox_id`; see `QueueRow` for what is refused.
    static func job(_ row: SQLRow) throws -> Job {
        let id: Int64 = try row.get("id")
        let depositID: String = try row.get("deposit_id")
        let reader = QueueRow(row: row, table: "job", id: "\(id)")
        let kind: Job.Kind = try reader.value("kind")
        let state: Job.State = try reader.value("state")
        // A deliver job stores '' and a notify job its channel: a row where that does not hold
        // is none this code wrote, and a notify job without a channel has nowhere to go.
        let channel: AlertChannel?
        switch kind {
        case .deliver:
            try reader.require("channel") { $0.isEmpty }
            channel = nil
        case .notify:
            channel = try reader.value("channel", as: AlertChannel.self)
        }
        // The mailbox is the deposit's, so a bad one is named there.
        let mailbox = try QueueRow(row: row, table: "deposit", id: depositID).value("mailbox_id", MailboxID.init)
        return Job(
            id: id, kind: kind, depositID: depositID, mailbox: mailbox, channel: channel,
            recipient: try row.get("recipient"), state: state, attempts: try row.get("attempts"),
            runAfter: Date(timeIntervalSince1970: try row.get("run_after")), lastError: try row.optional("last_error"))
    }
}
