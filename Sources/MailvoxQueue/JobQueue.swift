import Foundation
import GRDB
import MailvoxCore

/// Durable jobs on the shared SQLite database: enqueue with idempotency, lease with expiry,
/// retry with backoff, dead letter. A crashed worker's lease simply expires.
public final class JobQueue: Sendable {
    let database: DatabasePool
    public let policy: RetryPolicy

    public init(database: DatabasePool, policy: RetryPolicy) {
        self.database = database
        self.policy = policy
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
        _ db: GRDB.Database, kind: Job.Kind, depositID: String, channel: AlertChannel?, recipient: String,
        now: Double
    ) throws {
        // No channel is '', the column's default, as deliver jobs have always been stored.
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO job (kind, deposit_id, channel, recipient, state, run_after, created_at, updated_at)
                VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)
                """, arguments: [kind.rawValue, depositID, channel?.rawValue ?? "", recipient, now, now, now])
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
            while let next = try Self.nextDue(db, kinds: kinds, at: time) {
                let id: Int64 = next["id"]
                try db.execute(
                    sql: """
                        UPDATE job SET state = 'leased', lease_owner = ?, lease_expires = ?, attempts = attempts + 1,
                            updated_at = ? WHERE id = ?
                        """, arguments: [owner, time + leaseSeconds, time, id])
                do {
                    return try Self.job(db, id: id)
                } catch let error as QueueError {
                    guard case .corruptRow = error else { throw error }
                    // The query matched `kind` against `kinds`, so this one is readable.
                    let kind: String = next["kind"]
                    let isDeliver = kind == Job.Kind.deliver.rawValue
                    try Self.deadLetter(db, id: id, isDeliver: isDeliver, reason: error.description, at: time)
                }
            }
            return nil
        }
    }

    /// The id and kind of the first due job of `kinds`, if any.
    private static func nextDue(_ db: GRDB.Database, kinds: [Job.Kind], at time: Double) throws -> Row? {
        let placeholders = kinds.map { _ in "?" }.joined(separator: ", ")
        var arguments: StatementArguments = StatementArguments(kinds.map(\.rawValue))
        arguments += [time, time]
        return try Row.fetchOne(
            db,
            sql: """
                SELECT id, kind FROM job WHERE kind IN (\(placeholders)) AND (
                    (state = 'queued' AND run_after <= ?) OR (state = 'leased' AND lease_expires < ?))
                ORDER BY run_after, id LIMIT 1
                """, arguments: arguments)
    }

    /// Dead-letters a leased job that cannot be read (see `lease`), and a deliver job's deposit.
    private static func deadLetter(
        _ db: GRDB.Database, id: Int64, isDeliver: Bool, reason: String, at time: Double
    ) throws {
        try db.execute(
            sql: """
                UPDATE job SET state = 'dead', last_error = ?, lease_owner = NULL, lease_expires = NULL, updated_at = ?
                WHERE id = ?
                """, arguments: [reason, time, id])
        guard isDeliver else { return }
        // The code every dead deliver job's deposit gets; the message is for the PBX that asks,
        // so it names no table or stored value.
        try db.execute(
            sql: """
                UPDATE deposit SET status = ?, error_code = 'delivery_failed', error_message = ?, updated_at = ?
                WHERE id = (SELECT deposit_id FROM job WHERE id = ?)
                """,
            arguments: [
                DepositRecord.Status.failed.rawValue, "the queue cannot read this deposit's job", time, id,
            ])
    }

    /// The end of a delivery in one transaction: the alert jobs enqueued (`INSERT OR IGNORE`, as
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
                sql:
                    "UPDATE deposit SET status = ?, uid = ?, error_code = NULL, error_message = NULL, updated_at = ? WHERE id = ?",
                arguments: [DepositRecord.Status.delivered.rawValue, Int64(uid), time, job.depositID])
            try Self.markDone(db, job, now: time)
        }
    }

    public func complete(_ job: Job) throws {
        try database.write { db in try Self.markDone(db, job, now: Date().timeIntervalSince1970) }
    }

    private static func markDone(_ db: GRDB.Database, _ job: Job, now: Double) throws {
        try db.execute(
            sql: "UPDATE job SET state = 'done', lease_owner = NULL, lease_expires = NULL, updated_at = ? WHERE id = ?",
            arguments: [now, job.id])
    }

    /// Records a failure: retried after the backoff, or dead when `permanent` or out of attempts.
    /// Returns the job's new state. `reason` must never carry caller data.
    @discardableResult
    public func fail(_ job: Job, reason: String, permanent: Bool, now: Date = Date()) throws -> Job.State {
        try database.write { db in
            let attempts =
                try Int.fetchOne(db, sql: "SELECT attempts FROM job WHERE id = ?", arguments: [job.id]) ?? job.attempts
            let dead = permanent || attempts >= policy.maxAttempts
            let runAfter = now.timeIntervalSince1970 + (dead ? 0 : policy.delay(afterAttempt: attempts))
            try db.execute(
                sql: """
                    UPDATE job SET state = ?, run_after = ?, last_error = ?, lease_owner = NULL, lease_expires = NULL,
                        updated_at = ? WHERE id = ?
                    """,
                arguments: [dead ? "dead" : "queued", runAfter, reason, now.timeIntervalSince1970, job.id])
            return dead ? .dead : .queued
        }
    }

    /// Gives a leased job back untouched (shutdown): it runs again at once, its attempt not counted.
    public func release(_ job: Job) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    UPDATE job SET state = 'queued', attempts = MAX(attempts - 1, 0), lease_owner = NULL,
                        lease_expires = NULL, updated_at = ? WHERE id = ? AND state = 'leased'
                    """, arguments: [Date().timeIntervalSince1970, job.id])
        }
    }

    /// Requeues every leased job at once. Only for `serve` start: it holds the data dir's lock,
    /// so no worker that took a lease is alive. The attempt stays counted, so a job that kills
    /// the server each time it runs still ends in the dead letters.
    @discardableResult
    public func releaseOrphanedLeases() throws -> Int {
        try database.write { db in
            try db.execute(
                sql: """
                    UPDATE job SET state = 'queued', lease_owner = NULL, lease_expires = NULL, run_after = ?,
                        updated_at = ? WHERE state = 'leased'
                    """, arguments: [Date().timeIntervalSince1970, Date().timeIntervalSince1970])
            return db.changesCount
        }
    }

    public func jobs(dead: Bool = false) throws -> [Job] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: """
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
            try db.execute(
                sql: """
                    UPDATE job SET state = 'queued', attempts = 0, run_after = ?, last_error = NULL, updated_at = ?
                    WHERE id = ? AND state IN ('dead', 'queued')
                    """, arguments: [Date().timeIntervalSince1970, Date().timeIntervalSince1970, id])
            if db.changesCount == 0 { throw QueueError.noSuchJob(id) }
        }
    }

    /// Removes a job for good (its deposit record stays; `queue drop` marks it failed if this
    /// was the deliver job). Only the kind and deposit are read, so a row that `queue list`
    /// refuses as corrupt can still be removed: `kind` is nil when this version does not know it.
    public func drop(id: Int64) throws -> (kind: Job.Kind?, depositID: String) {
        try database.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT kind, deposit_id FROM job WHERE id = ?", arguments: [id])
            else { throw QueueError.noSuchJob(id) }
            try db.execute(sql: "DELETE FROM job WHERE id = ?", arguments: [id])
            return (Job.Kind(rawValue: row["kind"]), row["deposit_id"])
        }
    }

    /// Queue depth and the age of the oldest due job, for `/metrics`.
    public func depth() throws -> (queued: Int, leased: Int, dead: Int, oldestSeconds: Double) {
        try database.read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT SUM(state = 'queued') AS queued, SUM(state = 'leased') AS leased, SUM(state = 'dead') AS dead,
                        MIN(CASE WHEN state IN ('queued', 'leased') THEN created_at END) AS oldest FROM job
                    """)!
            let oldest: Double? = row["oldest"]
            return (
                row["queued"] ?? 0, row["leased"] ?? 0, row["dead"] ?? 0,
                oldest.map { Date().timeIntervalSince1970 - $0 } ?? 0
            )
        }
    }

    static func job(_ db: GRDB.Database, id: Int64) throws -> Job? {
        try Row.fetchOne(
            db,
            sql:
                "SELECT job.*, deposit.mailbox_id FROM job JOIN deposit ON deposit.id = job.deposit_id WHERE job.id = ?",
            arguments: [id]
        ).map(job)
    }

    /// A row of `job` joined with its deposit's `mailbox_id`; see `QueueRow` for what is refused.
    static func job(_ row: Row) throws -> Job {
        let id: Int64 = row["id"]
        let depositID: String = row["deposit_id"]
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
            recipient: row["recipient"], state: state, attempts: row["attempts"],
            runAfter: Date(timeIntervalSince1970: row["run_after"]), lastError: row["last_error"])
    }
}
