import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase

/// A personal token as `mailvox mailbox token list` shows it; the token itself is never stored.
public struct PersonalToken: Sendable, Equatable, Encodable {
    public var mailbox: MailboxID
    public var name: String
    public var createdAt: Date
    public var lastUsedAt: Date?

    enum CodingKeys: String, CodingKey {
        case mailbox, name
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mailbox.rawValue, forKey: .mailbox)
        try container.encode(name, forKey: .name)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
    }
}

/// Personal tokens (docs/API.md): a mailbox's owner lets a program call the web API as the
/// mailbox, without its password. Only the token's SHA-256 is kept; removing the mailbox
/// removes its tokens.
extension Directory {
    /// Tokens begin with this, so a leaked one is recognisable (and told apart from `mvx_`
    /// deposit tokens) in logs and secret scanners.
    public static let personalTokenPrefix = "mvp_"

    /// Makes a token named `name` for `mailbox` and returns it: the one time it is seen.
    public func createPersonalToken(mailbox: MailboxID, name: String) throws -> String {
        guard Self.isTokenName(name) else {
            throw DirectoryError.invalid(field: "--name", reason: "\"\(name)\" is not 1–64 of [A-Za-z0-9._-]")
        }
        guard let record = try self.mailbox(mailbox) else { throw DirectoryError.unknownMailbox(mailbox.rawValue) }
        let token = Self.personalTokenPrefix + Secrets.token()
        try database.write { db in
            if try db.scalar(
                Int.self, "SELECT COUNT(*) FROM personal_token WHERE mailbox_id = ? AND name = ?",
                sqlValues(record.id.rawValue, name)) != 0
            {
                throw DirectoryError.duplicateToken(name)
            }
            try db.execute(
                "INSERT INTO personal_token (mailbox_id, name, token_sha256, created_at) VALUES (?, ?, ?, ?)",
                sqlValues(record.id.rawValue, name, Hashing.sha256(Data(token.utf8)), Self.truncated(Date())))
        }
        return token
    }

    public func personalTokens(mailbox: MailboxID) throws -> [PersonalToken] {
        try database.read { db in
            try db.rows(
                """
                SELECT mailbox_id, name, created_at, last_used_at FROM personal_token
                WHERE mailbox_id = ? ORDER BY name
                """, sqlValues(mailbox.rawValue)
            ).compactMap { row in
                try MailboxID(try row.field("mailbox_id") as String).map {
                    PersonalToken(
                        mailbox: $0, name: try row.field("name"), createdAt: try row.field("created_at"),
                        lastUsedAt: try row.field("last_used_at"))
                }
            }
        }
    }

    public func revokePersonalToken(mailbox: MailboxID, name: String) throws {
        try database.write { db in
            let changed = try db.execute(
                "DELETE FROM personal_token WHERE mailbox_id = ? AND name = ?", sqlValues(mailbox.rawValue, name))
            if changed == 0 { throw DirectoryError.unknownToken(name) }
        }
    }

    /// The mailbox `presented` is a personal token of, or nil; records its use. A mailbox that
    /// was removed, or may not log in, has no working tokens.
    public func authenticatePersonalToken(_ presented: String) throws -> MailboxID? {
        guard presented.hasPrefix(Self.personalTokenPrefix) else { return nil }
        let digest = Hashing.sha256(Data(presented.utf8))
        guard
            let row = try database.readStatement({ db in
                try db.one(
                    """
                    SELECT t.mailbox_id, t.name, t.last_used_at FROM personal_token t JOIN mailbox m ON m.id = t.mailbox_id
                    WHERE t.token_sha256 = ? AND m.removed_at IS NULL AND m.login = 1
                    """, sqlValues(digest))
            })
        else { return nil }
        let id: String = try row.field("mailbox_id")
        let name: String = try row.field("name")
        let now = Self.truncated(Date())
        if Self.isStale(try row.field("last_used_at"), now: now) {
            _ = try? database.writeStatement { db in
                try db.execute(
                    "UPDATE personal_token SET last_used_at = ? WHERE mailbox_id = ? AND name = ?",
                    sqlValues(now, id, name))
            }
        }
        return MailboxID(id)
    }
}
