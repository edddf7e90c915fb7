import Foundation
import MailvoxCore
import MailvoxDatabase

extension MessageStore {
    /// The folders every mailbox keeps: they can be neither deleted nor renamed away.
    static let protectedFolders: Set<String> = Set(DefaultFolders.all.map(\.name))

    public func folders(mailbox: MailboxID) throws -> [FolderInfo] {
        try database.read { db in
            let rows = try db.rows(
                """
                SELECT folder.name, folder.special_use, subscription.name IS NOT NULL AS subscribed
                FROM folder LEFT JOIN subscription
                    ON subscription.mailbox_id = folder.mailbox_id AND subscription.name = folder.name
                WHERE folder.mailbox_id = ? ORDER BY folder.name
                """,
                sqlValues(mailbox.rawValue))
            let names = try rows.map { try $0.get("name", as: String.self) }
            return try zip(rows, names).map { row, name in
                FolderInfo(
                    name: name, specialUse: try row.optional("special_use"), subscribed: try row.get("subscribed"),
                    hasChildren: names.contains { $0.hasPrefix(name + "/") })
            }
        }
    }

    /// Creates `name` and any missing parents (RFC 3501 §6.3.3); each gets a fresh UIDVALIDITY.
    /// All or nothing: the name is checked before anything is written, and the parents and the
    /// folder are made in one transaction, so a refusal leaves no parent behind.
    public func createFolder(mailbox: MailboxID, name: String) throws {
        let name = try Self.validateFolderName(name)
        try database.write { db in
            if try Self.folderExists(db, mailbox: mailbox, name: name) { throw MailStoreError.folderExists(name) }
            let parts = name.split(separator: "/")
            for depth in 1...parts.count {
                let path = parts.prefix(depth).joined(separator: "/")
                if try !Self.folderExists(db, mailbox: mailbox, name: path) {
                    try Directory.insertFolder(db, mailbox: mailbox, name: path, specialUse: nil)
                }
            }
        }
    }

    /// Deletes an empty-of-children folder; its messages go to Recently Deleted, as an expunge's
    /// do, and are restored into INBOX once the folder is gone.
    public func deleteFolder(mailbox: MailboxID, name: String, deletedBy: String, at now: Date = Date()) throws {
        guard !Self.isProtected(name) else { throw MailStoreError.protectedFolder(name) }
        var linked: [String] = []
        let result: (folderID: Int64, removal: Removal)
        do {
            result = try database.write { db -> (Int64, Removal) in
                let folder = try Self.lockedFolder(
                    db, mailbox: mailbox, name: name, with: FolderInfo.recentlyDeleted)
                let children =
                    try db.scalar(
                        Int.self,
                        """
                        SELECT COUNT(*) AS children FROM folder
                        WHERE mailbox_id = ? AND substr(name, 1, length(CAST(? AS TEXT))) = ?
                        """, sqlValues(mailbox.rawValue, name + "/", name + "/")) ?? 0
                guard children == 0 else {
                    throw MailStoreError.invalidFolderName(name, reason: "has child folders; delete them first")
                }
                let uids = try db.column(
                    Int64.self, "SELECT uid FROM message WHERE folder_id = ?", sqlValues(folder.id))
                let removal = try removeRows(
                    db, mailbox: mailbox, folder: folder, uids: uids.map { UInt32(truncatingIfNeeded: $0) },
                    keeping: Deletion(by: deletedBy, at: now), linked: &linked)
                try db.execute("DELETE FROM folder WHERE id = ?", sqlValues(folder.id))
                return (folder.id, removal)
            }
        } catch {
            for path in linked { try? files.remove(path) }
            throw error
        }
        try replayTombstones()
        publish(Removal(kept: result.removal.kept), from: result.folderID)
        files.removeFolder(mailbox: mailbox.rawValue, folderID: result.folderID)
    }

