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
    let database: any SQLDatabase
    /// The Maildir spool or the bucket's objects (`MessageFiles`).
    let files: any MessageFiles
    private let masterKey: MasterKey
    private let keys = Mutex<[String: OwnerKey]>([:])
    let feed = ChangeFeed()
    /// This store's name in the change notifications it sends, so it skips its own.
    let feedID = UUID().uuidString.lowercased()
    /// Per folder with subscribers, how far this store has told them of other nodes' changes.
    let heardUpTo = Mutex<[Int64: FeedMark]>([:])
    /// Sends this store's notifications from a thread of its own once `announceInBackground`
    /// turned it on (`serve`); until then `publish` sends them before it returns.
    let announcer: ChangeAnnouncer
    let announcesInBackground = Atomic<Bool>(false)
    /// Opened structures by message row id (never reused): a client's FETCH of ENVELOPE or
    /// BODYSTRUCTURE over a folder it synced before costs no HPKE open and no JSON decode.
    /// Held in this process's memory only, like the opened owner keys above.
    let structures = BoundedCache<Int64, ParsedMessage>(capacity: 8192)
    /// Opened header blocks by message row id, the same way: a web inbox page lists 25
    /// voicemails from their headers, and a second look at a page opens none of them again.
    let headerBlocks = BoundedCache<Int64, [UInt8]>(capacity: 4096)

    /// The store over `database`, its messages in the Maildir spool at `spoolDir`, or with
    /// `objects` as objects of that blob store (`[blobs] backend = "s3"`). With objects and
    /// `rememberingObjects` bytes, the sealed objects this store wrote or read lately are kept
    /// in memory, the oldest dropped first: a client that opens a message fetches its parts one
    /// by one (BODYSTRUCTURE, then BODY[1], then the audio), and a voicemail just delivered is
    /// fetched by the client the push woke, each otherwise a GET from the bucket. An object never
    /// changes under its name (a new name for every message row), so a kept one is the stored
    /// one. `serve` keeps `[blobs] cache_mb`; whatever checks what is stored (`fsck`,
    /// `migrate`) keeps none.
    public init(
        database: any SQLDatabase, spoolDir: String, objects: BlockingBlobs? = nil, masterKey: MasterKey,
        rememberingObjects: Int = 0
    ) {
        self.database = database
        self.files =
            objects.map {
                ObjectSpool(blobs: $0, recent: rememberingObjects > 0 ? ByteCache(capacity: rememberingObjects) : nil)
            } ?? Spool(root: spoolDir)
        self.masterKey = masterKey
        let feedID = self.feedID
        announcer = ChangeAnnouncer { folderIDs in Self.notify(database, feedID: feedID, folderIDs: folderIDs) }
    }

    /// The store on the one SQLite file, as every caller before the SQL seam built it.
    public convenience init(database: DatabasePool, spoolDir: String, masterKey: MasterKey) {
        self.init(database: GRDBDatabase(database), spoolDir: spoolDir, masterKey: masterKey)
    }

    /// Runs `body`, whose one SELECT is its own snapshot, outside a transaction
    /// (`SQLDatabase.readStatement`).
    func singleRead<T>(_ body: (any SQLConnection) throws -> T) throws -> T { try database.readStatement(body) }

    /// Throws `noSuchFolder` unless the folder exists: after a statement that joins the folder
    /// by name found no row, this tells a missing folder from missing messages.
    func requireFolder(mailbox: MailboxID, name: String) throws {
        _ = try singleRead { db in try Self.folder(db, mailbox: mailbox, name: name) }
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

        init(_ row: SQLRow) throws {
            id = try row.get("id")
            name = try row.get("name")
            specialUse = try row.optional("special_use")
            uidValidity = UInt32(truncatingIfNeeded: try row.get("uid_validity", as: Int64.self))
            uidNext = UInt32(truncatingIfNeeded: try row.get("uid_next", as: Int64.self))
            highestModseq = UInt64(try row.get("highest_modseq", as: Int64.self))
            firstRecentUID = UInt32(truncatingIfNeeded: try row.get("first_recent_uid", as: Int64.self))
        }
    }

    /// The folder's row. With `locking`, inside a write that derives a counter (MODSEQ,
    /// `first_recent_uid`) from what it reads: on PostgreSQL the row is taken `FOR UPDATE`, so a
    /// writer on another node waits for this commit and then reads the value it left; SQLite
    /// has one writer and runs the same statement as always.
    static func folder(
        _ db: any SQLConnection, mailbox: MailboxID, name: String, locking: Bool = false
    ) throws -> FolderRow {
        // Cached statements (the SQLite driver caches by text): these lookups run once per
        // message of a FETCH, and preparing SQL each time cost more than the lookup itself.
        let sql =
            locking && db.dialect == .postgres
            ? "SELECT * FROM folder WHERE mailbox_id = ? AND name = ? FOR UPDATE"
            : "SELECT * FROM folder WHERE mailbox_id = ? AND name = ?"
        guard let row = try db.one(sql, sqlValues(mailbox.rawValue, name)) else {
            throw MailStoreError.noSuchFolder(name)
        }
        return try FolderRow(row)
    }

    /// The folder `name`, locked as `folder(…, locking: true)` takes it, and those of its
    /// messages whose UIDs are among `uids`, ascending, from one statement (a STORE; on
    /// PostgreSQL one round trip, where the folder and then each message took one). A message
    /// row has the columns `fileRef` and `summary` read, and its id as `message_id`.
    static func lockedFolder(
        _ db: any SQLConnection, mailbox: MailboxID, name: String, messages uids: [UInt32]
    ) throws -> (FolderRow, [SQLRow]) {
        guard let low = uids.min(), let high = uids.max() else {
            return (try folder(db, mailbox: mailbox, name: name, locking: true), [])
        }
        let rows = try db.rows(
            """
            SELECT folder.*, message.id AS message_id, message.uid, message.modseq, message.file_name,
                message.flags, message.keywords, message.size, message.internal_date, message.in_cur
            FROM folder LEFT JOIN message ON message.folder_id = folder.id AND message.uid BETWEEN ? AND ?
            WHERE folder.mailbox_id = ? AND folder.name = ? ORDER BY message.uid
            \(db.dialect == .postgres ? "FOR UPDATE OF folder" : "")
            """, sqlValues(Int64(low), Int64(high), mailbox.rawValue, name))
        guard let first = rows.first else { throw MailStoreError.noSuchFolder(name) }
        let wanted = Set(uids)
        let messages = try rows.filter { row in
            guard let uid = try row.optional("uid", as: Int64.self) else { return false }
            return wanted.contains(UInt32(truncatingIfNeeded: uid))
        }
        return (try FolderRow(first), messages)
    }

    /// The folder `name` for a write that derives its counters from what it reads, when the
    /// write also adds to `other` (Recently Deleted, a MOVE's target): on PostgreSQL both rows
    /// are taken `FOR UPDATE` in id order, so two such writes (an expunge into Recently Deleted
    /// and a restore out of it, two MOVEs in opposite directions) never wait for each other in
    /// a cycle. SQLite has one writer and runs `folder(…, locking: true)`, the statement it always ran.
    static func lockedFolder(
        _ db: any SQLConnection, mailbox: MailboxID, name: String, with other: String?
    ) throws -> FolderRow {
        guard db.dialect == .postgres, let other, other != name,
            let second = try? Self.folder(db, mailbox: mailbox, name: other)
        else { return try Self.folder(db, mailbox: mailbox, name: name, locking: true) }
        let first = try Self.folder(db, mailbox: mailbox, name: name)
        for id in Set([first.id, second.id]).sorted() {
            _ = try db.rows("SELECT id FROM folder WHERE id = ? FOR UPDATE", sqlValues(id))
        }
        // Read again under the lock: its MODSEQ as the last writer left it.
        return try Self.folder(db, mailbox: mailbox, name: name)
    }

    public func status(mailbox: MailboxID, folder name: String) throws -> FolderStatus {
        try database.read { db in try Self.status(db, mailbox: mailbox, name: name) }
    }

    static func status(_ db: any SQLConnection, mailbox: MailboxID, name: String) throws -> FolderStatus {
        let folder = try Self.folder(db, mailbox: mailbox, name: name)
        let row = try db.one(
            """
            SELECT COUNT(*) AS messages, COALESCE(SUM(size), 0) AS size,
                COALESCE(SUM(CASE WHEN flags & ? = 0 THEN 1 ELSE 0 END), 0) AS unseen,
                COALESCE(SUM(CASE WHEN uid >= ? THEN 1 ELSE 0 END), 0) AS recent,
                COALESCE(SUM(CASE WHEN flags & ? != 0 THEN 1 ELSE 0 END), 0) AS deleted,
                COALESCE(SUM(CASE WHEN flags & ? != 0 THEN size ELSE 0 END), 0) AS deleted_size
            FROM message WHERE folder_id = ?
            """,
            sqlValues(
                Int64(SystemFlags.seen.rawValue), Int64(folder.firstRecentUID), Int64(SystemFlags.deleted.rawValue),
                Int64(SystemFlags.deleted.rawValue), folder.id))!
        return FolderStatus(
            name: folder.name, specialUse: folder.specialUse, uidValidity: folder.uidValidity,
            uidNext: folder.uidNext, highestModseq: folder.highestModseq, messages: try row.get("messages"),
            unseen: try row.get("unseen"), size: try row.get("size"), firstRecentUID: folder.firstRecentUID,
            recent: try row.get("recent"), deleted: try row.get("deleted"), deletedSize: try row.get("deleted_size"),
            readOnly: folder.name == FolderInfo.recentlyDeleted)
    }

    /// Hands the folder's unclaimed recent UIDs to one session and marks them claimed: the
    /// read and the update are one write transaction, so two sessions never share one.
    /// Most SELECTs find nothing to claim: a read answers them without queueing for the writer.
    /// On PostgreSQL the write reads the folder `FOR UPDATE`, so a session on another node
    /// claiming at once waits for this commit and finds the UIDs claimed.
    public func claimRecent(mailbox: MailboxID, folder name: String) throws -> Range<UInt32> {
        let seen = try singleRead { db in try Self.folder(db, mailbox: mailbox, name: name) }
        if seen.firstRecentUID >= seen.uidNext { return seen.uidNext..<seen.uidNext }
        return try database.write { db in
            let folder = try Self.folder(db, mailbox: mailbox, name: name, locking: true)
            let claimed = min(folder.firstRecentUID, folder.uidNext)..<folder.uidNext
            if !claimed.isEmpty {
                try db.execute(
                    "UPDATE folder SET first_recent_uid = ? WHERE id = ?", sqlValues(Int64(folder.uidNext), folder.id))
            }
            return claimed
        }
    }

    /// Message counts per folder, in folder order, for `mailbox show` and `mailbox remove`.
    public func messageCounts(mailbox: MailboxID) throws -> [(folder: String, messages: Int)] {
        try database.read { db in
            try db.rows(
                """
                SELECT folder.name AS name, COUNT(message.id) AS messages FROM folder
                LEFT JOIN message ON message.folder_id = folder.id
                WHERE folder.mailbox_id = ? GROUP BY folder.id ORDER BY folder.id
                """, sqlValues(mailbox.rawValue)
            ).map { (try $0.get("name"), try $0.get("messages")) }
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
        let found = try singleRead { db in
            try db.one(
                """
                SELECT folder.*, mailbox.public_key AS owner_public_key,
                    message.uid AS existing_uid, message.modseq AS existing_modseq,
                    message.flags AS existing_flags, message.keywords AS existing_keywords,
                    message.size AS existing_size, message.internal_date AS existing_internal_date
                FROM folder JOIN mailbox ON mailbox.id = folder.mailbox_id
                LEFT JOIN message ON message.folder_id = folder.id AND message.deposit_id = ?
                WHERE folder.mailbox_id = ? AND folder.name = ?
                """, sqlValues(depositID, mailbox.rawValue, name))
        }
        guard let found else { throw MailStoreError.noSuchFolder(name) }
        guard name != FolderInfo.recentlyDeleted else { throw MailStoreError.readOnlyFolder(name) }
        let folder = try FolderRow(found)
        let publicKey: Data? = try found.optional("owner_public_key")
        if let uid = try found.optional("existing_uid", as: Int64.self) {
            return MessageSummary(
                uid: UInt32(truncatingIfNeeded: uid), modseq: UInt64(try found.get("existing_modseq", as: Int64.self)),
                flags: MessageFlags(
                    system: SystemFlags(rawValue: try found.get("existing_flags")),
                    keywords: Self.keywords(try found.get("existing_keywords"))),
                size: try found.get("existing_size"),
                internalDate: Date(
                    timeIntervalSince1970: TimeInterval(try found.get("existing_internal_date", as: Int64.self))))
        }
        guard let publicKey else { throw DirectoryError.unknownMailbox(mailbox.rawValue) }
        let owner = KeyOwner.mailbox(mailbox.rawValue).description
        let fileName = depositID ?? UUID().uuidString.lowercased()
        let inCur = !flags.system.isEmpty
        try files.write(
            FileRef(
                mailbox: mailbox.rawValue, folderID: folder.id, fileName: fileName, inCur: inCur,
                letters: flags.system.maildirLetters)
        ) { emit in
            try SealedFile.seal(message, owner: owner, recipient: publicKey, write: emit)
        }
        let meta = try SealedFile.seal(try metadata.encoded(), owner: owner, recipient: publicKey)
        let date = Int64(internalDate.timeIntervalSince1970)

        let (summary, created) = try database.write { db -> (MessageSummary, Bool) in
            let folder = try Self.folder(db, mailbox: mailbox, name: name)
            if let depositID, let row = try Self.depositRow(db, folderID: folder.id, depositID: depositID) {
                return (try Self.summary(row), false)
            }
            let (_, uid, modseq) = try Self.insertNext(
                db, folder: folder,
                NewRow(
                    fileName: fileName, depositID: depositID, flags: flags, size: message.count,
                    internalDate: date, inCur: inCur, meta: .sealed(meta)))
            let summary = MessageSummary(
                uid: uid, modseq: modseq, flags: flags, size: message.count,
                internalDate: Date(timeIntervalSince1970: TimeInterval(date)))
            return (summary, true)
        }
        if created { publish([.added(uid: summary.uid, modseq: summary.modseq)], folderID: folder.id) }
        return summary
    }

    // MARK: - Reading

    public func messages(mailbox: MailboxID, folder name: String) throws -> [MessageSummary] {
        try database.read { db in
            try Self.summaries(db, folderID: try Self.folder(db, mailbox: mailbox, name: name).id)
        }
    }

    /// Every message of the folder, ascending by UID.
    static func summaries(_ db: any SQLConnection, folderID: Int64) throws -> [MessageSummary] {
        try db.rows("SELECT \(summaryColumns) FROM message WHERE folder_id = ? ORDER BY uid", sqlValues(folderID))
            .map { summary(columns: $0) }
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
        let sealed = try messageRow(mailbox: mailbox, folder: name, uid: uid, meta: true).get("meta", as: Data.self)
        let reader = try SealedFileReader(sealed: sealed, key: try ownerKey(mailbox))
        return try MessageMetadata.decode(try reader.readAll())
    }

    func openMessage(mailbox: MailboxID, folder name: String, uid: UInt32) throws -> SealedFileReader {
        let row = try messageRow(mailbox: mailbox, folder: name, uid: uid)
        return try openFile(
            mailbox: mailbox, folderID: try row.get("folder_id"), row: row, key: try ownerKey(mailbox))
    }

    /// The row of message `uid` of the folder: one statement joining the folder by name (a
    /// FETCH of a body, a structure or a header block; on PostgreSQL one round trip where a
    /// transaction of two statements took four), with its sealed `meta` if asked. Throws
    /// `noSuchFolder` or `noSuchMessage`.
    func messageRow(mailbox: MailboxID, folder name: String, uid: UInt32, meta: Bool = false) throws -> SQLRow {
        let row = try singleRead { db in
            try db.one(
                """
                SELECT message.*\(meta ? ", message_meta.meta" : "") FROM message
                JOIN folder ON folder.id = message.folder_id
                \(meta ? "JOIN message_meta ON message_meta.message_id = message.id" : "")
                WHERE folder.mailbox_id = ? AND folder.name = ? AND message.uid = ?
                """, sqlValues(mailbox.rawValue, name, Int64(uid)))
        }
        if let row { return row }
        // No row: no such message, or no such folder, which is an error of its own.
        try requireFolder(mailbox: mailbox, name: name)
        throw MailStoreError.noSuchMessage(uid: uid)
    }

    /// Opens the sealed file of `row`.
    func openFile(mailbox: MailboxID, folderID: Int64, row: SQLRow, key: OwnerKey) throws -> SealedFileReader {
        try files.open(try Self.fileRef(mailbox: mailbox, folderID: folderID, row: row), key: key)
    }

    /// What the index says of `row`'s file.
    static func fileRef(mailbox: MailboxID, folderID: Int64, row: SQLRow) throws -> FileRef {
        FileRef(
            mailbox: mailbox.rawValue, folderID: folderID, fileName: try row.get("file_name"),
            inCur: try row.get("in_cur"), letters: SystemFlags(rawValue: try row.get("flags")).maildirLetters)
    }

    /// The name of `row`'s file as it is now.
    func path(mailbox: MailboxID, folderID: Int64, row: SQLRow) throws -> String {
        let ref = try Self.fileRef(mailbox: mailbox, folderID: folderID, row: row)
        guard let name = files.locate(ref) else {
            throw MailStoreError.unreadable(
                path: files.expectedName(ref), reason: "the index has a row but the spool has no file")
        }
        return name
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
            let (folder, rows) = try Self.lockedFolder(db, mailbox: mailbox, name: name, messages: uids)
            folderID = folder.id
            var modseq = folder.highestModseq
            var changed: [MessageSummary] = []
            var failed: [UInt32] = []
            var updates: [[SQLValue]] = []
            var renames: [(from: String, to: FileRef)] = []
            for row in rows {
                var summary = try Self.summary(row)
                if let unchangedSince, summary.modseq > unchangedSince {
                    failed.append(summary.uid)
                    continue
                }
                let updated = summary.flags.applying(operation, flags)
                guard updated != summary.flags else { continue }
                modseq += 1
                updates.append(
                    sqlValues(
                        try row.get("message_id", as: Int64.self), Int64(updated.system.rawValue),
                        Self.keywordText(updated.keywords), Int64(modseq)))
                renames.append(
                    (
                        try path(mailbox: mailbox, folderID: folder.id, row: row),
                        FileRef(
                            mailbox: mailbox.rawValue, folderID: folder.id, fileName: try row.get("file_name"),
                            inCur: true, letters: updated.system.maildirLetters)
                    ))
                summary.flags = updated
                summary.modseq = modseq
                changed.append(summary)
            }
            // Every changed row in one statement per 200 (on PostgreSQL one round trip each).
            for start in stride(from: 0, to: updates.count, by: 200) {
                let chunk = updates[start..<min(start + 200, updates.count)]
                try db.execute(
                    """
                    UPDATE message SET flags = v.column2, keywords = v.column3, modseq = v.column4, in_cur = 1
                    FROM (VALUES \(chunk.map { _ in "(?, ?, ?, ?)" }.joined(separator: ", "))) AS v
                    WHERE message.id = v.column1
                    """, Array(chunk.joined()))
            }
            if modseq != folder.highestModseq {
                try db.execute("UPDATE folder SET highest_modseq = ? WHERE id = ?", sqlValues(Int64(modseq), folder.id))
            }
            // Last steps of the transaction: if a rename fails, the row changes roll back.
            for rename in renames { try files.reflag(rename.from, to: rename.to) }
            return (changed, failed)
        }
        publish(result.changed.map { .flags(uid: $0.uid, flags: $0.flags, modseq: $0.modseq) }, folderID: folderID)
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
                let folder = try Self.lockedFolder(
                    db, mailbox: mailbox, name: name, with: deletion == nil ? nil : FolderInfo.recentlyDeleted)
                return (
                    folder.id,
                    try removeRows(db, mailbox: mailbox, folder: folder, uids: uids, keeping: deletion, linked: &linked)
                )
            }
        } catch {
            // The transaction rolled back: the names made in Recently Deleted must not outlive it.
            for path in linked { try? files.remove(path) }
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
            publish([.expunged(uids: removal.removed, modseq: removal.modseq)], folderID: folderID)
        }
        if let kept = removal.kept, !kept.uids.isEmpty {
            publish(kept.uids.map { .added(uid: $0, modseq: kept.modseq) }, folderID: kept.folderID)
        }
    }

    /// Deletes rows of `uids` in `folder`, leaving a tombstone per file and a log entry per UID.
    /// With `deletion`, each message first gets a row in Recently Deleted — its file hard-linked
    /// there under a new name, added to `linked` so the caller can unlink it if the transaction
    /// fails — and a `deletion` row saying where it was. A message whose file is already gone
    /// cannot be kept and is only removed.
    func removeRows(
        _ db: any SQLConnection, mailbox: MailboxID, folder: FolderRow, uids: [UInt32],
        keeping deletion: Deletion? = nil,
        linked: inout [String]
    ) throws -> Removal {
        var removal = Removal()
        let modseq = folder.highestModseq + 1
        var bin: FolderRow?
        if deletion != nil && folder.name != FolderInfo.recentlyDeleted {
            bin = try Self.recentlyDeletedFolder(db, mailbox: mailbox)
            removal.kept = (bin!.id, [], 0)
        }
        let folderName = folder.name
        for uid in uids.sorted() {
            guard
                let row = try Self.messageRow(db, folderID: folder.id, uid: uid)
            else { continue }
            let found = try? path(mailbox: mailbox, folderID: folder.id, row: row)
            let path = try found ?? files.expectedName(Self.fileRef(mailbox: mailbox, folderID: folder.id, row: row))
            if let deletion, let target = bin, let found {
                // Every flag is kept but `\Deleted`, the mark the expunge acted on: a restored
                // message must not go again at the folder's next EXPUNGE.
                let (messageID, newUID, newModseq) = try linkCopy(
                    db, mailbox: mailbox, row: row, file: found, into: target,
                    flags: SystemFlags(rawValue: try row.get("flags")).subtracting(.deleted), linked: &linked)
                try db.execute(
                    """
                    INSERT INTO deletion (message_id, folder_name, uid, deleted_at, deleted_by)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                    sqlValues(
                        messageID, folderName, Int64(uid), Int64(deletion.at.timeIntervalSince1970), deletion.by))
                removal.kept?.uids.append(newUID)
                removal.kept?.modseq = newModseq
            }
            try db.execute("INSERT INTO tombstone (path) VALUES (?)", sqlValues(path))
            try db.execute("DELETE FROM message WHERE id = ?", sqlValues(try row.get("id", as: Int64.self)))
            try db.execute(
                """
                INSERT INTO expunged (folder_id, uid, modseq) VALUES (?, ?, ?)
                ON CONFLICT (folder_id, uid) DO UPDATE SET modseq = excluded.modseq
                """, sqlValues(folder.id, Int64(uid), Int64(modseq)))
            removal.removed.append(uid)
        }
        if !removal.removed.isEmpty {
            try db.execute("UPDATE folder SET highest_modseq = ? WHERE id = ?", sqlValues(Int64(modseq), folder.id))
        }
        removal.modseq = modseq
        return removal
    }

    /// A second row for the message of `row` in `target` under the next UID, its `file`
    /// hard-linked there under a new name (added to `linked`, for the caller to unlink if the
    /// transaction fails): COPY, MOVE and an expunge into Recently Deleted. Never re-sealed.
    func linkCopy(
        _ db: any SQLConnection, mailbox: MailboxID, row: SQLRow, file: String, into target: FolderRow,
        flags: SystemFlags, linked: inout [String]
    ) throws -> (id: Int64, uid: UInt32, modseq: UInt64) {
        let fileName = UUID().uuidString.lowercased()
        let destination = try files.duplicate(
            file,
            to: FileRef(
                mailbox: mailbox.rawValue, folderID: target.id, fileName: fileName, inCur: true,
                letters: flags.maildirLetters))
        linked.append(destination)
        return try Self.insertNext(
            db, folder: target,
            NewRow(
                fileName: fileName, depositID: nil,
                flags: MessageFlags(system: flags, keywords: Self.keywords(try row.get("keywords"))),
                size: try row.get("size"), internalDate: try row.get("internal_date"), inCur: true,
                meta: .copied(from: try row.get("id"))))
    }

    /// The mailbox's Recently Deleted folder, made if a mailbox somehow lacks it.
    static func recentlyDeletedFolder(_ db: any SQLConnection, mailbox: MailboxID) throws -> FolderRow {
        if let folder = try? Self.folder(db, mailbox: mailbox, name: FolderInfo.recentlyDeleted) { return folder }
        try Directory.insertFolder(db, mailbox: mailbox, name: FolderInfo.recentlyDeleted, specialUse: nil)
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
                // A MOVE writes the source's MODSEQ from what it reads: locked first, with its target in id order.
                let source =
                    expungingSource
                    ? try Self.lockedFolder(db, mailbox: mailbox, name: sourceName, with: targetName)
                    : try Self.folder(db, mailbox: mailbox, name: sourceName)
                let target = try Self.folder(db, mailbox: mailbox, name: targetName)
                var targetModseq = target.highestModseq
                var pairs: [(UInt32, UInt32)] = []
                for uid in uids.sorted() {
                    guard
                        let row = try Self.messageRow(db, folderID: source.id, uid: uid)
                    else { continue }
                    let (_, newUID, newModseq) = try linkCopy(
                        db, mailbox: mailbox, row: row, file: try path(mailbox: mailbox, folderID: source.id, row: row),
                        into: target, flags: SystemFlags(rawValue: try row.get("flags")), linked: &linked)
                    pairs.append((uid, newUID))
                    targetModseq = newModseq
                }
                var removed: [UInt32] = []
                var removedModseq: UInt64 = 0
                if expungingSource && source.id != target.id {
                    let removal = try removeRows(
                        db, mailbox: mailbox, folder: source, uids: pairs.map(\.0), linked: &linked)
                    (removed, removedModseq) = (removal.removed, removal.modseq)
                }
                return (pairs, source.id, target.id, targetModseq, removed, removedModseq)
            }
            try replayTombstones()
            publish(result.pairs.map { .added(uid: $0.1, modseq: result.modseq) }, folderID: result.targetID)
            if !result.removed.isEmpty {
                publish([.expunged(uids: result.removed, modseq: result.removedModseq)], folderID: result.sourceID)
            }
            return result.pairs.map { (source: $0.0, target: $0.1) }
        } catch {
            // The transaction rolled back: the new names must not outlive it.
            for path in linked { try? files.remove(path) }
            throw error
        }
    }

    // MARK: - Change feed

    /// Committed changes to `folder` from now on.
    public func changes(mailbox: MailboxID, folder name: String) throws -> AsyncStream<FolderChange> {
        let folder = try singleRead { db in try Self.folder(db, mailbox: mailbox, name: name) }
        // The mark and the subscription are made under one lock, so the pruning of another
        // subscriber never takes the mark of a folder between the two.
        return heardUpTo.withLock { marks in
            // Marks of folders nobody listens to any more are dropped once they outnumber the
            // live ones: a node up for months has opened more folders than it holds in mind.
            if marks.count > 64 + 2 * feed.subscribedFolders().count {
                marks = marks.filter { feed.hasSubscribers($0.key) }
            }
            if marks[folder.id] == nil {
                marks[folder.id] = FeedMark(modseq: folder.highestModseq, uidNext: folder.uidNext)
            }
            return feed.subscribe(folderID: folder.id)
        }
    }

    // MARK: - Maintenance

    /// Unlinks every file a committed expunge left behind, then forgets the tombstones.
    public func replayTombstones() throws {
        let tombstones = try database.read { db in
            try db.rows("SELECT id, path FROM tombstone ORDER BY id").map {
                (try $0.get("id", as: Int64.self), try $0.get("path", as: String.self))
            }
        }
        for (id, path) in tombstones {
            try files.remove(path)
            try database.write { db in try db.execute("DELETE FROM tombstone WHERE id = ?", sqlValues(id)) }
        }
    }

    /// Deletes every message file of `mailbox` after its rows are gone (`mailbox remove`).
    public func removeSpool(of mailbox: MailboxID) throws { try files.removeMailbox(mailbox.rawValue) }

    // MARK: - Keys

    func ownerKey(_ mailbox: MailboxID) throws -> OwnerKey {
        if let key = keys.withLock({ $0[mailbox.rawValue] }) { return key }
        let row = try database.read { db in
            try db.one(
                "SELECT wrapped_private_key, master_key_id FROM mailbox WHERE id = ?", sqlValues(mailbox.rawValue))
        }
        guard let row else { throw DirectoryError.unknownMailbox(mailbox.rawValue) }
        let key = try OwnerKey.open(
            WrappedPrivateKey(masterKeyID: try row.get("master_key_id"), sealed: try row.get("wrapped_private_key")),
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
        var meta: Meta
    }

    /// Where a new row's sealed metadata comes from: sealed now, or the row it copies (COPY,
    /// MOVE, an expunge into Recently Deleted), copied inside the database, never re-sealed.
    enum Meta {
        case sealed(Data)
        case copied(from: Int64)
    }

    /// Inserts `row` under the folder's next UID and modseq, inside the caller's write
    /// transaction: the one place UIDs are handed out. One `UPDATE … RETURNING` raises and reads
    /// both counters, so on PostgreSQL the folder's row stays locked until this commit: a
    /// delivery into the same folder on another node waits, and UIDs are gap-free, never
    /// reused and visible in order. Returns the new row's id, UID and modseq.
    static func insertNext(
        _ db: any SQLConnection, folder: FolderRow, _ row: NewRow
    ) throws -> (id: Int64, uid: UInt32, modseq: UInt64) {
        guard
            let next = try db.one(
                """
                UPDATE folder SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1 WHERE id = ?
                RETURNING uid_next - 1 AS uid, highest_modseq AS modseq
                """, sqlValues(folder.id))
        else { throw MailStoreError.noSuchFolder(folder.name) }
        let uid: Int64 = try next.get("uid")
        let modseq: Int64 = try next.get("modseq")
        let insert = """
            INSERT INTO message (folder_id, uid, modseq, file_name, deposit_id, flags, keywords, size,
                internal_date, in_cur, filed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            RETURNING id
            """
        let values = sqlValues(
            folder.id, uid, modseq, row.fileName, row.depositID, Int64(row.flags.system.rawValue),
            keywordText(row.flags.keywords), row.size, row.internalDate, row.inCur, Int64(Date().timeIntervalSince1970))
        // The metadata: its value, or a join to the row it is copied from (the last argument).
        let (meta, source, argument): (String, String, SQLValue) =
            switch row.meta {
            case .sealed(let data): ("?", "", data.sqlValue)
            case .copied(let id): ("source.meta", "JOIN message_meta AS source ON source.message_id = ?", id.sqlValue)
            }
        let inserted: SQLRow?
        if db.dialect == .postgres {
            // Both rows from one statement: one round trip, as when the metadata was a column.
            inserted = try db.one(
                """
                WITH inserted AS (\(insert))
                INSERT INTO message_meta (message_id, meta) SELECT inserted.id, \(meta) FROM inserted \(source)
                RETURNING message_id AS id
                """, values + [argument])
        } else {
            guard let id: Int64 = try db.one(insert, values)?.get("id") else { throw SQLError.noSuchColumn("id") }
            inserted = try db.one(
                """
                WITH inserted AS (SELECT ? AS id)
                INSERT INTO message_meta (message_id, meta) SELECT inserted.id, \(meta) FROM inserted \(source)
                RETURNING message_id AS id
                """, [id.sqlValue, argument])
        }
        // No row: the row copied has no metadata, and no message may commit without.
        guard let inserted else { throw MailStoreError.storage("the message copied has no sealed metadata") }
        return (try inserted.get("id"), UInt32(truncatingIfNeeded: uid), UInt64(modseq))
    }

    /// The row a delivery of `depositID` already made in `folderID`, or nil.
    static func depositRow(_ db: any SQLConnection, folderID: Int64, depositID: String) throws -> SQLRow? {
        try db.one("SELECT * FROM message WHERE folder_id = ? AND deposit_id = ?", sqlValues(folderID, depositID))
    }

    /// The row of `uid` in `folderID`, or nil.
    static func messageRow(_ db: any SQLConnection, folderID: Int64, uid: UInt32) throws -> SQLRow? {
        try db.one("SELECT * FROM message WHERE folder_id = ? AND uid = ?", sqlValues(folderID, Int64(uid)))
    }

    /// The columns `summary(columns:)` reads, in its order.
    static let summaryColumns = "uid, modseq, flags, keywords, size, internal_date"
    /// The same, named by table, for a statement that joins `folder`.
    static let summaryColumnsOfMessage =
        "message.uid, message.modseq, message.flags, message.keywords, message.size, message.internal_date"

    /// A summary from a row selecting exactly `summaryColumns`: by position, because looking
    /// columns up by name costs a lowercased copy of each name per row (SELECT and FETCH run
    /// this for every message of a folder).
    static func summary(columns row: SQLRow) -> MessageSummary {
        let values = row.values
        return MessageSummary(
            uid: UInt32(truncatingIfNeeded: integer(values[0])), modseq: UInt64(integer(values[1])),
            flags: MessageFlags(
                system: SystemFlags(rawValue: Int(integer(values[2]))), keywords: keywords(text(values[3]))),
            size: Int(integer(values[4])), internalDate: Date(timeIntervalSince1970: TimeInterval(integer(values[5]))))
    }

    /// A NOT NULL integer column read by position (0 for anything else, which the schema rules out).
    private static func integer(_ value: SQLValue) -> Int64 {
        if case .integer(let number) = value { return number }
        return Int64(sqlValue: value) ?? 0
    }

    private static func text(_ value: SQLValue) -> String {
        if case .text(let text) = value { return text }
        return ""
    }

    static func summary(_ row: SQLRow) throws -> MessageSummary {
        MessageSummary(
            uid: UInt32(truncatingIfNeeded: try row.get("uid", as: Int64.self)),
            modseq: UInt64(try row.get("modseq", as: Int64.self)),
            flags: MessageFlags(
                system: SystemFlags(rawValue: try row.get("flags")), keywords: keywords(try row.get("keywords"))),
            size: try row.get("size"),
            internalDate: Date(timeIntervalSince1970: TimeInterval(try row.get("internal_date", as: Int64.self))))
    }

    static func keywordText(_ keywords: Set<String>) -> String { keywords.sorted().joined(separator: " ") }

    static func keywords(_ text: String) -> Set<String> {
        text.isEmpty ? [] : Set(text.split(separator: " ").map(String.init))
    }
}
