import MailvoxCore
import MailvoxDatabase

extension Directory {
    /// A mailbox's limits (its own, else `[quota]`'s defaults) and what it uses now.
    /// One statement (each deposit asks, and on PostgreSQL a transaction of two took four
    /// round trips).
    public func quota(of id: MailboxID, defaults: MailvoxCore.Configuration.Quota) throws -> MailboxQuota {
        try database.readStatement { db in try Self.quota(db, of: id, defaults: defaults) }
    }

    /// The limits, and the usage: every message of every folder of the mailbox but Recently
    /// Deleted, in octets as stored and in messages — deleting frees quota at once, so a full
    /// mailbox is not kept full by what its owner already threw away (docs/OPERATIONS.md).
    static func quota(
        _ db: any SQLConnection, of id: MailboxID, defaults: MailvoxCore.Configuration.Quota
    ) throws -> MailboxQuota {
        guard
            let row = try db.one(
                """
                SELECT mailbox.quota_mb, mailbox.quota_messages,
                    COALESCE(SUM(message.size), 0) AS bytes, COUNT(message.id) AS messages
                FROM mailbox LEFT JOIN folder ON folder.mailbox_id = mailbox.id AND folder.name != ?
                LEFT JOIN message ON message.folder_id = folder.id
                WHERE mailbox.id = ? GROUP BY mailbox.id, mailbox.quota_mb, mailbox.quota_messages
                """, sqlValues(FolderInfo.recentlyDeleted, id.rawValue))
        else { throw DirectoryError.unknownMailbox(id.rawValue) }
        return MailboxQuota(
            limits: QuotaLimits(
                megabytes: try row.field("quota_mb"), messages: try row.field("quota_messages"), defaults: defaults),
            usage: QuotaUsage(bytes: try row.field("bytes"), messages: try row.field("messages")))
    }

    /// Records whether the owner has been warned that the mailbox is nearly full; true when
    /// this call changed it, so a warning goes out once per crossing.
    public func setQuotaWarned(_ id: MailboxID, _ warned: Bool) throws -> Bool {
        try database.write { db in
            let changed = try db.execute(
                "UPDATE mailbox SET quota_warned = ? WHERE id = ? AND quota_warned != ?",
                sqlValues(warned, id.rawValue, warned))
            return changed > 0
        }
    }
}