    /// Renames a folder and its children; UIDVALIDITY and files stay (folders are directories by
    /// id). Subscriptions stay as they are (RFC 9051 §6.3.6: a client subscribes the new name and
    /// unsubscribes the old one itself). Renaming INBOX moves its messages into a new folder and leaves INBOX empty (RFC 3501 §6.3.5).
    public func renameFolder(mailbox: MailboxID, from old: String, to new: String) throws {
        let new = try Self.validateFolderName(new)
        if old.uppercased() == "INBOX" {
            try createFolder(mailbox: mailbox, name: new)
            let uids = try messages(mailbox: mailbox, folder: "INBOX").map(\.uid)
            try copy(mailbox: mailbox, from: "INBOX", uids: uids, to: new, expungingSource: true)
            return
        }
        guard !Self.isProtected(old) else { throw MailStoreError.protectedFolder(old) }
        try database.write { db in
            _ = try Self.folder(db, mailbox: mailbox, name: old)
            if try Self.folderExists(db, mailbox: mailbox, name: new) { throw MailStoreError.folderExists(new) }
            guard !new.hasPrefix(old + "/") else {
                throw MailStoreError.invalidFolderName(new, reason: "cannot move a folder into itself")
            }
            let rows = try db.rows(
                """
                SELECT id, name FROM folder
                WHERE mailbox_id = ? AND (name = ? OR substr(name, 1, length(CAST(? AS TEXT))) = ?)
                """,
                sqlValues(mailbox.rawValue, old, old + "/", old + "/"))
            for row in rows {
                let name: String = try row.get("name")
                // A child moved under a deeper or longer name must obey the rules too; a
                // refusal rolls the whole rename back.
                let renamed = new + name.dropFirst(old.count)
                if let problem = FolderNameRules.problem(renamed) {
                    throw MailStoreError.invalidFolderName(renamed, reason: problem)
                }
                try db.execute(
                    "UPDATE folder SET name = ? WHERE id = ?", sqlValues(renamed, try row.get("id", as: Int64.self)))
            }
            let parts = new.split(separator: "/")
            for depth in stride(from: parts.count - 1, through: 1, by: -1) {
                let parent = parts.prefix(depth).joined(separator: "/")
                if try !Self.folderExists(db, mailbox: mailbox, name: parent) {
                    try Directory.insertFolder(db, mailbox: mailbox, name: parent, specialUse: nil)
                }
            }
        }
    }

    /// Most subscriptions a mailbox keeps: they may name folders that do not exist, so a client
    /// could otherwise grow the list without end.
    static let maxSubscriptions = 1_000

    /// SUBSCRIBE takes any valid name, existing or not (RFC 3501 §6.3.6, as Dovecot does);
    /// UNSUBSCRIBE of a name that is neither subscribed nor a folder is refused.
    public func setSubscribed(mailbox: MailboxID, folder raw: String, _ subscribed: Bool) throws {
        try database.write { db in
            if subscribed {
                let name = try Self.validateFolderName(raw)
                let count =
                    try db.scalar(
                        Int.self, "SELECT COUNT(*) AS subscriptions FROM subscription WHERE mailbox_id = ?",
                        sqlValues(mailbox.rawValue)) ?? 0
                guard count < Self.maxSubscriptions else {
                    throw MailStoreError.invalidFolderName(
                        raw, reason: "at most \(Self.maxSubscriptions) subscriptions")
                }
                try db.execute(
                    "INSERT INTO subscription (mailbox_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    sqlValues(mailbox.rawValue, name))
            } else {
                let name = raw.uppercased() == "INBOX" ? "INBOX" : raw
                let removed = try db.execute(
                    "DELETE FROM subscription WHERE mailbox_id = ? AND name = ?", sqlValues(mailbox.rawValue, name))
                if removed == 0, try !Self.folderExists(db, mailbox: mailbox, name: name) {
                    throw MailStoreError.noSuchFolder(raw)
                }
            }
        }
    }

    /// Every subscribed name, whether or not its folder exists, by name.
    public func subscriptions(mailbox: MailboxID) throws -> [String] {
        try database.read { db in
            try db.column(
                String.self, "SELECT name FROM subscription WHERE mailbox_id = ? ORDER BY name",
                sqlValues(mailbox.rawValue))
        }
    }

    /// Folder names are UTF-8 paths with `/` between levels, as `FolderNameRules` says (no
    /// empty, `.` or `..` level, at most `FolderNameRules.maxDepth` deep); INBOX is spelled
    /// INBOX whatever the client typed (RFC 3501 §5.1: it is case-insensitive). Every way in —
    /// IMAP, the web, the CLI — comes through here.
    static func validateFolderName(_ raw: String) throws -> String {
        var name = raw
        if name.uppercased() == "INBOX" || name.uppercased().hasPrefix("INBOX/") { name = "INBOX" + name.dropFirst(5) }
        if let problem = FolderNameRules.problem(name) { throw MailStoreError.invalidFolderName(raw, reason: problem) }
        return name
    }

    static func isProtected(_ name: String) -> Bool { protectedFolders.contains(name) || name.uppercased() == "INBOX" }

    static func folderExists(_ db: any SQLConnection, mailbox: MailboxID, name: String) throws -> Bool {
        try db.scalar(
            Int.self, "SELECT COUNT(*) AS folders FROM folder WHERE mailbox_id = ? AND name = ?",
            sqlValues(mailbox.rawValue, name)) != 0
    }
}
