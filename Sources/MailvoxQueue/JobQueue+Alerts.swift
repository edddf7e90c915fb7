import Foundation
import MailvoxCore
import MailvoxDatabase

/// Notify jobs' bookkeeping and the last alert result per recipient.
extension JobQueue {
    /// Notify jobs of `depositID` still waiting or running; when none are left its alert copy can go.
    public func pendingNotifyJobs(depositID: String) throws -> Int {
        try database.read { db in
            try db.one(
                "SELECT COUNT(*) AS n FROM job WHERE deposit_id = ? AND kind = 'notify' AND state IN ('queued', 'leased')",
                [.text(depositID)]
            )?.get("n") ?? 0
        }
    }

    /// The states of `depositID`'s notify jobs on `channel` (`delete_after_email` waits for all `done`).
    public func notifyJobStates(depositID: String, channel: AlertChannel) throws -> [Job.State] {
        try database.read { db in
            try db.rows(
                "SELECT id, state FROM job WHERE deposit_id = ? AND kind = 'notify' AND channel = ?",
                [.text(depositID), .text(channel.rawValue)]
            ).map { row in
                try QueueRow(row: row, table: "job", id: "\(try row.get("id", as: Int64.self))").value("state")
            }
        }
    }

    /// Records the latest outcome of an alert to `recipient`, replacing the one before.
    public func recordAlert(
        mailbox: MailboxID, channel: AlertChannel, recipient: String, depositID: String, outcome: AlertResult.Outcome,
        attempts: Int, detail: String?, at time: Date = Date()
    ) throws {
        try database.write { db in
            try db.execute(
                """
                INSERT INTO alert_result (mailbox_id, channel, recipient, deposit_id, outcome, attempts, detail, at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (mailbox_id, channel, recipient) DO UPDATE SET deposit_id = excluded.deposit_id,
                    outcome = excluded.outcome, attempts = excluded.attempts, detail = excluded.detail, at = excluded.at
                """,
                [
                    .text(mailbox.rawValue), .text(channel.rawValue), .text(recipient), .text(depositID),
                    .text(outcome.rawValue), SQLValue(attempts), SQLValue(detail), .real(time.timeIntervalSince1970),
                ])
        }
    }

    /// The last result per recipient of `mailbox`, email first.
    public func alertResults(mailbox: MailboxID) throws -> [AlertResult] {
        try database.read { db in
            try db.rows(
                "SELECT * FROM alert_result WHERE mailbox_id = ? ORDER BY channel, recipient", [.text(mailbox.rawValue)]
            ).map { row in
                let reader = QueueRow(row: row, table: "alert_result", id: Self.alertKey(row))
                return AlertResult(
                    channel: try reader.value("channel"), recipient: try row.get("recipient"),
                    depositID: try row.get("deposit_id"), outcome: try reader.value("outcome"),
                    attempts: try row.get("attempts"), detail: try row.optional("detail"),
                    at: Date(timeIntervalSince1970: try row.get("at")))
            }
        }
    }

    /// How many recipients' last alert ended in each outcome, per channel (for `/metrics`).
    public func alertOutcomeCounts() throws -> [(channel: AlertChannel, outcome: AlertResult.Outcome, count: Int)] {
        try database.read { db in
            try db.rows(
                "SELECT channel, outcome, COUNT(*) AS n FROM alert_result GROUP BY channel, outcome ORDER BY channel, outcome"
            ).map { row in
                // A count stands for many rows: the error names their channel, `*` for the rest.
                let channel = (try? row.get("channel", as: String.self)) ?? "?"
                let reader = QueueRow(row: row, table: "alert_result", id: "(*, \(channel), *)")
                return (try reader.value("channel"), try reader.value("outcome"), try row.get("n"))
            }
        }
    }

    /// An `alert_result` row's key as errors name it: (mailbox, channel, recipient).
    static func alertKey(_ row: SQLRow) -> String {
        let part = { (column: String) in (try? row.get(column, as: String.self)) ?? "?" }
        return "(\(part("mailbox_id")), \(part("channel")), \(part("recipient")))"
    }
}
