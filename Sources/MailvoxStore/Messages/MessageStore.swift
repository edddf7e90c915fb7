import Foundation
import GRDB
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxMIME
import Synchronization

/// Sealed messages in Maildir folders with their SQLite index: delivery, reading, flags,
/// expunge, copy and move, recovery, and the change feed.
///
/// Invariants (docs/DESIGN.md §5.6): UIDs and modseqs only grow and are never reused; a message is
/// either fully visible or not at all (file durable before its row commits); nothing is
/// deleted except through `expunge`, whose tombstones make the unlink survive a crash.
public final class MessageStore: Sendable {
    let database: DatabasePool
    let spool: Spool
    private let masterKey: MasterKey
    private let keys = Mutex<[String: OwnerKey]>([:])
    private let feed = ChangeFeed()
    /// Opened structures by message row id (never reused): a client's FETCH of ENVELOPE or
    /// BODYSTRUCTURE over a folder it synced before costs no HPKE open and no JSON decode.
    /// Held in this process's memory only, like the opened owner keys above.
    let structures = BoundedCache<Int64, ParsedMessage>(capacity: 8192)
    /// Opened header blocks by message row id, the same way: a web inbox page lists 25
    /// voicemails from their headers, and a second look at a page opens none of them again.
    let headerBlocks = BoundedCache<Int64, [UInt8]>(capacity: 4096)

    public init(database: DatabasePool, spoolDir: String, masterKey: MasterKey) {
        self.database = database
        self.spool = Spool(root: spoolDir)
        self.masterKey = masterKey
    }

    // MARK: - Folders

    struct FolderRow {
        var id: Int64
        var name: String
        var specialUse: String?
        var uidValidity: UInt32
        var uidNext: UInt32
        var highestModseq: UInt64
        var firstRecentUID: UInt32

        init(_ row: Row) {
            id = row["id"]
            name = row["name"]
            specialUse = row["special_use"]
            uidValidity = UInt32(truncatingIfNeeded: row["uid_validity"] as Int64)
            uidNext = UInt32(truncatingIfNeeded: row["uid_next"] as Int64)
            highestModseq = UInt64(row["highest_modseq"] as Int64)
            firstRecentUID = UInt32(truncatingIfNeeded: row["first_recent_uid"] as Int64)
        }
    }

