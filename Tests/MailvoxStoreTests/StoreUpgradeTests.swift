import Foundation
import MailvoxCore
import MailvoxDatabase
import MailvoxPostgres
import MailvoxStore
import MailvoxTestSupport
import Testing

/// Upgrades of an installation that holds messages: what a migration moves must read back.
@Suite struct StoreUpgradeTests {
    /// `store.13-message-meta` (SQLite) and `store.3-message-meta` (PostgreSQL) move each
    /// message's sealed metadata out of `message` into `message_meta`. A database as the
    /// migration before left it — the metadata in `message.meta` — upgrades with every
    /// message's ENVELOPE and header block intact, and `message` keeps no copy.
    @Test(arguments: [Backend.sqlite, .postgres]) func metadataMovesIntoItsOwnTable(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let subjects = ["First call", "Second call"]
        for (index, subject) in subjects.enumerated() {
            try fixture.store.deliver(
                mailbox: fixture.mailbox, depositID: "d-\(index)", message: StoreFixture.message(subject: subject))
        }
        let sql = fixture.directoryFixture.sql
        // Back to the shape before the migration, values and all.
        let (migration, bookkeeping) =
            backend == .sqlite
            ? ("store.13-message-meta", "DELETE FROM grdb_migrations WHERE identifier = ?")
            : ("store.3-message-meta", "DELETE FROM mailvox_migration WHERE id = ?")
        try sql.write { db in
            try db.execute("ALTER TABLE message ADD COLUMN meta \(backend == .sqlite ? "BLOB" : "BYTEA")", [])
            try db.execute(
                "UPDATE message SET meta = (SELECT meta FROM message_meta WHERE message_meta.message_id = message.id)",
                [])
            try db.execute("DROP TABLE message_meta", [])
            try db.execute(bookkeeping, [.text(migration)])
        }

        switch backend {
        case .sqlite:
            _ = try MailvoxDatabase.open(path: fixture.directoryFixture.path, migrations: [StoreMigrations.set])
        default:
            try PostgresMigrator.migrate(try #require(sql as? PostgresDatabase), sets: [StoreMigrations.postgres])
        }
        let store = MessageStore(
            database: sql, spoolDir: fixture.root + "/spool", masterKey: fixture.directoryFixture.master)
        for (index, subject) in subjects.enumerated() {
            let uid = UInt32(index + 1)
            let metadata = try store.metadata(mailbox: fixture.mailbox, folder: "INBOX", uid: uid)
            #expect(metadata.headers.contains("Subject: \(subject)\r\n"))
            let structure = try store.structure(mailbox: fixture.mailbox, folder: "INBOX", uid: uid)
            #expect(structure.envelope.subject == subject)
        }
        let columns = try sql.read { db in
            try db.rows("SELECT * FROM message", []).first?.columns ?? []
        }
        #expect(!columns.isEmpty && !columns.contains("meta"), "\(columns)")
        // A copy after the upgrade takes its metadata along.
        try store.copy(mailbox: fixture.mailbox, from: "INBOX", uids: [2], to: "Saved")
        #expect(try store.metadata(mailbox: fixture.mailbox, folder: "Saved", uid: 1).headers.contains("Second call"))
    }
}
