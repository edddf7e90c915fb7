import Foundation
import GRDB
import MailvoxCore
import MailvoxCrypto

/// The web inbox's second factor (docs/WEB.md): a mailbox's TOTP secret (RFC 6238), sealed to
/// the mailbox's own key like its messages, so a stolen database does not hand out codes.
extension MessageStore {
    /// Sets (or, with nil, removes) the mailbox's TOTP secret.
    public func setSecondFactorSecret(mailbox: MailboxID, _ secret: String?) throws {
        guard let secret else {
            try database.write { db in
                try db.execute(
                    sql: "UPDATE mailbox SET totp_secret = NULL WHERE id = ?", arguments: [mailbox.rawValue])
                if db.changesCount == 0 { throw DirectoryError.unknownMailbox(mailbox.rawValue) }
            }
            return
        }
        let found = try database.read { db in
            try Row.fetchOne(db, sql: "SELECT id, public_key FROM mailbox WHERE id = ?", arguments: [mailbox.rawValue])
        }
        guard let found, let publicKey = found["public_key"] as Data? else {
            throw DirectoryError.unknownMailbox(mailbox.rawValue)
        }
        let id: String = found["id"]
        let sealed = try SealedFile.seal(
            Data(secret.utf8), owner: KeyOwner.mailbox(id).description, recipient: publicKey)
        try database.write { db in
            try db.execute(sql: "UPDATE mailbox SET totp_secret = ? WHERE id = ?", arguments: [sealed, id])
        }
    }

    /// The mailbox's TOTP secret, or nil when it signs in with its password alone.
    public func secondFactorSecret(mailbox: MailboxID) throws -> String? {
        let sealed = try database.read { db in
            try Data?.fetchOne(db, sql: "SELECT totp_secret FROM mailbox WHERE id = ?", arguments: [mailbox.rawValue])
        }
        guard let sealed, let sealed else { return nil }
        let opened = try SealedFileReader(sealed: sealed, key: try ownerKey(mailbox)).readAll()
        return String(decoding: opened, as: UTF8.self)
    }
}
