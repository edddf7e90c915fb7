import Foundation
import MailvoxCore
import MailvoxDatabase
import MailvoxStore
import Testing

/// A mailbox's TOTP secret (docs/WEB.md) on both backends: read back as set, sealed to the
/// mailbox's key in the row (a dump hands out no codes), removed with nil, and refused for a
/// mailbox that does not exist.
@Suite struct SecondFactorStoreTests {
    @Test(arguments: [Backend.sqlite, .postgres]) func theSecretIsSealedAndReadBack(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let (store, mailbox) = (fixture.store, fixture.mailbox)
        #expect(try store.secondFactorSecret(mailbox: mailbox) == nil)
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        try store.setSecondFactorSecret(mailbox: mailbox, secret)
        #expect(try store.secondFactorSecret(mailbox: MailboxID("1000")!) == secret)
        let stored: Data = try #require(
            try fixture.directoryFixture.sql.read { db in
                try db.one("SELECT totp_secret FROM mailbox WHERE id = '1000'")?.get("totp_secret")
            })
        #expect(stored.starts(with: Data("MVX1".utf8)))
        #expect(stored.range(of: Data(secret.utf8)) == nil, "the secret is in the clear")
        try store.setSecondFactorSecret(mailbox: mailbox, nil)
        #expect(try store.secondFactorSecret(mailbox: mailbox) == nil)
        #expect(throws: DirectoryError.unknownMailbox("9999")) {
            try store.setSecondFactorSecret(mailbox: MailboxID("9999")!, secret)
        }
        #expect(throws: DirectoryError.unknownMailbox("9999")) {
            try store.setSecondFactorSecret(mailbox: MailboxID("9999")!, nil)
        }
    }
}
