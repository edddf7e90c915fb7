import Foundation
import MailvoxCore
import MailvoxDatabase

/// Deposit records: what a front door accepted, what it answers about an id, when it is forgotten.
extension JobQueue {
    /// What a repeat of idempotency key `digest` for `mailbox` would be answered, if the key was
    /// seen: `.duplicate` when `bodyDigest` matches the first deposit's, `.mismatch` otherwise.
    /// The queue sees only digests: keys may carry whatever a PBX puts in them.
    public func existingDeposit(
        mailbox: MailboxID, idempotencyDigest digest: Data, bodyDigest: Data?
    ) throws -> Acceptance? {
        try database.read { db in try Self.existing(db, mailbox: mailbox, digest: digest, bodyDigest: bodyDigest) }
    }

    /// The notification a new deliver job sends on PostgreSQL: the channel the message store's
    /// changes use too (`MessageStore.changeChannel`), with a payload no folder change has.
    public static let wakeChannel = "mailvox_changes"
    public static let wakePayload = "jobs"

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
            // Two nodes may take the same key at once (PostgreSQL): the unique index decides, the
            // loser's insert does nothing and it answers with the winner's deposit.
            let inserted = try db.rows(
                """
                INSERT INTO deposit (id, mailbox_id, idempotency_sha256, body_sha256, status, created_at, updated_at)
                VALUES (?, ?, ?, ?, 'queued', ?, ?)
                ON CONFLICT (mailbox_id, idempotency_sha256) WHERE idempotency_sha256 IS NOT NULL DO NOTHING
                RETURNING id
                """,
                [
                    .text(depositID), .text(mailbox.rawValue), SQLValue(digest), SQLValue(bodyDigest), .real(now),
                    .real(now),
                ])
            if inserted.isEmpty, let digest,
                let existing = try Self.existing(db, mailbox: mailbox, digest: digest, bodyDigest: bodyDigest)
            {
                return existing
            }
            try Self.insertJob(db, kind: .deliver, depositID: depositID, channel: nil, recipient: "", now: now)
            // On a shared database, every node's idle deliver workers hear of the job at
            // commit instead of at their next poll (docs/SCALE-OUT.md).
            if db.dialect == .postgres {
                try db.execute("SELECT pg_notify(?, ?)", [.text(Self.wakeChannel), .text(Self.wakePayload)])
            }
            return .accepted(depositID: depositID)
        }
    }

    /// The answer to a repeated key, or nil for a new one. A first deposit without a body digest
    /// (recorded before `queue.3-body-digest`), or a repeat that gives none, cannot be compared
    /// and stays a duplicate, as before.
    private static func existing(
        _ db: any SQLConnection, mailbox: MailboxID, digest: Data, bodyDigest: Data?
    ) throws -> Acceptance? {
        guard
            let row = try db.one(
                "SELECT id, body_sha256 FROM deposit WHERE mailbox_id = ? AND idempotency_sha256 = ?",
                [.text(mailbox.rawValue), SQLValue(digest)])
        else { return nil }
        let id: String = try row.get("id")
        let firstBody: Data? = try row.optional("body_sha256")
        if let firstBody, let bodyDigest, firstBody != bodyDigest { return .mismatch(depositID: id) }
        return .duplicate(depositID: id)
    }

    /// The record of deposit `id`; see `QueueRow` for what is refused.
    public func deposit(id: String) throws -> DepositRecord? {
        try database.read { db in
            try db.one("SELECT * FROM deposit WHERE id = ?", [.text(id)]).map { row in
                let reader = QueueRow(row: row, table: "deposit", id: id)
                return DepositRecord(
                    id: try row.get("id"), mailbox: try reader.value("mailbox_id", MailboxID.init),
                    status: try reader.value("status"),
                    uid: try row.optional("uid", as: Int64.self).map { UInt32(truncatingIfNeeded: $0) },
                    errorCode: try row.optional("error_code"), errorMessage: try row.optional("error_message"))
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
                "UPDATE deposit SET status = ?, uid = ?, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?",
                [
                    .text(status.rawValue), SQLValue(uid.map { Int64($0) }), SQLValue(code), SQLValue(message),
                    .real(Date().timeIntervalSince1970), .text(id),
                ])
        }
    }

    /// Deposits with a job not yet finished (queued, leased, or dead and so retryable): their
    /// sealed files must stay.
    public func unfinishedDepositIDs() throws -> Set<String> {
        try database.read { db in
            Set(
                try db.rows("SELECT DISTINCT deposit_id FROM job WHERE state IN ('queued', 'leased', 'dead')").map {
                    try $0.get("deposit_id", as: String.self)
                })
        }
    }

    /// Deposit ids of `mailbox` that still have a sealed file to clean up (`mailbox remove`).
    public func depositIDs(mailbox: MailboxID) throws -> [String] {
        try database.read { db in
            try db.rows("SELECT id FROM deposit WHERE mailbox_id = ?", [.text(mailbox.rawValue)]).map {
                try $0.get("id")
            }
        }
    }

    /// Forgets finished deposits (delivered or failed) older than `cutoff` with every job of
    /// theirs settled, and with them their idempotency keys: `[queue] idempotency_days`.
    @discardableResult
    public func purge(finishedBefore cutoff: Date) throws -> Int {
        try database.write { db in
            try db.execute(
                """
                DELETE FROM deposit WHERE status != 'queued' AND updated_at < ?
                AND NOT EXISTS (SELECT 1 FROM job WHERE job.deposit_id = deposit.id AND job.state IN ('queued', 'leased'))
                """, [.real(cutoff.timeIntervalSince1970)])
        }
    }
}
