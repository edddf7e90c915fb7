import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxMIME
import Synchronization

extension MessageStore {
    /// SELECT: the folder's counters and every message in it from one statement (one snapshot,
    /// and on PostgreSQL one round trip where a transaction of two statements took four), the
    /// counts of the status taken from the messages read.
    public func snapshot(mailbox: MailboxID, folder name: String) throws -> FolderSnapshot {
        let rows = try singleRead { db in
            try db.rows(
                """
                SELECT \(Self.summaryColumnsOfMessage), folder.id, folder.name, folder.special_use,
                    folder.uid_validity, folder.uid_next, folder.highest_modseq, folder.first_recent_uid
                FROM folder LEFT JOIN message ON message.folder_id = folder.id
                WHERE folder.mailbox_id = ? AND folder.name = ? ORDER BY message.uid
                """, sqlValues(mailbox.rawValue, name))
        }
        guard let first = rows.first else { throw MailStoreError.noSuchFolder(name) }
        let folder = try FolderRow(first)
        // An empty folder is one row whose message columns are NULL.
        let messages = first.values[0] == .null ? [] : rows.map { Self.summary(columns: $0) }
        return FolderSnapshot(status: Self.status(folder, messages: messages), messages: messages)
    }

    /// A folder's status counted from its messages, as `status(_:mailbox:name:)` counts in SQL.
    static func status(_ folder: FolderRow, messages: [MessageSummary]) -> FolderStatus {
        var (unseen, size, recent, deleted, deletedSize) = (0, 0, 0, 0, 0)
        for message in messages {
            size += message.size
            if !message.flags.system.contains(.seen) { unseen += 1 }
            if message.uid >= folder.firstRecentUID { recent += 1 }
            if message.flags.system.contains(.deleted) {
                deleted += 1
                deletedSize += message.size
            }
        }
        return FolderStatus(
            name: folder.name, specialUse: folder.specialUse, uidValidity: folder.uidValidity,
            uidNext: folder.uidNext, highestModseq: folder.highestModseq, messages: messages.count, unseen: unseen,
            size: size, firstRecentUID: folder.firstRecentUID, recent: recent, deleted: deleted,
            deletedSize: deletedSize, readOnly: folder.name == FolderInfo.recentlyDeleted)
    }

    /// Summaries of those `uids` that exist, ascending: one statement joining the folder by
    /// name (a FETCH's per-command read; on PostgreSQL one round trip).
    public func summaries(mailbox: MailboxID, folder name: String, uids: [UInt32]) throws -> [MessageSummary] {
        guard let low = uids.min(), let high = uids.max() else { return [] }
        let wanted = Set(uids)
        let rows = try singleRead { db in
            try db.rows(
                """
                SELECT \(Self.summaryColumnsOfMessage) FROM message JOIN folder ON folder.id = message.folder_id
                WHERE folder.mailbox_id = ? AND folder.name = ? AND message.uid BETWEEN ? AND ? ORDER BY message.uid
                """, sqlValues(mailbox.rawValue, name, Int64(low), Int64(high)))
        }
        // No row: no such message, or no such folder, which is an error of its own.
        if rows.isEmpty { try requireFolder(mailbox: mailbox, name: name) }
        return rows.map { Self.summary(columns: $0) }.filter { wanted.contains($0.uid) }
    }

    /// ENVELOPE, BODYSTRUCTURE and layout from the sealed metadata; parsed from the message
    /// itself only for a file indexed without them.
    public func structure(mailbox: MailboxID, folder name: String, uid: UInt32) throws -> ParsedMessage {
        let row = try messageRow(mailbox: mailbox, folder: name, uid: uid, meta: true)
        let (rowID, sealed) = (try row.get("id", as: Int64.self), try row.get("meta", as: Data.self))
        return try openStructure(rowID: rowID, sealedMeta: sealed, mailbox: mailbox, folder: name, uid: uid)
    }

    /// The structure of the message in row `rowID`: from the cache, else from its sealed
    /// metadata (then cached), else — for a file indexed without one — parsed from the message.
    private func openStructure(
        rowID: Int64, sealedMeta: Data, mailbox: MailboxID, folder name: String, uid: UInt32
    ) throws -> ParsedMessage {
        if let cached = structures[rowID] { return cached }
        let meta = try MessageMetadata.decode(
            try SealedFileReader(sealed: sealedMeta, key: try ownerKey(mailbox)).readAll())
        headerBlocks[rowID] = Array(meta.headers.utf8)
        if let structure = meta.structure {
            structures[rowID] = structure
            return structure
        }
        let bytes = try read(mailbox: mailbox, folder: name, uid: uid)
        do {
            return try MessageParser.parse([UInt8](bytes), limits: MessageLimits(maxBytes: max(bytes.count, 1)))
        } catch {
            throw MailStoreError.malformedMessage(error.description)
        }
    }

