import Foundation
import MailvoxCore
import MailvoxDatabase

/// The retention rules the maintenance service applies every hour (and `mailvox maintenance`
/// once): folder aging — Trash, INBOX and Saved messages filed longer ago than `[retention]
/// trash_days` / `inbox_days` / `saved_days` (or the mailbox's own) are expunged into Recently
/// Deleted — then Recently Deleted is purged past `deleted_days`. A mailbox on hold is skipped
/// by every rule (docs/OPERATIONS.md).
public struct Retention: Sendable {
    public let config: MailvoxCore.Configuration.Retention
    public let store: MessageStore

    public init(config: MailvoxCore.Configuration.Retention, store: MessageStore) {
        self.config = config
        self.store = store
    }

    public struct Report: Sendable, Equatable {
        /// Messages expunged by an aging rule, by folder.
        public var aged: [String: Int] = [:]
        /// Messages purged from Recently Deleted for good.
        public var purged = 0

        public var summary: String {
            let aging = aged.sorted { $0.key < $1.key }.map { "\($0.value) from \($0.key)" }
            return "retention: \(aging.isEmpty ? "nothing aged" : "expunged " + aging.joined(separator: ", ")); "
                + "purged \(purged) from \(FolderInfo.recentlyDeleted)"
        }
    }

    /// The folder rules: folder, the mailbox column overriding it, the configured days.
    var rules: [(folder: String, column: String, days: Int)] {
        [
            ("Trash", "trash_days", config.trashDays), ("INBOX", "inbox_days", config.inboxDays),
            ("Saved", "saved_days", config.savedDays),
        ]
    }

    public func run(now: Date = Date()) throws -> Report {
        var report = Report()
        for rule in rules {
            let aged = try store.age(folder: rule.folder, column: rule.column, defaultDays: rule.days, now: now)
            if aged > 0 { report.aged[rule.folder] = aged }
        }
        report.purged = try store.purgeDeleted(before: now.addingTimeInterval(-Double(config.deletedDays) * 86_400))
        return report
    }
}

extension MessageStore {
    /// Expunges (into Recently Deleted) the messages of `folder` in every mailbox not on hold
    /// that were filed more than the mailbox's `column` days ago, or `defaultDays` where the
    /// mailbox sets none; 0 days is no rule.
    func age(folder: String, column: String, defaultDays: Int, now: Date) throws -> Int {
        let due = try database.read { db in
            try db.rows(
                """
                SELECT folder.mailbox_id, message.uid
                FROM message JOIN folder ON folder.id = message.folder_id
                JOIN mailbox ON mailbox.id = folder.mailbox_id
                WHERE folder.name = ? AND mailbox.held_since IS NULL
                    AND COALESCE(mailbox.\(column), ?) > 0
                    AND COALESCE(message.filed_at, message.internal_date)
                        < ? - COALESCE(mailbox.\(column), ?) * 86400
                """,
                sqlValues(folder, defaultDays, Int64(now.timeIntervalSince1970), defaultDays)
            ).map {
                (
                    try $0.get("mailbox_id", as: String.self),
                    UInt32(truncatingIfNeeded: try $0.get("uid", as: Int64.self))
                )
            }
        }
        return try forEachMailbox(due) { mailbox, uids in
            try expunge(mailbox: mailbox, folder: folder, uids: uids, deletedBy: "retention (\(column))", at: now).count
        }
    }
}
