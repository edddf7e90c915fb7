import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxStore
import Testing

/// The per-mailbox audit log (#16): entries read back as recorded, nothing of them but the time
/// is in the clear, `since` and the purge go by that time, a hold keeps everything, and only
/// the master key the mailbox's key is wrapped under opens them. On SQLite and on PostgreSQL.
@Suite struct AuditLogTests {
    static let backends: [Backend] = [.sqlite, .postgres]

    static let start = Date(timeIntervalSince1970: 1_800_000_000.25)

    static func entry(
        _ action: String, at offset: TimeInterval, folder: String? = "INBOX", detail: String? = nil
    )
        -> AuditEntry
    {
        AuditEntry(
            at: start + offset, actor: "2000", address: "192.0.2.7", action: action, folder: folder, detail: detail)
    }

    @Test(arguments: Self.backends) func recordedEntriesReadBackInOrder(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let (store, mailbox) = (fixture.store, fixture.mailbox)
        let entries = [
            Self.entry("login", at: 0, folder: nil),
            Self.entry("open", at: 1),
            Self.entry("flags", at: 1.5, detail: "+\\Seen 3,4"),
            Self.entry("move", at: 60, detail: "to Saved 3"),
        ]
        for entry in entries { try store.recordAudit(mailbox: mailbox, entry) }
        #expect(try store.auditEntries(mailbox: mailbox, since: nil) == entries)
        #expect(throws: DirectoryError.unknownMailbox("9999")) {
            try store.recordAudit(mailbox: MailboxID("9999")!, Self.entry("login", at: 0))
        }
        #expect(throws: DirectoryError.unknownMailbox("9999")) {
            try store.auditEntries(mailbox: MailboxID("9999")!, since: nil)
        }
    }

    /// Ids are unique regardless of case: the log is the mailbox's however its id is typed, and
    /// its entries are sealed for the id as created (the owner its key was wrapped for).
    @Test(arguments: Self.backends) func theIdInAnotherCaseFindsTheSameLog(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let store = fixture.store
        try fixture.directoryFixture.add("Sales")
        try store.recordAudit(mailbox: MailboxID("SALES")!, Self.entry("open", at: 0))
        #expect(try store.auditEntries(mailbox: MailboxID("sales")!, since: nil) == [Self.entry("open", at: 0)])
    }

    /// Only `at` is in the clear: the sealed blob names neither who, nor where from, nor the
    /// folder, nor what was done.
    @Test(arguments: Self.backends) func nothingButTheTimeIsInTheClear(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let (store, mailbox) = (fixture.store, fixture.mailbox)
        let entry = AuditEntry(
            at: Self.start, actor: "member-2000", address: "198.51.100.23", action: "expunge", folder: "Orders-2026",
            detail: "uids 17,18")
        try store.recordAudit(mailbox: mailbox, entry)
        let row = try #require(
            try fixture.directoryFixture.sql.read { db in try db.one("SELECT mailbox_id, at, entry FROM audit") })
        #expect(try row.get("mailbox_id", as: String.self) == "1000")
        #expect(try row.get("at", as: Int64.self) == 1_800_000_000)
        let blob: Data = try row.get("entry")
        #expect(blob.starts(with: Data("MVX1".utf8)))
        for text in ["member-2000", "198.51.100.23", "expunge", "Orders-2026", "uids 17,18", "actor", "address"] {
            #expect(blob.range(of: Data(text.utf8)) == nil, "\(text) is in the clear")
        }
        // Not in the database file either (WAL included), where a free page might keep it.
        for file in fixture.files() where file.contains("mailvox.sqlite") {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(bytes.range(of: Data("198.51.100.23".utf8)) == nil, "\(file)")
        }
    }

    @Test(arguments: Self.backends) func sinceFiltersByTime(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let (store, mailbox) = (fixture.store, fixture.mailbox)
        for offset in [0.0, 0.5, 10, 3600] { try store.recordAudit(mailbox: mailbox, Self.entry("open", at: offset)) }
        #expect(
            try store.auditEntries(mailbox: mailbox, since: Self.start + 10).map(\.at)
                == [10, 3600].map { Self.start + $0 })
        // Within the second the column holds, the entry's own time decides.
        #expect(
            try store.auditEntries(mailbox: mailbox, since: Self.start + 0.1).map(\.at)
                == [0.5, 10, 3600].map { Self.start + $0 })
        #expect(try store.auditEntries(mailbox: mailbox, since: Self.start + 7200).isEmpty)
    }

    @Test(arguments: Self.backends) func purgeRemovesOldEntriesOnlyAndNeverTouchesAHeldMailbox(
        _ backend: Backend
    ) throws {
        let fixture = try StoreFixture(backend)
        let (store, mailbox) = (fixture.store, fixture.mailbox)
        try fixture.directoryFixture.add("2100")
        let other = MailboxID("2100")!
        for offset: TimeInterval in [0, 86_400, 2 * 86_400] {
            try store.recordAudit(mailbox: mailbox, Self.entry("open", at: offset))
            try store.recordAudit(mailbox: other, Self.entry("open", at: offset))
        }
        #expect(try store.purgeAudit(before: Self.start + 86_400) == 2)
        #expect(
            try store.auditEntries(mailbox: mailbox, since: nil).map(\.at) == [
                Self.start + 86_400, Self.start + 2 * 86_400,
            ])
        #expect(try store.auditEntries(mailbox: other, since: nil).count == 2)

        _ = try fixture.directoryFixture.directory.setHold(other, on: true, reason: "dispute")
        #expect(try store.purgeAudit(before: Self.start + 3 * 86_400) == 2)
        #expect(try store.auditEntries(mailbox: mailbox, since: nil).isEmpty)
        #expect(try store.auditEntries(mailbox: other, since: nil).count == 2)
    }

    @Test(arguments: Self.backends) func aForeignMasterKeyCannotRead(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let (store, mailbox) = (fixture.store, fixture.mailbox)
        try store.recordAudit(mailbox: mailbox, Self.entry("login", at: 0, folder: nil))
        let foreign = MessageStore(
            database: fixture.directoryFixture.sql, spoolDir: fixture.root + "/spool", masterKey: MasterKey.generate())
        #expect(throws: CryptoError.self) { try foreign.auditEntries(mailbox: mailbox, since: nil) }
        // Writing needs only the public key: a store without the right master key still records.
        try foreign.recordAudit(mailbox: mailbox, Self.entry("open", at: 1))
        #expect(try store.auditEntries(mailbox: mailbox, since: nil).map(\.action) == ["login", "open"])
    }

    /// Entries go with their mailbox when it is purged.
    @Test(arguments: Self.backends) func aPurgedMailboxTakesItsLog(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let store = fixture.store
        try fixture.directoryFixture.add("2100")
        try store.recordAudit(mailbox: MailboxID("2100")!, Self.entry("open", at: 0))
        try fixture.directoryFixture.directory.removeMailbox(MailboxID("2100")!)
        #expect(
            try fixture.directoryFixture.sql.read { db in
                try db.one("SELECT COUNT(*) AS n FROM audit")?.get("n", as: Int64.self)
            }
                == 0)
    }
}