    /// The `id`, `uid` and sealed `meta` of those `uids` that exist, from one statement joining
    /// the folder by name, as `summaries` reads.
    private func metadataRows(mailbox: MailboxID, folder name: String, uids: [UInt32]) throws -> [SQLRow] {
        guard let low = uids.min(), let high = uids.max() else { return [] }
        let wanted = Set(uids)
        let rows = try singleRead { db in
            try db.rows(
                """
                SELECT message.id, message.uid, message_meta.meta FROM message
                JOIN folder ON folder.id = message.folder_id
                JOIN message_meta ON message_meta.message_id = message.id
                WHERE folder.mailbox_id = ? AND folder.name = ? AND message.uid BETWEEN ? AND ?
                """, sqlValues(mailbox.rawValue, name, Int64(low), Int64(high)))
        }
        if rows.isEmpty { try requireFolder(mailbox: mailbox, name: name) }
        return rows.filter { row in
            let uid: Int64 = (try? row.get("uid")) ?? 0
            return wanted.contains(UInt32(truncatingIfNeeded: uid))
        }
    }

    /// The structures of `uids` (those that exist) from one read: cached ones as they are, the
    /// others opened from their sealed metadata.
    public func structures(mailbox: MailboxID, folder name: String, uids: [UInt32]) throws -> [UInt32: ParsedMessage] {
        var result: [UInt32: ParsedMessage] = [:]
        for row in try metadataRows(mailbox: mailbox, folder: name, uids: uids) {
            let uid = UInt32(truncatingIfNeeded: try row.get("uid", as: Int64.self))
            // The row already holds the sealed metadata: a first sight costs no second query.
            result[uid] = try openStructure(
                rowID: try row.get("id"), sealedMeta: try row.get("meta"), mailbox: mailbox, folder: name, uid: uid)
        }
        return result
    }

    /// The header blocks of `uids` (those that exist) from one read of their sealed metadata,
    /// cached ones as they are.
    public func headers(mailbox: MailboxID, folder name: String, uids: [UInt32]) throws -> [UInt32: [UInt8]] {
        var result: [UInt32: [UInt8]] = [:]
        for row in try metadataRows(mailbox: mailbox, folder: name, uids: uids) {
            let uid = UInt32(truncatingIfNeeded: try row.get("uid", as: Int64.self))
            let id: Int64 = try row.get("id")
            if let cached = headerBlocks[id] {
                result[uid] = cached
                continue
            }
            let meta = try MessageMetadata.decode(
                try SealedFileReader(sealed: try row.get("meta"), key: try ownerKey(mailbox)).readAll())
            let header = Array(meta.headers.utf8)
            headerBlocks[id] = header
            if let structure = meta.structure { structures[id] = structure }
            result[uid] = header
        }
        return result
    }

    /// UIDs in `folder` matching `criterion`. Clear columns answer most keys; header keys open
    /// the sealed metadata, body keys decrypt the message — each only for messages still in
    /// question, and only once.
    public func search(mailbox: MailboxID, folder name: String, _ criterion: SearchCriterion) throws -> [UInt32] {
        let rows = try database.read { db in
            let folder = try Self.folder(db, mailbox: mailbox, name: name)
            return (
                folder.id,
                try db.rows(
                    """
                    SELECT message.*, message_meta.meta FROM message
                    JOIN message_meta ON message_meta.message_id = message.id
                    WHERE message.folder_id = ? ORDER BY message.uid
                    """, sqlValues(folder.id))
            )
        }
        let (folderID, messages) = rows
        let key = try ownerKey(mailbox)
        var matches: [UInt32] = []
        for row in messages {
            let summary = try Self.summary(row)
            let sealedMeta: Data = try row.get("meta")
            var metadata: MessageMetadata?
            func opened() throws -> MessageMetadata {
                if let metadata { return metadata }
                let opened = try MessageMetadata.decode(try SealedFileReader(sealed: sealedMeta, key: key).readAll())
                metadata = opened
                return opened
            }
            let candidate = SearchableMessage(
                summary: summary,
                header: { Array(try opened().headers.utf8) },
                message: {
                    let bytes = [UInt8](
                        try self.openFile(mailbox: mailbox, folderID: folderID, row: row, key: key).readAll())
                    let structure =
                        try opened().structure
                        ?? MessageParser.parse(bytes, limits: MessageLimits(maxBytes: max(bytes.count, 1)))
                    return (bytes, structure)
                })
            if try criterion.matches(candidate) { matches.append(summary.uid) }
        }
        return matches
    }

    /// UIDs expunged from the folder by a change above `modseq`, ascending (QRESYNC).
    public func expunged(mailbox: MailboxID, folder name: String, since modseq: UInt64) throws -> [UInt32] {
        try database.read { db in
            let folder = try Self.folder(db, mailbox: mailbox, name: name)
            return try db.column(
                Int64.self, "SELECT uid FROM expunged WHERE folder_id = ? AND modseq > ? ORDER BY uid",
                sqlValues(folder.id, Int64(clamping: modseq))
            ).map { UInt32(truncatingIfNeeded: $0) }
        }
    }

    /// The mailbox's limits and what it holds across its folders.
    public func quota(mailbox: MailboxID, defaults: MailvoxCore.Configuration.Quota) throws -> MailboxQuota {
        try singleRead { db in try Directory.quota(db, of: mailbox, defaults: defaults) }
    }
}
