import Foundation
import MailvoxCore
import MailvoxDatabase

/// Aliases: the addresses besides `ID@domain` that reach a mailbox through the SMTP/LMTP door.
extension Directory {
    /// The mailbox an alias names: the whole address first (`sales@example.com`), then a
    /// local-part alias (`sales`, valid for every accepted domain). Case-insensitive.
    public func mailboxID(forAlias localPart: String, domain: String) throws -> MailboxID? {
        let local = localPart.lowercased()
        let whole = "\(local)@\(domain.lowercased())"
        return try database.read { db in
            try db.scalar(
                String.self,
                """
                SELECT mailbox_id FROM mailbox_alias JOIN mailbox ON mailbox.id = mailbox_alias.mailbox_id
                WHERE address IN (?, ?) AND mailbox.removed_at IS NULL
                ORDER BY address = ? DESC LIMIT 1
                """, sqlValues(whole, local, whole)
            ).flatMap(MailboxID.init)
        }
    }

    /// Replaces a mailbox's aliases with `aliases` in the transaction `db`; returns them as stored.
    static func replaceAliases(_ db: any SQLConnection, of id: MailboxID, with aliases: [String]) throws -> [String] {
        let normalized = aliases.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard Set(normalized).count == normalized.count else {
            throw DirectoryError.invalid(field: "--alias", reason: "an alias is listed twice")
        }
        for alias in normalized {
            try validateAlias(alias)
            let local = String(alias.prefix { $0 != "@" })
            if let other = MailboxID(local), other.rawValue.lowercased() != id.rawValue.lowercased(),
                try taken(other, in: db) != nil
            {
                throw DirectoryError.invalid(field: "--alias", reason: "\"\(alias)\" is mailbox \(other)'s own address")
            }
            if let owner = try db.scalar(
                String.self, "SELECT mailbox_id FROM mailbox_alias WHERE address = ? AND mailbox_id <> ?",
                sqlValues(alias, id.rawValue))
            {
                throw DirectoryError.invalid(field: "--alias", reason: "\"\(alias)\" already reaches mailbox \(owner)")
            }
        }
        try db.execute("DELETE FROM mailbox_alias WHERE mailbox_id = ?", sqlValues(id.rawValue))
        for alias in normalized {
            try db.execute(
                "INSERT INTO mailbox_alias (address, mailbox_id) VALUES (?, ?)", sqlValues(alias, id.rawValue))
        }
        return normalized.sorted()
    }

    /// `local@domain` or a local part alone; no `+` (a `+detail` is never part of a match) and
    /// nothing an SMTP path could not carry.
    static func validateAlias(_ alias: String) throws {
        let parts = alias.split(separator: "@", omittingEmptySubsequences: false)
        let local = parts[0]
        let atext = Set("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*-/=?^_`{|}~.")
        guard parts.count <= 2, !local.isEmpty, local.count <= 64, !local.contains("+"),
            local.allSatisfy({ atext.contains($0) || !$0.isASCII }), !local.hasPrefix("."), !local.hasSuffix("."),
            parts.count == 1 || Configuration.isHostname(String(parts[1]))
        else {
            throw DirectoryError.invalid(
                field: "--alias",
                reason: "\"\(alias)\" is not an address such as sales@example.com or a local part such as sales (no +)")
        }
    }
}