    static func folder(_ db: GRDB.Database, mailbox: MailboxID, name: String) throws -> FolderRow {
        // Cached statements: these two lookups run once per message of a FETCH, and preparing
        // SQL each time (with GRDB's authorizer) cost more than the lookup itself.
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM folder WHERE mailbox_id = ? AND name = ?"),
                arguments: [mailbox.rawValue, name])
        else { throw MailStoreError.noSuchFolder(name) }
        return FolderRow(row)
    }

    public func status(mailbox: MailboxID, folder name: String) throws -> FolderStatus {
        try database.read { db in try Self.status(db, mailbox: mailbox, name: name) }
    }

    static func status(_ db: GRDB.Database, mailbox: MailboxID, name: String) throws -> FolderStatus {
        let folder = try Self.folder(db, mailbox: mailbox, name: name)
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT COUNT(*) AS messages, COALESCE(SUM(size), 0) AS size,
                    COALESCE(SUM(CASE WHEN flags & ? = 0 THEN 1 ELSE 0 END), 0) AS unseen,
                    COALESCE(SUM(CASE WHEN uid >= ? THEN 1 ELSE 0 END), 0) AS recent,
                    COALESCE(SUM(CASE WHEN flags & ? != 0 THEN 1 ELSE 0 END), 0) AS deleted,
                    COALESCE(SUM(CASE WHEN flags & ? != 0 THEN size ELSE 0 END), 0) AS deleted_size
                FROM message WHERE folder_id = ?
                """,
            arguments: [
                SystemFlags.seen.rawValue, Int64(folder.firstRecentUID), SystemFlags.deleted.rawValue,
                SystemFlags.deleted.rawValue, folder.id,
            ])!
        return FolderStatus(
            name: folder.name, specialUse: folder.specialUse, uidValidity: folder.uidValidity,
            uidNext: folder.uidNext, highestModseq: folder.highestModseq, messages: row["messages"],
            unseen: row["unseen"], size: row["size"], firstRecentUID: folder.firstRecentUID, recent: row["recent"],
            deleted: row["deleted"], deletedSize: row["deleted_size"],
            readOnly: folder.name == FolderInfo.recentlyDeleted)
    }

    /// Hands the folder's unclaimed recent UIDs to one session and marks them claimed: the
    /// read and the update are one write transaction, so two sessions never share one.
    /// Most SELECTs find nothing to claim: a read answers them without queueing for the writer.
    public func claimRecent(mailbox: MailboxID, folder name: String) throws -> Range<UInt32> {
        let seen = try database.read { db in try Self.folder(db, mailbox: mailbox, name: name) }
        if seen.firstRecentUID >= seen.uidNext { return seen.uidNext..<seen.uidNext }
        return try database.write { db in
            let folder = try Self.folder(db, mailbox: mailbox, name: name)
            let claimed = min(folder.firstRecentUID, folder.uidNext)..<folder.uidNext
            if !claimed.isEmpty {
                try db.execute(
                    sql: "UPDATE folder SET first_recent_uid = ? WHERE id = ?",
                    arguments: [Int64(folder.uidNext), folder.id])
            }
            return claimed
        }
    }

    /// Message counts per folder, in folder order, for `mailbox show` and `mailbox remove`.
    public func messageCounts(mailbox: MailboxID) throws -> [(folder: String, messages: Int)] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT folder.name AS name, COUNT(message.id) AS messages FROM folder
                    LEFT JOIN message ON message.folder_id = folder.id
                    WHERE folder.mailbox_id = ? GROUP BY folder.id ORDER BY folder.id
                    """, arguments: [mailbox.rawValue]
            ).map { ($0["name"], $0["messages"]) }
        }
    }

    // MARK: - Delivery

    /// Seals `message` to the mailbox owner's key and files it into `folder`.
    ///
    /// With a `depositID`, delivery is idempotent: a second call for the same deposit returns
    /// the first UID and stores nothing (a retried job stores one message).
    @discardableResult
    public func deliver(
        mailbox: MailboxID, folder name: String = "INBOX", depositID: String? = nil, message: Data,
        internalDate: Date = Date(), flags: MessageFlags = MessageFlags()
    ) throws -> UInt32 {
        try file(
            mailbox: mailbox, folder: name, depositID: depositID, message: message,
            metadata: MessageMetadata(message: message), internalDate: internalDate, flags: flags
        ).uid
    }

    /// APPEND: files a message a client uploads, once the MIME parser accepts it within `limits`.
    public func append(
        mailbox: MailboxID, folder name: String, message: Data, internalDate: Date = Date(),
        flags: MessageFlags = MessageFlags(), limits: MessageLimits = .default
    ) throws -> (uidValidity: UInt32, summary: MessageSummary) {
        guard message.count <= limits.maxBytes else {
            throw MailStoreError.messageTooLarge(size: message.count, limit: limits.maxBytes)
        }
        let structure: ParsedMessage
        do {
            structure = try MessageParser.parse([UInt8](message), limits: limits)
        } catch {
            throw MailStoreError.malformedMessage(error.description)
        }
        let summary = try file(
            mailbox: mailbox, folder: name, depositID: nil, message: message,
            metadata: MessageMetadata(message: message, structure: structure), internalDate: internalDate,
            flags: flags)
        let uidValidity = try database.read { db in try Self.folder(db, mailbox: mailbox, name: name).uidValidity }
        return (uidValidity, summary)
    }

    /// Seals the message and its metadata, makes the file durable in the folder, then commits
    /// the row: the one path by which a message enters the store.
    private func file(
        mailbox: MailboxID, folder name: String, depositID: String?, message: Data, metadata: MessageMetadata,
        internalDate: Date, flags: MessageFlags
    ) throws -> MessageSummary {
        // One cached statement, no transaction: a single SELECT reads one snapshot, and the write
        // below looks up folder and deposit again. A read transaction (GRDB prepares BEGIN and
        // COMMIT anew each time) cost more than sealing a 100 KB message's chunks, and so did
        // preparing statements on the message table: delivery uses cached ones throughout
        // (docs/STORAGE.md, "What sealing costs").
        let found = try database.unsafeRead { db in
            try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT folder.*, mailbox.public_key AS owner_public_key,
                            message.uid AS existing_uid, message.modseq AS existing_modseq,
                            message.flags AS existing_flags, message.keywords AS existing_keywords,
                            message.size AS existing_size, message.internal_date AS existing_internal_date
                        FROM folder JOIN mailbox ON mailbox.id = folder.mailbox_id
                        LEFT JOIN message ON message.folder_id = folder.id AND message.deposit_id = ?
                        WHERE folder.mailbox_id = ? AND folder.name = ?
                        """), arguments: [depositID, mailbox.rawValue, name])
        }
        guard let found else { throw MailStoreError.noSuchFolder(name) }
        guard name != FolderInfo.recentlyDeleted else { throw MailStoreError.readOnlyFolder(name) }
        let folder = FolderRow(found)
        let publicKey: Data? = found["owner_public_key"]
        if let uid = found["existing_uid"] as Int64? {
            return MessageSummary(
                uid: UInt32(truncatingIfNeeded: uid), modseq: UInt64(found["existing_modseq"] as Int64),
                flags: MessageFlags(
                    system: SystemFlags(rawValue: found["existing_flags"]),
                    keywords: Self.keywords(found["existing_keywords"])),
                size: found["existing_size"],
                internalDate: Date(timeIntervalSince1970: TimeInterval(found["existing_internal_date"] as Int64)))
        }
        guard let publicKey else { throw DirectoryError.unknownMailbox(mailbox.rawValue) }
        let owner = KeyOwner.mailbox(mailbox.rawValue).description
        let fileName = depositID ?? UUID().uuidString.lowercased()
        let inCur = !flags.system.isEmpty
        let path = spool.path(
            mailbox: mailbox.rawValue, folderID: folder.id, fileName: fileName, inCur: inCur,
            letters: flags.system.maildirLetters)
        try spool.deliver(mailbox: mailbox.rawValue, folderID: folder.id, fileName: fileName, destination: path) { fd in
            try SealedFile.seal(message, owner: owner, recipient: publicKey) {
                try DurableFile.writeAll(fd, $0, path: path)
            }
        }
        let meta = try SealedFile.seal(try metadata.encoded(), owner: owner, recipient: publicKey)
        let date = Int64(internalDate.timeIntervalSince1970)

        let (summary, created) = try database.write { db -> (MessageSummary, Bool) in
            let folder = try Self.folder(db, mailbox: mailbox, name: name)
            if let depositID, let row = try Self.depositRow(db, folderID: folder.id, depositID: depositID) {
                return (Self.summary(row), false)
            }
            let (uid, modseq) = try Self.insertNext(
                db, folder: folder,
                NewRow(
                    fileName: fileName, depositID: depositID, flags: flags, size: message.count,
                    internalDate: date, inCur: inCur, meta: meta))
            let summary = MessageSummary(
                uid: uid, modseq: modseq, flags: flags, size: message.count,
                internalDate: Date(timeIntervalSince1970: TimeInterval(date)))
            return (summary, true)
        }
        if created { feed.publish([.added(uid: summary.uid, modseq: summary.modseq)], folderID: folder.id) }
        return summary
    }

    // MARK: - Reading

    public func messages(mailbox: MailboxID, folder name: String) throws -> [MessageSummary] {
        try database.read { db in
            try Self.summaries(db, folderID: try Self.folder(db, mailbox: mailbox, name: name).id)
        }
    }

    /// Every message of the folder, ascending by UID.
    static func summaries(_ db: GRDB.Database, folderID: Int64) throws -> [MessageSummary] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT \(summaryColumns) FROM message WHERE folder_id = ? ORDER BY uid"),
            arguments: [folderID]
        ).map { summary(columns: $0) }
    }

    /// The decrypted message, or `length` bytes of it from `offset`; only the chunks needed are read.
    public func read(
        mailbox: MailboxID, folder name: String, uid: UInt32, offset: Int = 0, length: Int? = nil
    ) throws
        -> Data
    {
        let reader = try openMessage(mailbox: mailbox, folder: name, uid: uid)
        let length = length ?? max(0, reader.plaintextSize - offset)
        return try reader.read(offset: offset, length: min(length, max(0, reader.plaintextSize - offset)))
    }

    /// The message's sealed metadata (header block, caller), opened.
    public func metadata(mailbox: MailboxID, folder name: String, uid: UInt32) throws -> MessageMetadata {
        let sealed = try database.read { db in
            let folder = try Self.folder(db, mailbox: mailbox, name: name)
            guard let row = try Self.messageRow(db, folderID: folder.id, uid: uid) else {
                throw MailStoreError.noSuchMessage(uid: uid)
            }
            return row["meta"] as Data
        }
        let reader = try SealedFileReader(sealed: sealed, key: try ownerKey(mailbox))
        return try MessageMetadata.decode(try reader.readAll())
    }

    func openMessage(mailbox: MailboxID, folder name: String, uid: UInt32) throws -> SealedFileReader {
        let (folderID, row) = try database.read { db in
            let folder = try Self.folder(db, mailbox: mailbox, name: name)
            guard let row = try Self.messageRow(db, folderID: folder.id, uid: uid) else {
                throw MailStoreError.noSuchMessage(uid: uid)
            }
            return (folder.id, row)
        }
        return try openFile(mailbox: mailbox, folderID: folderID, row: row, key: try ownerKey(mailbox))
    }

    /// Opens the sealed file of `row`. Another session's flag change renames it (`new/` to
    /// `cur/`, a new info suffix) at any moment, so a name found a moment ago may be gone when
    /// it is opened: then the file is found again under its new name and opened (IMAPBench's
    /// FETCH BODY[] beside STORE ±FLAGS met this as NO [SERVERBUG]).
    func openFile(mailbox: MailboxID, folderID: Int64, row: Row, key: OwnerKey) throws -> SealedFileReader {
        var attempt = 0
        while true {
            let path = try self.path(mailbox: mailbox, folderID: folderID, row: row)
            do {
                return try SealedFileReader(path: path, key: key)
            } catch {
                attempt += 1
                guard attempt < 5, access(path, F_OK) != 0 else { throw error }
            }
        }
    }

    func path(mailbox: MailboxID, folderID: Int64, row: Row) throws -> String {
        let fileName: String = row["file_name"]
        let expected = spool.path(
            mailbox: mailbox.rawValue, folderID: folderID, fileName: fileName, inCur: row["in_cur"],
            letters: SystemFlags(rawValue: row["flags"]).maildirLetters)
        guard
            let path = spool.locate(
                mailbox: mailbox.rawValue, folderID: folderID, fileName: fileName, expected: expected)
        else {
            throw MailStoreError.unreadable(path: expected, reason: "the index has a row but the spool has no file")
        }
        return path
    }

    // MARK: - Flags

    /// Changes flags of `uids`; with `unchangedSince`, messages modified after it are left
    /// alone and returned as failed (RFC 7162 §3.1.3). Returns the changed summaries.
    @discardableResult
    public func storeFlags(
        mailbox: MailboxID, folder name: String, uids: [UInt32], operation: FlagOperation, flags: MessageFlags,
        unchangedSince: UInt64? = nil
    ) throws -> (changed: [MessageSummary], failed: [UInt32]) {
        guard name != FolderInfo.recentlyDeleted else { throw MailStoreError.readOnlyFolder(name) }
        var folderID: Int64 = 0
        let result = try database.write { db -> (changed: [MessageSummary], failed: [UInt32]) in
            let folder = try Self.folder(db, mailbox: mailbox, name: name)
            folderID = folder.id
            var modseq = folder.highestModseq
            var changed: [MessageSummary] = []
            var failed: [UInt32] = []
            for uid in uids.sorted() {
                guard
                    let row = try Self.messageRow(db, folderID: folder.id, uid: uid)
                else { continue }
                var summary = Self.summary(row)
                if let unchangedSince, summary.modseq > unchangedSince {
                    failed.append(uid)
                    continue
                }
                let updated = summary.flags.applying(operation, flags)
                guard updated != summary.flags else { continue }
                modseq += 1
                let oldPath = try path(mailbox: mailbox, folderID: folder.id, row: row)
                let newPath = spool.path(
                    mailbox: mailbox.rawValue, folderID: folder.id, fileName: row["file_name"], inCur: true,
                    letters: updated.system.maildirLetters)
                try db.execute(
                    sql: "UPDATE message SET flags = ?, keywords = ?, modseq = ?, in_cur = 1 WHERE id = ?",
                    arguments: [
                        updated.system.rawValue, Self.keywordText(updated.keywords), Int64(modseq), row["id"] as Int64,
                    ])
                // Last step of the transaction: if the rename fails, the row change rolls back.
                try spool.rename(from: oldPath, to: newPath)
                summary.flags = updated
                summary.modseq = modseq
                changed.append(summary)
            }
            if modseq != folder.highestModseq {
                try db.execute(
                    sql: "UPDATE folder SET highest_modseq = ? WHERE id = ?", arguments: [Int64(modseq), folder.id])
            }
            return (changed, failed)
        }
        feed.publish(result.changed.map { .flags(uid: $0.uid, flags: $0.flags, modseq: $0.modseq) }, folderID: folderID)
        return result
    }

    // MARK: - Expunge, copy, move

    /// Expunges `uids` (IMAP EXPUNGE, the CLI, `delete_after_email`, the aging rules): each
    /// message becomes a row of Recently Deleted, recoverable for `[retention] deleted_days`,
    /// with `deletedBy` (who, from where) and the time. Rows, the new rows and tombstones in one
    /// transaction, then the old names are unlinked.
    @discardableResult
    public func expunge(
        mailbox: MailboxID, folder name: String, uids: [UInt32], deletedBy: String, at now: Date = Date()
    ) throws -> [UInt32] {
        guard name != FolderInfo.recentlyDeleted else { throw MailStoreError.readOnlyFolder(name) }
        return try removeMessages(mailbox: mailbox, folder: name, uids: uids, keeping: Deletion(by: deletedBy, at: now))
    }

    /// Removes `uids` from `folder`: kept in Recently Deleted with `deletion`, for good without.
    func removeMessages(
        mailbox: MailboxID, folder name: String, uids: [UInt32], keeping deletion: Deletion?
    ) throws
        -> [UInt32]
    {
        var linked: [String] = []
        let (folderID, removal): (Int64, Removal)
        do {
            (folderID, removal) = try database.write { db -> (Int64, Removal) in
                let folder = try Self.folder(db, mailbox: mailbox, name: name)
                return (
                    folder.id,
                    try removeRows(db, mailbox: mailbox, folder: folder, uids: uids, keeping: deletion, linked: &linked)
                )
            }
        } catch {
            // The transaction rolled back: the names made in Recently Deleted must not outlive it.
            for path in linked { try? spool.remove(path) }
            throw error
        }
        try replayTombstones()
        publish(removal, from: folderID)
        return removal.removed
    }

    /// Who expunged, and when: what keeps an expunged message recoverable.
    struct Deletion {
        var by: String
        var at: Date
    }

    /// What `removeRows` did: the UIDs gone from the folder, and those it added to Recently Deleted.
    struct Removal {
        var removed: [UInt32] = []
        var modseq: UInt64 = 0
        var kept: (folderID: Int64, uids: [UInt32], modseq: UInt64)?
    }

    /// Tells the folder's sessions of the expunge, and Recently Deleted's of what it gained.
    func publish(_ removal: Removal, from folderID: Int64) {
        if !removal.removed.isEmpty {
            feed.publish([.expunged(uids: removal.removed, modseq: removal.modseq)], folderID: folderID)
        }
        if let kept = removal.kept, !kept.uids.isEmpty {
            feed.publish(kept.uids.map { .added(uid: $0, modseq: kept.modseq) }, folderID: kept.folderID)
        }
    }

    /// Deletes rows of `uids` in `folder`, leaving a tombstone per file and a log entry per UID.
    /// With `deletion`, each message first gets a row in Recently Deleted — its file hard-linked
    /// there under a new name, added to `linked` so the caller can unlink it if the transaction
    /// fails — and a `deletion` row saying where it was. A message whose file is already gone
    /// cannot be kept and is only removed.
    func removeRows(
        _ db: GRDB.Database, mailbox: MailboxID, folder: FolderRow, uids: [UInt32], keeping deletion: Deletion? = nil,
        linked: inout [String]
    ) throws -> Removal {
        var removal = Removal()
        let modseq = folder.highestModseq + 1
        var bin: FolderRow?
        if deletion != nil && folder.name != FolderInfo.recentlyDeleted {
            bin = try Self.recentlyDeletedFolder(db, mailbox: mailbox)
            removal.kept = (bin!.id, [], 0)
        }
        for uid in uids.sorted() {
            guard
                let row = try Self.messageRow(db, folderID: folder.id, uid: uid)
            else { continue }
            let found = try? path(mailbox: mailbox, folderID: folder.id, row: row)
            let path =
                found
                ?? spool.path(
                    mailbox: mailbox.rawValue, folderID: folder.id, fileName: row["file_name"], inCur: row["in_cur"],
                    letters: SystemFlags(rawValue: row["flags"]).maildirLetters)
            if let deletion, var target = bin, let found {
                // Every flag is kept but `\Deleted`, the mark the expunge acted on: a restored
                // message must not go again at the folder's next EXPUNGE.
                let (newUID, newModseq) = try linkCopy(
                    db, mailbox: mailbox, row: row, file: found, into: target,
                    flags: SystemFlags(rawValue: row["flags"]).subtracting(.deleted), linked: &linked)
                try db.execute(
                    sql: """
                        INSERT INTO deletion (message_id, folder_name, uid, deleted_at, deleted_by)
                        VALUES (?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        db.lastInsertedRowID, folder.name, Int64(uid), Int64(deletion.at.timeIntervalSince1970),
                        deletion.by,
                    ])
                target.uidNext = newUID + 1
                target.highestModseq = newModseq
                bin = target
                removal.kept?.uids.append(newUID)
                removal.kept?.modseq = newModseq
            }
            try db.execute(sql: "INSERT INTO tombstone (path) VALUES (?)", arguments: [path])
            try db.execute(sql: "DELETE FROM message WHERE id = ?", arguments: [row["id"] as Int64])
            try db.execute(
                sql: "INSERT OR REPLACE INTO expunged (folder_id, uid, modseq) VALUES (?, ?, ?)",
                arguments: [folder.id, Int64(uid), Int64(modseq)])
            removal.removed.append(uid)
        }
        if !removal.removed.isEmpty {
            try db.execute(
                sql: "UPDATE folder SET highest_modseq = ? WHERE id = ?", arguments: [Int64(modseq), folder.id])
        }
        removal.modseq = modseq
        return removal
    }

    /// A second row for the message of `row` in `target` under the next UID, its `file`
    /// hard-linked there under a new name (added to `linked`, for the caller to unlink if the
    /// transaction fails): COPY, MOVE and an expunge into Recently Deleted. Never re-sealed.
    func linkCopy(
        _ db: GRDB.Database, mailbox: MailboxID, row: Row, file: String, into target: FolderRow, flags: SystemFlags,
        linked: inout [String]
    ) throws -> (uid: UInt32, modseq: UInt64) {
        let fileName = UUID().uuidString.lowercased()
        let destination = spool.path(
            mailbox: mailbox.rawValue, folderID: target.id, fileName: fileName, inCur: true,
            letters: flags.maildirLetters)
        try spool.link(from: file, to: destination, mailbox: mailbox.rawValue, folderID: target.id)
        linked.append(destination)
        return try Self.insertNext(
            db, folder: target,
            NewRow(
                fileName: fileName, depositID: nil,
                flags: MessageFlags(system: flags, keywords: Self.keywords(row["keywords"])),
                size: row["size"], internalDate: row["internal_date"], inCur: true, meta: row["meta"]))
    }

    /// The mailbox's Recently Deleted folder, made if a mailbox somehow lacks it.
    static func recentlyDeletedFolder(_ db: GRDB.Database, mailbox: MailboxID) throws -> FolderRow {
        if let folder = try? Self.folder(db, mailbox: mailbox, name: FolderInfo.recentlyDeleted) { return folder }
        try Directory.insertFolder(
            GRDBConnection(db: db), mailbox: mailbox, name: FolderInfo.recentlyDeleted, specialUse: nil)
        return try Self.folder(db, mailbox: mailbox, name: FolderInfo.recentlyDeleted)
    }

    /// Copies `uids` into `target` (COPY; with `expungingSource`, MOVE). Returns source → new UID
    /// pairs in source order, for COPYUID. Files are hard-linked, never re-sealed.
    @discardableResult
    public func copy(
        mailbox: MailboxID, from sourceName: String, uids: [UInt32], to targetName: String,
        expungingSource: Bool = false
    ) throws -> [(source: UInt32, target: UInt32)] {
        guard targetName != FolderInfo.recentlyDeleted else { throw MailStoreError.readOnlyFolder(targetName) }
        var linked: [String] = []
        do {
            let result = try database.write {
                db -> (
                    pairs: [(UInt32, UInt32)], sourceID: Int64, targetID: Int64, modseq: UInt64, removed: [UInt32],
                    removedModseq: UInt64
                ) in
                let source = try Self.folder(db, mailbox: mailbox, name: sourceName)
                var target = try Self.folder(db, mailbox: mailbox, name: targetName)
                var pairs: [(UInt32, UInt32)] = []
                for uid in uids.sorted() {
                    guard
                        let row = try Self.messageRow(db, folderID: source.id, uid: uid)
                    else { continue }
                    let (newUID, _) = try linkCopy(
                        db, mailbox: mailbox, row: row, file: try path(mailbox: mailbox, folderID: source.id, row: row),
                        into: target, flags: SystemFlags(rawValue: row["flags"]), linked: &linked)
                    pairs.append((uid, newUID))
                    target.uidNext = newUID + 1
                    target.highestModseq += 1
                }
                var removed: [UInt32] = []
                var removedModseq: UInt64 = 0
                if expungingSource && source.id != target.id {
                    let removal = try removeRows(
                        db, mailbox: mailbox, folder: source, uids: pairs.map(\.0), linked: &linked)
                    (removed, removedModseq) = (removal.removed, removal.modseq)
                }
                return (pairs, source.id, target.id, target.highestModseq, removed, removedModseq)
            }
            try replayTombstones()
            feed.publish(result.pairs.map { .added(uid: $0.1, modseq: result.modseq) }, folderID: result.targetID)
            if !result.removed.isEmpty {
                feed.publish([.expunged(uids: result.removed, modseq: result.removedModseq)], folderID: result.sourceID)
            }
            return result.pairs.map { (source: $0.0, target: $0.1) }
        } catch {
            // The transaction rolled back: the new names must not outlive it.
            for path in linked { try? spool.remove(path) }
            throw error
        }
    }

    // MARK: - Change feed

    /// Committed changes to `folder` from now on.
    public func changes(mailbox: MailboxID, folder name: String) throws -> AsyncStream<FolderChange> {
        let folder = try database.read { db in try Self.folder(db, mailbox: mailbox, name: name) }
        return feed.subscribe(folderID: folder.id)
    }

    // MARK: - Maintenance

    /// Unlinks every file a committed expunge left behind, then forgets the tombstones.
    public func replayTombstones() throws {
        let tombstones = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, path FROM tombstone ORDER BY id").map {
                ($0["id"] as Int64, $0["path"] as String)
            }
        }
        for (id, path) in tombstones {
            try spool.remove(path)
            try database.write { db in try db.execute(sql: "DELETE FROM tombstone WHERE id = ?", arguments: [id]) }
        }
    }

    /// Deletes every message file of `mailbox` after its rows are gone (`mailbox remove`).
    public func removeSpool(of mailbox: MailboxID) throws {
        let directory = spool.mailboxDirectory(mailbox.rawValue)
        if FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.removeItem(atPath: directory)
            } catch {
                throw MailStoreError.io(path: directory, reason: error.localizedDescription)
            }
        }
    }

    // MARK: - Keys

    func ownerKey(_ mailbox: MailboxID) throws -> OwnerKey {
        if let key = keys.withLock({ $0[mailbox.rawValue] }) { return key }
        let row = try database.read { db in
            try Row.fetchOne(
                db, sql: "SELECT wrapped_private_key, master_key_id FROM mailbox WHERE id = ?",
                arguments: [mailbox.rawValue])
        }
        guard let row else { throw DirectoryError.unknownMailbox(mailbox.rawValue) }
        let key = try OwnerKey.open(
            WrappedPrivateKey(masterKeyID: row["master_key_id"], sealed: row["wrapped_private_key"]),
            for: .mailbox(mailbox.rawValue), under: masterKey)
        keys.withLock { $0[mailbox.rawValue] = key }
        return key
    }

    // MARK: - Rows

    /// A message row about to be inserted.
    struct NewRow {
        var fileName: String
        var depositID: String?
        var flags: MessageFlags
        var size: Int
        var internalDate: Int64
        var inCur: Bool
        var meta: Data
    }

    /// Inserts `row` under the folder's next UID and modseq and advances both: the one place
    /// UIDs are handed out, inside the caller's write transaction.
    static func insertNext(
        _ db: GRDB.Database, folder: FolderRow, _ row: NewRow
    ) throws -> (uid: UInt32, modseq: UInt64) {
        let modseq = folder.highestModseq + 1
        try db.cachedStatement(
            sql: """
                INSERT INTO message (folder_id, uid, modseq, file_name, deposit_id, flags, keywords, size,
                    internal_date, in_cur, meta, filed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                folder.id, Int64(folder.uidNext), Int64(modseq), row.fileName, row.depositID, row.flags.system.rawValue,
                keywordText(row.flags.keywords), row.size, row.internalDate, row.inCur, row.meta,
                Int64(Date().timeIntervalSince1970),
            ])
        try db.cachedStatement(sql: "UPDATE folder SET uid_next = ?, highest_modseq = ? WHERE id = ?").execute(
            arguments: [Int64(folder.uidNext) + 1, Int64(modseq), folder.id])
        return (folder.uidNext, modseq)
    }

    /// The row a delivery of `depositID` already made in `folderID`, or nil.
    static func depositRow(_ db: GRDB.Database, folderID: Int64, depositID: String) throws -> Row? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM message WHERE folder_id = ? AND deposit_id = ?"),
            arguments: [folderID, depositID])
    }

    /// The row of `uid` in `folderID`, or nil.
    static func messageRow(_ db: GRDB.Database, folderID: Int64, uid: UInt32) throws -> Row? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM message WHERE folder_id = ? AND uid = ?"),
            arguments: [folderID, Int64(uid)])
    }

    /// The columns `summary(columns:)` reads, in its order.
    static let summaryColumns = "uid, modseq, flags, keywords, size, internal_date"

    /// A summary from a row selecting exactly `summaryColumns`: by position, because looking
    /// columns up by name costs a lowercased copy of each name per row (SELECT and FETCH run
    /// this for every message of a folder).
    static func summary(columns row: Row) -> MessageSummary {
        MessageSummary(
            uid: UInt32(truncatingIfNeeded: row[0] as Int64), modseq: UInt64(row[1] as Int64),
            flags: MessageFlags(system: SystemFlags(rawValue: row[2]), keywords: keywords(row[3])),
            size: row[4], internalDate: Date(timeIntervalSince1970: TimeInterval(row[5] as Int64)))
    }

    static func summary(_ row: Row) -> MessageSummary {
        MessageSummary(
            uid: UInt32(truncatingIfNeeded: row["uid"] as Int64), modseq: UInt64(row["modseq"] as Int64),
            flags: MessageFlags(system: SystemFlags(rawValue: row["flags"]), keywords: keywords(row["keywords"])),
            size: row["size"], internalDate: Date(timeIntervalSince1970: TimeInterval(row["internal_date"] as Int64)))
    }

    static func keywordText(_ keywords: Set<String>) -> String { keywords.sorted().joined(separator: " ") }

    static func keywords(_ text: String) -> Set<String> {
        text.isEmpty ? [] : Set(text.split(separator: " ").map(String.init))
    }
}
