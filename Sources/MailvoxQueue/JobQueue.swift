import Foundation
import GRDB
import MailvoxCore

/// A job as a worker sees it once leased.
public struct Job: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// Transcode, compose, seal and store a deposit.
        case deliver
        /// Send one alert (channel + recipient).
        case notify
    }

    public enum State: String, Sendable, Codable {
        case queued, leased, done, dead
    }

    public var id: Int64
    public var kind: Kind
    public var depositID: String
    public var mailbox: String
    public var channel: String
    public var recipient: String
    public var state: State
    public var attempts: Int
    public var runAfter: Date
    public var lastError: String?

    enum CodingKeys: String, CodingKey {
        case id, kind, channel, recipient, state, attempts, mailbox
        case depositID = "deposit_id"
        case runAfter = "run_after"
        case lastError = "last_error"
    }
}

/// A deposit record: what the front doors answer about a deposit id.
public struct DepositRecord: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        case queued, delivered, failed
    }

    public var id: String
    public var mailbox: String
    public var status: Status
    public var uid: UInt32?
    public var errorCode: String?
    public var errorMessage: String?
}

/// The last alert sent (or tried) to one recipient of a mailbox.
public struct AlertResult: Sendable, Equatable, Codable {
    public enum Outcome: String, Sendable, Codable {
        /// The relay or gateway accepted it.
        case sent
        /// It failed and will be tried again.
        case retrying
        /// It failed for good (permanent error or out of attempts): dead letter.
        case failed
    }

    public var channel: String
    public var recipient: String
    public var depositID: String
    public var outcome: Outcome
    public var attempts: Int
    public var detail: String?
    public var at: Date

    enum CodingKeys: String, CodingKey {
        case channel, recipient, outcome, attempts, detail, at
        case depositID = "deposit_id"
    }
}

