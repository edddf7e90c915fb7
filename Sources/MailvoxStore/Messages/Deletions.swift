import Foundation
import MailvoxCore
import MailvoxDatabase

/// A message in Recently Deleted, as `mailvox mailbox deleted` lists it.
public struct DeletedMessage: Sendable, Equatable {
    /// Its UID in Recently Deleted (what IMAP shows there).
    public var uid: UInt32
    /// The folder it was expunged from and its UID there; nil for a message whose deletion
    /// record a crash lost (the start-up scan found its file): it is restored into INBOX.
    public var folder: String?
    public var originalUID: UInt32?
    public var received: Date
    public var deletedAt: Date
    /// The login and address that expunged it (`1000 from 192.0.2.7`), or the service that did
    /// (`delete_after_email`, `retention`, `cli`).
    public var deletedBy: String
    public var size: Int
    public var flags: MessageFlags
}

extension MessageStore {
    /// Everything in the mailbox's Recently Deleted, oldest deletion first.
    public func deletedMessages(mailbox: MailboxID) throws -> [DeletedMessage] {
        try database.read { db in
            let bin = try Self.recentlyDeletedRow(db, mailbox: mailbox)
            guard let bin else { return [] }
            return try db.rows(
                """
                SELECT message.uid, message.flags, message.keywords, message.size, message.internal_date,
                    COALESCE(message.filed_at, message.internal_date) AS filed_at,
                    deletion.folder_name, deletion.uid AS original_uid, deletion.deleted_at, deletion.deleted_by
                FROM message LEFT JOIN deletion ON deletion.message_id = message.id
                WHERE message.folder_id = ?
                ORDER BY COALESCE(deletion.deleted_at, message.filed_at, message.internal_date), message.uid
                """,
                sqlValues(bin.id)
            ).map { row in
                DeletedMessage(
                    uid: UInt32(truncatingIfNeeded: try row.get("uid", as: Int64.self)),
                    folder: try row.optional("folder_name"),
                    originalUID: try row.optional("original_uid", as: Int64.self).map {
                        UInt32(truncatingIfNeeded: $0)
                    },
                    received: Date(timeIntervalSince1970: TimeInterval(try row.get("internal_date", as: Int64.self))),
                    deletedAt: Date(
                        timeIntervalSince1970: TimeInterval(
                            try row.optional("deleted_at", as: Int64.self) ?? (try row.get("filed_at", as: Int64.self)))
                    ),
                    deletedBy: try row.optional("deleted_by") ?? "unknown",
                    size: try row.get("size"),
                    flags: MessageFlags(
                        system: SystemFlags(rawValue: try row.get("flags")),
                        keywords: Self.keywords(try row.get("keywords"))))
            }
        }
    }

    /// Puts messages of Recently Deleted (by their UIDs there) back into the folders they were
    /// expunged from — INBOX when that folder is gone — as new messages with new UIDs, flags
    /// kept: a MOVE out of Recently Deleted, per target folder. Returns where each went.
    @discardableResult
    public func restore(mailbox: MailboxID, uids: [UInt32]) throws -> [(uid: UInt32, folder: String, newUID: UInt32)] {
        let wanted = Set(uids)
        let deleted = try deletedMessages(mailbox: mailbox).filter { wanted.contains($0.uid) }
        let existing = Set(try folders(mailbox: mailbox).map(\.name))
        var targets: [String: [UInt32]] = [:]
        for message in deleted {
            var target = message.folder ?? "INBOX"
            if !existing.contains(target) || target == FolderInfo.recentlyDeleted { target = "INBOX" }
            targets[target, default: []].append(message.uid)
        }
        var result: [(uid: UInt32, folder: String, newUID: UInt32)] = []
        for (target, uids) in targets.sorted(by: { $0.key < $1.key }) {
            for pair in try copy(
                mailbox: mailbox, from: FolderInfo.recentlyDeleted, uids: uids, to: target, expungingSource: true)
            {
                result.append((pair.source, target, pair.target))
            }
        }
        return result.sorted { $0.uid < $1.uid }
    }

    /// Purges what has been in Recently Deleted since before `cutoff`, in every mailbox that is not
    /// on hold: rows and files for good. Returns how many messages went.
    @discardableResult
    public func purgeDeleted(before cutoff: Date) throws -> Int {
        let due = try database.read { db in
            try db.rows(
                """
                SELECT folder.mailbox_id, message.uid
                FROM message JOIN folder ON folder.id = message.folder_id
                JOIN mailbox ON mailbox.id = folder.mailbox_id
                LEFT JOIN deletion ON deletion.message_id = message.id
                WHERE folder.name = ? AND mailbox.held_since IS NULL
                    AND COALESCE(deletion.deleted_at, message.filed_at, message.internal_date) < ?
                """,
                sqlValues(FolderInfo.recentlyDeleted, Int64(cutoff.timeIntervalSince1970))
            ).map {
                (
                    try $0.get("mailbox_id", as: String.self),
                    UInt32(truncatingIfNeeded: try $0.get("uid", as: Int64.self))
                )
            }
        }
        return try forEachMailbox(due) { mailbox, uids in
            try removeMessages(mailbox: mailbox, folder: FolderInfo.recentlyDeleted, uids: uids, keeping: nil).count
        }
    }

    /// Runs `body` once per mailbox of `(mailbox id, UID)` pairs with its UIDs; sums what it returns.
    func forEachMailbox(_ pairs: [(String, UInt32)], _ body: (MailboxID, [UInt32]) throws -> Int) throws -> Int {
        var total = 0
        for (id, entries) in Dictionary(grouping: pairs, by: \.0) {
            guard let mailbox = MailboxID(id) else { continue }
            total += try body(mailbox, entries.map(\.1))
        }
        return total
    }

    static func recentlyDeletedRow(_ db: any SQLConnection, mailbox: MailboxID) throws -> FolderRow? {
        try? Self.folder(db, mailbox: mailbox, name: FolderInfo.recentlyDeleted)
    }
}
