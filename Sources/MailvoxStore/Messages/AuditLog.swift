import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase

/// One line of a mailbox's audit log (#16, docs/OPERATIONS.md): who did what in it, from
/// where, when. The index keeps it sealed to the mailbox's key, like a message's headers.
public struct AuditEntry: Sendable, Equatable, Codable {
    public var at: Date
    /// The login that acted: the member's mailbox id, e.g. "2000".
    public var actor: String
    /// The client's IP address.
    public var address: String
    /// login, open, flags, copy, move, expunge, append, create, delete, rename or acl.
    public var action: String
    public var folder: String?
    /// What else there is to say, e.g. "+\Seen 3,4" or "to Saved 3".
    public var detail: String?

    public init(
        at: Date = Date(), actor: String, address: String, action: String, folder: String? = nil,
        detail: String? = nil
    ) {
        self.at = at
        self.actor = actor
        self.address = address
        self.action = action
        self.folder = folder
        self.detail = detail
    }
}

extension MessageStore {
    /// Appends `entry` to the mailbox's audit log, sealed to the mailbox's public key: only its
    /// time is in the clear, for `--since` and the purge. Blocking (one SELECT, one INSERT).
    public func recordAudit(mailbox: MailboxID, _ entry: AuditEntry) throws {
        // Read afresh, as delivery does: a key cached here would outlive a purged mailbox whose
        // id was taken again, and the entries sealed to it could never be opened.
        let found = try singleRead { db in
            try db.one("SELECT id, public_key FROM mailbox WHERE id = ?", sqlValues(mailbox.rawValue))
        }
        guard let found, let publicKey = try found.optional("public_key", as: Data.self) else {
            throw DirectoryError.unknownMailbox(mailbox.rawValue)
        }
        // The id as created: the owner named in the seal is the one its key was wrapped for.
        let id: String = try found.get("id")
        let sealed = try SealedFile.seal(
            try JSONEncoder().encode(entry), owner: KeyOwner.mailbox(id).description, recipient: publicKey)
        try database.write { db in
            try db.execute(
                "INSERT INTO audit (mailbox_id, at, entry) VALUES (?, ?, ?)",
                sqlValues(id, Self.auditSeconds(entry.at), sealed))
        }
    }

    /// The mailbox's audit log, oldest first; from `since` on when given. Opening the entries
    /// needs the mailbox's private key, so the master key this store was made with.
    public func auditEntries(mailbox: MailboxID, since: Date? = nil) throws -> [AuditEntry] {
        let (id, sealed) = try database.read { db in
            guard
                let id = try db.scalar(String.self, "SELECT id FROM mailbox WHERE id = ?", sqlValues(mailbox.rawValue))
            else { throw DirectoryError.unknownMailbox(mailbox.rawValue) }
            let sealed = try db.column(
                Data.self, "SELECT entry FROM audit WHERE mailbox_id = ? AND at >= ? ORDER BY at, id",
                sqlValues(id, since.map(Self.auditSeconds) ?? Int64.min))
            return (id, sealed)
        }
        guard !sealed.isEmpty else { return [] }
        let key = try ownerKey(MailboxID(id) ?? mailbox)
        let decoder = JSONDecoder()
        let entries = try sealed.map {
            try decoder.decode(AuditEntry.self, from: try SealedFileReader(sealed: $0, key: key).readAll())
        }
        // The column holds whole seconds; the entry its exact time.
        guard let since else { return entries }
        return entries.filter { $0.at >= since }
    }

    /// Deletes the audit entries older than `cutoff` of every mailbox not on hold (a hold keeps
    /// everything, docs/OPERATIONS.md); returns how many.
    @discardableResult
    public func purgeAudit(before cutoff: Date) throws -> Int {
        try database.write { db in
            try db.execute(
                """
                DELETE FROM audit WHERE at < ?
                    AND mailbox_id NOT IN (SELECT id FROM mailbox WHERE held_since IS NOT NULL)
                """, sqlValues(Self.auditSeconds(cutoff)))
        }
    }

    /// The clear `at` column: unix seconds, rounded down.
    static func auditSeconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }
}