/// When to try a failed job again: exponential backoff with jitter, capped; dead after N.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var initialSeconds: Double
    public var maxSeconds: Double

    public init(maxAttempts: Int, initialSeconds: Double, maxSeconds: Double) {
        self.maxAttempts = maxAttempts
        self.initialSeconds = initialSeconds
        self.maxSeconds = maxSeconds
    }

    public init(_ queue: MailvoxCore.Configuration.Queue) {
        self.init(
            maxAttempts: queue.maxAttempts, initialSeconds: Double(queue.backoffInitialSeconds),
            maxSeconds: Double(queue.backoffMaxSeconds))
    }

    /// The delay before attempt `attempts + 1`: initial × 2^(attempts−1), capped, then scaled
    /// by a random factor in [0.5, 1] so that jobs failing together do not retry together.
    public func delay(afterAttempt attempts: Int, jitter: Double = Double.random(in: 0.5...1)) -> Double {
        let exponent = min(max(attempts - 1, 0), 30)
        return min(maxSeconds, initialSeconds * pow(2, Double(exponent))) * jitter
    }
}

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

    /// What a repeat of idempotency key `digest` for `mailbox` would be answered, if the key was
    /// seen: `.duplicate` when `bodyDigest` matches the first deposit's, `.mismatch` otherwise.
    /// The queue sees only digests: keys may carry whatever a PBX puts in them.
    public func existingDeposit(
        mailbox: MailboxID, idempotencyDigest digest: Data, bodyDigest: Data?
    ) throws -> Acceptance? {
        try database.read { db in try Self.existing(db, mailbox: mailbox, digest: digest, bodyDigest: bodyDigest) }
    }

    /// Records a deposit and its deliver job in one transaction (the sealed file is already
    /// durable). With a key already used for the mailbox, nothing is written: the answer is
    /// `.duplicate` for the same body and `.mismatch` for another (`bodyDigest`: SHA-256 of the
    /// mailbox and the audio bytes, see `Intake`).
    public func accept(
        depositID: String, mailbox: MailboxID, idempotencyDigest digest: Data?, bodyDigest: Data? = nil
    ) throws -> Acceptance {
        try database.write { db in
            if let digest,
                let existing = try Self.existing(db, mailbox: mailbox, digest: digest, bodyDigest: bodyDigest)
            {
                return existing
            }
            let now = Date().timeIntervalSince1970
            try db.execute(
                sql: """
                    INSERT INTO deposit (id, mailbox_id, idempotency_sha256, body_sha256, status, created_at, updated_at)
                    VALUES (?, ?, ?, ?, 'queued', ?, ?)
                    """, arguments: [depositID, mailbox.rawValue, digest, bodyDigest, now, now])
            try Self.insertJob(db, kind: .deliver, depositID: depositID, channel: "", recipient: "", now: now)
            return .accepted(depositID: depositID)
        }
    }

    /// The answer to a repeated key, or nil for a new one. A first deposit without a body digest
    /// (recorded before `queue.3-body-digest`), or a repeat that gives none, cannot be compared
    /// and stays a duplicate, as before.
    private static func existing(
        _ db: GRDB.Database, mailbox: MailboxID, digest: Data, bodyDigest: Data?
    ) throws -> Acceptance? {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT id, body_sha256 FROM deposit WHERE mailbox_id = ? AND idempotency_sha256 = ?",
                arguments: [mailbox.rawValue, digest])
        else { return nil }
        let id: String = row["id"]
        let firstBody: Data? = row["body_sha256"]
        if let firstBody, let bodyDigest, firstBody != bodyDigest { return .mismatch(depositID: id) }
        return .duplicate(depositID: id)
    }

    /// Adds a job unless the same (kind, deposit, channel, recipient) exists: enqueueing twice
    /// after a crash makes no second alert.
    public func enqueue(kind: Job.Kind, depositID: String, channel: String = "", recipient: String = "") throws {
        try database.write { db in
            try Self.insertJob(
                db, kind: kind, depositID: depositID, channel: channel, recipient: recipient,
                now: Date().timeIntervalSince1970)
        }
    }

    static func insertJob(
        _ db: GRDB.Database, kind: Job.Kind, depositID: String, channel: String, recipient: String, now: Double
    ) throws {
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO job (kind, deposit_id, channel, recipient, state, run_after, created_at, updated_at)
                VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)
                """, arguments: [kind.rawValue, depositID, channel, recipient, now, now, now])
    }

    /// Takes the next due job of `kinds` for `leaseSeconds`; an expired lease counts as due.
    public func lease(owner: String, kinds: [Job.Kind], leaseSeconds: Double, now: Date = Date()) throws -> Job? {
        try database.write { db in
            let time = now.timeIntervalSince1970
            let placeholders = kinds.map { _ in "?" }.joined(separator: ", ")
            var arguments: StatementArguments = StatementArguments(kinds.map(\.rawValue))
            arguments += [time, time]
            guard
                let id = try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT id FROM job WHERE kind IN (\(placeholders)) AND (
                            (state = 'queued' AND run_after <= ?) OR (state = 'leased' AND lease_expires < ?))
                        ORDER BY run_after, id LIMIT 1
                        """, arguments: arguments)
            else { return nil }
            try db.execute(
                sql: """
                    UPDATE job SET state = 'leased', lease_owner = ?, lease_expires = ?, attempts = attempts + 1,
                        updated_at = ? WHERE id = ?
                    """, arguments: [owner, time + leaseSeconds, time, id])
            return try Self.job(db, id: id)
        }
    }

    /// The end of a delivery in one transaction: the alert jobs enqueued (`INSERT OR IGNORE`, as
    /// `enqueue`), the deposit marked delivered with its UID, the job done. One commit instead
    /// of one per step: each commit is a WAL fsync, and a crash between them used to leave a
    /// delivered deposit whose job ran again.
    public func completeDelivery(
        _ job: Job, uid: UInt32, notify: [(channel: String, recipient: String)], now: Date = Date()
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
                    SELECT job.*, deposit.mailbox_id AS mailbox FROM job JOIN deposit ON deposit.id = job.deposit_id
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

    /// Removes a job for good (its deposit record stays, marked failed if it was the deliver job).
    public func drop(id: Int64) throws -> Job {
        try database.write { db in
            guard let job = try Self.job(db, id: id) else { throw QueueError.noSuchJob(id) }
            try db.execute(sql: "DELETE FROM job WHERE id = ?", arguments: [id])
            return job
        }
    }

    // MARK: - Deposit records

    public func deposit(id: String) throws -> DepositRecord? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM deposit WHERE id = ?", arguments: [id]).map { row in
                DepositRecord(
                    id: row["id"], mailbox: row["mailbox_id"],
                    status: DepositRecord.Status(rawValue: row["status"]) ?? .queued,
                    uid: (row["uid"] as Int64?).map { UInt32(truncatingIfNeeded: $0) }, errorCode: row["error_code"],
                    errorMessage: row["error_message"])
            }
        }
    }

    public func setDeposit(
        _ id: String, status: DepositRecord.Status, uid: UInt32? = nil, code: String? = nil, message: String? = nil
    )
        throws
    {
        try database.write { db in
            try db.execute(
                sql:
                    "UPDATE deposit SET status = ?, uid = ?, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?",
                arguments: [status.rawValue, uid.map { Int64($0) }, code, message, Date().timeIntervalSince1970, id])
        }
    }

    /// Deposit ids of `mailbox` that still have a sealed file to clean up (`mailbox remove`).
    public func depositIDs(mailbox: MailboxID) throws -> [String] {
        try database.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM deposit WHERE mailbox_id = ?", arguments: [mailbox.rawValue])
        }
    }

    /// Forgets finished deposits (delivered or failed) older than `cutoff` with every job of
    /// theirs settled, and with them their idempotency keys: `[queue] idempotency_days`.
    @discardableResult
    public func purge(finishedBefore cutoff: Date) throws -> Int {
        try database.write { db in
            try db.execute(
                sql: """
                    DELETE FROM deposit WHERE status != 'queued' AND updated_at < ?
                    AND NOT EXISTS (SELECT 1 FROM job WHERE job.deposit_id = deposit.id AND job.state IN ('queued', 'leased'))
                    """, arguments: [cutoff.timeIntervalSince1970])
            return db.changesCount
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

    // MARK: - Notify jobs and alert results

    /// Notify jobs of `depositID` still waiting or running; when none are left its alert copy can go.
    public func pendingNotifyJobs(depositID: String) throws -> Int {
        try database.read { db in
            try Int.fetchOne(
                db,
                sql:
                    "SELECT COUNT(*) FROM job WHERE deposit_id = ? AND kind = 'notify' AND state IN ('queued', 'leased')",
                arguments: [depositID]) ?? 0
        }
    }

    /// The states of `depositID`'s notify jobs on `channel` (`delete_after_email` waits for all `done`).
    public func notifyJobStates(depositID: String, channel: String) throws -> [Job.State] {
        try database.read { db in
            try String.fetchAll(
                db, sql: "SELECT state FROM job WHERE deposit_id = ? AND kind = 'notify' AND channel = ?",
                arguments: [depositID, channel]
            ).compactMap(Job.State.init(rawValue:))
        }
    }

    /// Records the latest outcome of an alert to `recipient`, replacing the one before.
    public func recordAlert(
        mailbox: String, channel: String, recipient: String, depositID: String, outcome: AlertResult.Outcome,
        attempts: Int, detail: String?, at time: Date = Date()
    ) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO alert_result (mailbox_id, channel, recipient, deposit_id, outcome, attempts, detail, at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (mailbox_id, channel, recipient) DO UPDATE SET deposit_id = excluded.deposit_id,
                        outcome = excluded.outcome, attempts = excluded.attempts, detail = excluded.detail, at = excluded.at
                    """,
                arguments: [
                    mailbox, channel, recipient, depositID, outcome.rawValue, attempts, detail,
                    time.timeIntervalSince1970,
                ])
        }
    }

    /// The last result per recipient of `mailbox`, email first.
    public func alertResults(mailbox: MailboxID) throws -> [AlertResult] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM alert_result WHERE mailbox_id = ? ORDER BY channel, recipient",
                arguments: [mailbox.rawValue]
            ).map { row in
                AlertResult(
                    channel: row["channel"], recipient: row["recipient"], depositID: row["deposit_id"],
                    outcome: AlertResult.Outcome(rawValue: row["outcome"]) ?? .failed, attempts: row["attempts"],
                    detail: row["detail"], at: Date(timeIntervalSince1970: row["at"]))
            }
        }
    }

    /// How many recipients' last alert ended in each outcome, per channel (for `/metrics`).
    public func alertOutcomeCounts() throws -> [(channel: String, outcome: String, count: Int)] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT channel, outcome, COUNT(*) AS n FROM alert_result GROUP BY channel, outcome"
            ).map { ($0["channel"], $0["outcome"], $0["n"]) }
        }
    }

    static func job(_ db: GRDB.Database, id: Int64) throws -> Job? {
        try Row.fetchOne(
            db,
            sql:
                "SELECT job.*, deposit.mailbox_id AS mailbox FROM job JOIN deposit ON deposit.id = job.deposit_id WHERE job.id = ?",
            arguments: [id]
        ).map(job)
    }

    static func job(_ row: Row) -> Job {
        Job(
            id: row["id"], kind: Job.Kind(rawValue: row["kind"]) ?? .deliver, depositID: row["deposit_id"],
            mailbox: row["mailbox"], channel: row["channel"], recipient: row["recipient"],
            state: Job.State(rawValue: row["state"]) ?? .queued, attempts: row["attempts"],
            runAfter: Date(timeIntervalSince1970: row["run_after"]), lastError: row["last_error"])
    }
}

public enum QueueError: MailvoxFailure, Equatable {
    case noSuchJob(Int64)

    public var kind: FailureKind { .input }
    public var description: String {
        switch self {
        case .noSuchJob(let id): "no job \(id) (see `mailvox queue list`)"
        }
    }
}
