import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase

/// The web inbox's second factor (docs/WEB.md): a mailbox's TOTP secret (RFC 6238), sealed to
/// the mailbox's own key like its messages, so a stolen database does not hand out codes.
extension MessageStore {
    /// Sets (or, with nil, removes) the mailbox's TOTP secret.
    public func setSecondFactorSecret(mailbox: MailboxID, _ secret: String?) throws {
        guard let secret else {
            try database.write { db in
                let changed = try db.execute(
                    "UPDATE mailbox SET totp_secret = NULL WHERE id = ?", sqlValues(mailbox.rawValue))
                if changed == 0 { throw DirectoryError.unknownMailbox(mailbox.rawValue) }
            }
            return
        }
        let found = try database.read { db in
            try db.one("SELECT id, public_key FROM mailbox WHERE id = ?", sqlValues(mailbox.rawValue))
        }
        guard let found, let publicKey = try found.optional("public_key", as: Data.self) else {
            throw DirectoryError.unknownMailbox(mailbox.rawValue)
        }
        let id: String = try found.get("id")
        let sealed = try SealedFile.seal(
            Data(secret.utf8), owner: KeyOwner.mailbox(id).description, recipient: publicKey)
        try database.write { db in
            try db.execute("UPDATE mailbox SET totp_secret = ? WHERE id = ?", sqlValues(sealed, id))
        }
    }

    /// The mailbox's TOTP secret, or nil when it signs in with its password alone.
    public func secondFactorSecret(mailbox: MailboxID) throws -> String? {
        let sealed = try database.read { db in
            try db.scalar(Data.self, "SELECT totp_secret FROM mailbox WHERE id = ?", sqlValues(mailbox.rawValue))
        }
        guard let sealed else { return nil }
        let opened = try SealedFileReader(sealed: sealed, key: try ownerKey(mailbox)).readAll()
        return String(decoding: opened, as: UTF8.self)
    }
}
