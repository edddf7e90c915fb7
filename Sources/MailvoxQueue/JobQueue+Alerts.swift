import Foundation
import GRDB
import MailvoxCore

/// Notify jobs' bookkeeping and the last alert result per recipient.
extension JobQueue {
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
    public func notifyJobStates(depositID: String, channel: AlertChannel) throws -> [Job.State] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, state FROM job WHERE deposit_id = ? AND kind = 'notify' AND channel = ?",
                arguments: [depositID, channel.rawValue]
            ).map { row in try QueueRow(row: row, table: "job", id: "\(row["id"] as Int64)").value("state") }
        }
    }

    /// Records the latest outcome of an alert to `recipient`, replacing the one before.
    public func recordAlert(
        mailbox: MailboxID, channel: AlertChannel, recipient: String, depositID: String, outcome: AlertResult.Outcome,
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
                    mailbox.rawValue, channel.rawValue, recipient, depositID, outcome.rawValue, attempts, detail,
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
                let reader = QueueRow(row: row, table: "alert_result", id: Self.alertKey(row))
                return AlertResult(
                    channel: try reader.value("channel"), recipient: row["recipient"], depositID: row["deposit_id"],
                    outcome: try reader.value("outcome"), attempts: row["attempts"],
                    detail: row["detail"], at: Date(timeIntervalSince1970: row["at"]))
            }
        }
    }

    /// How many recipients' last alert ended in each outcome, per channel (for `/metrics`).
    public func alertOutcomeCounts() throws -> [(channel: AlertChannel, outcome: AlertResult.Outcome, count: Int)] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT channel, outcome, COUNT(*) AS n FROM alert_result GROUP BY channel, outcome"
            ).map { row in
                // A count stands for many rows: the error names their channel, `*` for the rest.
                let channel: String = row["channel"]
                let reader = QueueRow(row: row, table: "alert_result", id: "(*, \(channel), *)")
                return (try reader.value("channel"), try reader.value("outcome"), row["n"])
            }
        }
    }

    /// An `alert_result` row's key as errors name it: (mailbox, channel, recipient).
    static func alertKey(_ row: Row) -> String {
        let part = { (column: String) in (row[column] as DatabaseValue?).flatMap(String.fromDatabaseValue) ?? "?" }
        return "(\(part("mailbox_id")), \(part("channel")), \(part("recipient")))"
    }
}
