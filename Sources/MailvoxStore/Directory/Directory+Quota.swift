import GRDB
import MailvoxCore

extension Directory {
    /// A mailbox's limits (its own, else `[quota]`'s defaults) and what it uses now.
    public func quota(of id: MailboxID, defaults: MailvoxCore.Configuration.Quota) throws -> MailboxQuota {
        try database.read { db in try Self.quota(db, of: id, defaults: defaults) }
    }

    static func quota(
        _ db: GRDB.Database, of id: MailboxID, defaults: MailvoxCore.Configuration.Quota
    ) throws -> MailboxQuota {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT quota_mb, quota_messages FROM mailbox WHERE id = ?", arguments: [id.rawValue])
        else { throw DirectoryError.unknownMailbox(id.rawValue) }
        return MailboxQuota(
            limits: QuotaLimits(megabytes: row[0], messages: row[1], defaults: defaults),
            usage: try quotaUsage(db, of: id))
    }

    /// Every message of every folder of the mailbox but Recently Deleted, in octets as stored and
    /// in messages: deleting frees quota at once, so a full mailbox is not kept full by what its
    /// owner already threw away (docs/OPERATIONS.md).
    static func quotaUsage(_ db: GRDB.Database, of id: MailboxID) throws -> QuotaUsage {
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT COALESCE(SUM(message.size), 0), COUNT(*)
                FROM message JOIN folder ON folder.id = message.folder_id
                WHERE folder.mailbox_id = ? AND folder.name != ?
                """, arguments: [id.rawValue, FolderInfo.recentlyDeleted])!
        return QuotaUsage(bytes: row[0], messages: row[1])
    }

    /// Records whether the owner has been warned that the mailbox is nearly full; true when
    /// this call changed it, so a warning goes out once per crossing.
    public func setQuotaWarned(_ id: MailboxID, _ warned: Bool) throws -> Bool {
        try database.write { db in
            try db.execute(
                sql: "UPDATE mailbox SET quota_warned = ? WHERE id = ? AND quota_warned != ?",
                arguments: [warned, id.rawValue, warned])
            return db.changesCount > 0
        }
    }
}
