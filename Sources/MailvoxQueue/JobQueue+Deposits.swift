import Foundation
import GRDB
import MailvoxCore

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
            try Self.insertJob(db, kind: .deliver, depositID: depositID, channel: nil, recipient: "", now: now)
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

    /// The record of deposit `id`; see `QueueRow` for what is refused.
    public func deposit(id: String) throws -> DepositRecord? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM deposit WHERE id = ?", arguments: [id]).map { row in
                let reader = QueueRow(row: row, table: "deposit", id: id)
                return DepositRecord(
                    id: row["id"], mailbox: try reader.value("mailbox_id", MailboxID.init),
                    status: try reader.value("status"),
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
}
