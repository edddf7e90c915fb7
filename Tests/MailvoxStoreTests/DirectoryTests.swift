import Foundation
import GRDB
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxPostgres
import MailvoxStore
import MailvoxTestSupport
import Testing

/// Where a store test's tables live: the SQLite file, or a database of its own on the test
/// process's PostgreSQL server (`PostgresServer.shared`). The spool is a temp dir on both;
/// `objects` is PostgreSQL with the messages as objects of a new bucket on the shared
/// SeaweedFS (`[blobs] backend = "s3"`).
enum Backend: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres, objects
    var testDescription: String { rawValue }

    /// The backends with a Maildir spool, for tests about its files.
    static let maildir: [Backend] = [.sqlite, .postgres]
}

/// A fresh database with the directory's migrations and a master key, in a temp dir (SQLite,
/// whose file is there too) or in a new database of the shared PostgreSQL server.
struct DirectoryFixture {
    let backend: Backend
    /// The temp dir's database file; on PostgreSQL a path in the temp dir that does not exist.
    let path: String
    /// The SQLite pool; only SQLite-only tests use it.
    let pool: DatabasePool?
    /// The database on the seam, whatever the backend.
    let sql: any SQLDatabase
    let directory: Directory
    let master = MasterKey.generate()

    var database: DatabasePool {
        guard let pool else { preconditionFailure("a SQLite-only test ran on \(backend)") }
        return pool
    }

    init(_ backend: Backend = .sqlite) throws {
        self.backend = backend
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-store-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        path = folder + "/mailvox.sqlite"
        switch backend {
        case .sqlite:
            let pool = try MailvoxDatabase.open(path: path, migrations: [StoreMigrations.set], create: true)
            self.pool = pool
            sql = GRDBDatabase(pool)
        case .postgres, .objects:
            let server = try PostgresServer.shared
            let postgres = try PostgresDatabase(
                settings: PostgresSettings(url: server.url(database: try server.createDatabase()), poolSize: 6))
            try PostgresMigrator.migrate(postgres, sets: [StoreMigrations.postgres])
            pool = nil
            sql = postgres
        }
        // Cheap scrypt parameters: these tests are about the directory, not about hashing cost.
        directory = Directory(database: sql, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
    }

    /// The first column of the first row of `sql`, as text (SQLite only).
    func scalar(_ sql: String) throws -> String? {
        try database.read { db in try String.fetchOne(db, sql: sql) }
    }

    /// The first column of the first row of `query`, read through the seam on either backend.
    func value<T: SQLValueConvertible>(_ query: String, as type: T.Type = T.self) throws -> T? {
        try sql.read { db in try db.one(query).flatMap { row in try row.optional(row.columns[0], as: type) } }
    }

    @discardableResult
    func add(
        _ id: String, name: String = "Grace Hopper", emails: [String] = [], password: String = "correct-horse"
    )
        throws -> Mailbox
    {
        try directory.addMailbox(
            id: MailboxID(id)!, settings: MailboxSettings(name: name, emails: emails.map { EmailAddress($0)! }),
            password: password, master: master)
    }
}

@Suite struct DatabaseTests {
    @Test func migratesAnEmptyDatabaseWithDurableSettings() throws {
        let fixture = try DirectoryFixture()
        #expect(
            try MailvoxDatabase.appliedMigrations(fixture.database) == [
                "store.1-directory", "store.2-messages", "store.3-recent", "store.4-uid-validity", "store.5-aliases",
                "store.6-subscriptions", "store.7-quota", "store.8-backups", "store.9-recoverable",
                "store.10-departments", "store.11-web", "store.12-shared-logins", "store.13-message-meta",
            ])
        #expect(try fixture.scalar("PRAGMA journal_mode") == "wal")
        // The writer's setting is the one that counts (GRDB's WAL set-up lowers it to NORMAL).
        let writerSynchronous = try fixture.database.writeWithoutTransaction { db in
            try Int.fetchOne(db, sql: "PRAGMA synchronous")
        }
        #expect(writerSynchronous == 2)  // FULL: the WAL is synced at every commit
        #expect(try fixture.scalar("PRAGMA foreign_keys") == "1")
        var info = stat()
        stat(fixture.path, &info)
        #expect(info.st_mode & 0o077 == 0, "the database file must be private to its owner")
    }

    @Test func reopeningRunsNothingTwice() throws {
        let fixture = try DirectoryFixture()
        try fixture.add("1000")
        let again = try MailvoxDatabase.open(path: fixture.path, migrations: [StoreMigrations.set])
        #expect(
            try MailvoxDatabase.appliedMigrations(again) == [
                "store.1-directory", "store.2-messages", "store.3-recent", "store.4-uid-validity", "store.5-aliases",
                "store.6-subscriptions", "store.7-quota", "store.8-backups", "store.9-recoverable",
                "store.10-departments", "store.11-web", "store.12-shared-logins", "store.13-message-meta",
            ])
        #expect(try Directory(database: again).mailboxes().map(\.id.rawValue) == ["1000"])
    }

    @Test func refusesToCreateWhenNotAsked() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID()).sqlite").path
        #expect(throws: DatabaseOpenError.self) { try MailvoxDatabase.open(path: missing, migrations: []) }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func migrationSetsRunInTheOrderGiven() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-order-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let later = MigrationSet(
            module: "later",
            migrations: [
                ("1-uses-mailbox", { db in try db.execute(sql: "CREATE TABLE t (m TEXT REFERENCES mailbox(id))") })
            ])
        let pool = try MailvoxDatabase.open(
            path: folder + "/db.sqlite", migrations: [StoreMigrations.set, later], create: true)
        #expect(
            try MailvoxDatabase.appliedMigrations(pool) == [
                "store.1-directory", "store.2-messages", "store.3-recent", "store.4-uid-validity", "store.5-aliases",
                "store.6-subscriptions", "store.7-quota", "store.8-backups", "store.9-recoverable",
                "store.10-departments", "store.11-web", "store.12-shared-logins", "store.13-message-meta",
                "later.1-uses-mailbox",
            ])
    }
}

@Suite struct DirectoryTests {
    @Test(arguments: Backend.allCases) func addsAMailboxWithKeysAndTheFourFolders(_ backend: Backend) throws {
        let fixture = try DirectoryFixture(backend)
        let mailbox = try fixture.add("2000", emails: ["grace@example.com"])
        #expect(mailbox.attachAudio)
        #expect(!mailbox.deleteAfterEmail)
        #expect(try fixture.directory.mailbox(MailboxID("2000")!) == mailbox)
        let folders = try fixture.directory.folders(of: MailboxID("2000")!)
        #expect(folders.map(\.name) == ["INBOX", "Saved", "Trash", "Greetings", "Recently Deleted"])
        #expect(folders.map(\.specialUse) == [nil, "\\Archive", "\\Trash", nil, nil])
        #expect(Set(folders.map(\.uidValidity)).count == 5, "every folder has its own UIDVALIDITY")
        let row = try #require(try fixture.sql.read { db in try db.one("SELECT * FROM mailbox WHERE id = '2000'") })
        let wrapped = WrappedPrivateKey(
            masterKeyID: try row.get("master_key_id"), sealed: try row.get("wrapped_private_key"))
        let privateKey = try KeyPairs.unwrap(wrapped, for: .mailbox("2000"), under: fixture.master)
        #expect(privateKey.publicKey.rawRepresentation == (try row.get("public_key") as Data))
        let hash: String = try row.get("password_hash")
        #expect(!hash.contains("correct-horse"))
    }

    @Test(arguments: Backend.allCases) func idsAreUniqueWhateverTheirCase(_ backend: Backend) throws {
        let fixture = try DirectoryFixture(backend)
        try fixture.add("sales")
        #expect(throws: DirectoryError.duplicateMailbox("Sales")) { try fixture.add("Sales") }
        #expect(try fixture.directory.mailbox(MailboxID("SALES")!)?.id.rawValue == "sales")
    }

    @Test(arguments: Backend.allCases) func passwordsVerify(_ backend: Backend) throws {
        let fixture = try DirectoryFixture(backend)
        try fixture.add("1000", password: "first-password")
        let id = MailboxID("1000")!
        #expect(try fixture.directory.verifyPassword(id, password: "first-password"))
        #expect(try !fixture.directory.verifyPassword(id, password: "second-password"))
        try fixture.directory.setPassword(id, password: "second-password")
        #expect(try !fixture.directory.verifyPassword(id, password: "first-password"))
        #expect(try fixture.directory.verifyPassword(id, password: "second-password"))
        #expect(try !fixture.directory.verifyPassword(MailboxID("9999")!, password: "second-password"))
        #expect(throws: DirectoryError.unknownMailbox("9999")) {
            try fixture.directory.setPassword(MailboxID("9999")!, password: "whatever-123")
        }
    }

    @Test(arguments: Backend.allCases) func badSettingsAreRefusedAndNothingIsWritten(_ backend: Backend) throws {
        let fixture = try DirectoryFixture(backend)
        let id = MailboxID("3000")!
        let cases: [(MailboxSettings, String)] = [
            (MailboxSettings(name: "  "), "--name"),
            (MailboxSettings(name: "A\u{7}B"), "--name"),
            (MailboxSettings(name: "X", timeZone: .some("Mars/Base")), "--timezone"),
            (MailboxSettings(name: "X", language: .some("german!")), "--language"),
            (MailboxSettings(name: "X", deleteAfterEmail: true), "--delete-after-email"),
            (
                MailboxSettings(name: "X", emails: [EmailAddress("a@example.com")!, EmailAddress("a@example.com")!]),
                "--email"
            ),
        ]
        for (settings, field) in cases {
            do {
                try fixture.directory.addMailbox(
                    id: id, settings: settings, password: "long-enough", master: fixture.master)
                Issue.record("accepted \(settings)")
            } catch let error as DirectoryError {
                guard case .invalid(let named, _) = error else {
                    Issue.record("unexpected \(error)")
                    continue
                }
                #expect(named == field)
            }
        }
        #expect(throws: DirectoryError.invalid(field: "password", reason: "must be at least 8 characters")) {
            try fixture.directory.addMailbox(
                id: id, settings: MailboxSettings(name: "X"), password: "short", master: fixture.master)
        }
        #expect(try fixture.directory.mailboxes().isEmpty)
        #expect(try fixture.value("SELECT COUNT(*) FROM folder", as: Int.self) == 0)
    }

    @Test(arguments: Backend.allCases) func updateChangesOnlyWhatIsGiven(_ backend: Backend) throws {
        let fixture = try DirectoryFixture(backend)
        let id = MailboxID("1000")!
        try fixture.add("1000", name: "Front Desk", emails: ["desk@example.com"])
        var updated = try fixture.directory.updateMailbox(
            id,
            settings: MailboxSettings(
                smsNumbers: [PhoneNumber("+4930123456")!], timeZone: .some("Europe/Berlin"), language: .some("de-CH"),
                attachAudio: false, deleteAfterEmail: true))
        #expect(updated.name == "Front Desk")
        #expect(updated.emails.map(\.rawValue) == ["desk@example.com"])
        #expect(updated.smsNumbers.map(\.rawValue) == ["+4930123456"])
        #expect(updated.timeZone == "Europe/Berlin")
        #expect(updated.language == "de-CH")
        #expect(!updated.attachAudio)
        #expect(updated.deleteAfterEmail)
        // Clearing the only address while delete-after-email is on would lose voicemails unseen.
        #expect(throws: DirectoryError.self) {
            try fixture.directory.updateMailbox(id, settings: MailboxSettings(emails: []))
        }
        updated = try fixture.directory.updateMailbox(
            id, settings: MailboxSettings(timeZone: .some(nil), language: .some(nil), deleteAfterEmail: false))
        #expect(updated.timeZone == nil)
        #expect(updated.language == nil)
        #expect(try fixture.directory.requireMailbox(id) == updated)
    }

    @Test(arguments: Backend.allCases) func removeTakesTheFoldersAlong(_ backend: Backend) throws {
        let fixture = try DirectoryFixture(backend)
        try fixture.add("1000")
        try fixture.add("2000")
        try fixture.directory.removeMailbox(MailboxID("1000")!)
        #expect(try fixture.directory.mailboxes().map(\.id.rawValue) == ["2000"])
        #expect(try fixture.value("SELECT COUNT(*) FROM folder WHERE mailbox_id = '1000'", as: Int.self) == 0)
        #expect(try fixture.value("SELECT COUNT(*) FROM folder WHERE mailbox_id = '2000'", as: Int.self) == 5)
        #expect(throws: DirectoryError.unknownMailbox("1000")) {
            try fixture.directory.removeMailbox(MailboxID("1000")!)
        }
    }

    @Test(arguments: Backend.allCases) func nodeKeyIsMadeOnce(_ backend: Backend) throws {
        let fixture = try DirectoryFixture(backend)
        #expect(throws: DirectoryError.nodeKeyMissing) { try fixture.directory.nodePublicKey() }
        try fixture.directory.createNodeKey(master: fixture.master)
        #expect(try fixture.directory.nodePublicKey().count == 32)
        #expect(throws: DirectoryError.nodeKeyExists) { try fixture.directory.createNodeKey(master: fixture.master) }
        #expect(try fixture.directory.masterKeyIDs() == [fixture.master.id])
    }
}

@Suite struct APITokenTests {
    @Test func aTokenAuthenticatesUntilRevokedAndIsNeverStored() throws {
        let fixture = try DirectoryFixture()
        let token = try fixture.directory.createToken(name: "pbx1")
        #expect(token.hasPrefix("mvx_"))
        #expect(token.count >= 40)
        #expect(try fixture.directory.authenticateToken(token) == "pbx1")
        #expect(try fixture.directory.authenticateToken(token + "x") == nil)
        #expect(try fixture.directory.tokens().first?.lastUsedAt != nil)
        let raw =
            try Data(contentsOf: URL(fileURLWithPath: fixture.path))
            + ((try? Data(contentsOf: URL(fileURLWithPath: fixture.path + "-wal"))) ?? Data())
        #expect(raw.range(of: Data(token.utf8)) == nil, "the token itself must not be on disk")
        try fixture.directory.revokeToken(name: "pbx1")
        #expect(try fixture.directory.authenticateToken(token) == nil)
        #expect(throws: DirectoryError.unknownToken("pbx1")) { try fixture.directory.revokeToken(name: "pbx1") }
    }

    /// Last use is written at most once a minute: a PBX's every request is not a write.
    @Test(arguments: Backend.allCases) func lastUseIsRecordedToTheMinute(_ backend: Backend) throws {
        let fixture = try DirectoryFixture(backend)
        let token = try fixture.directory.createToken(name: "pbx1")
        let long = Date().addingTimeInterval(-3600)
        let recent = Date().addingTimeInterval(-10)
        for (stored, moves) in [(long, true), (recent, false)] {
            try fixture.sql.write { db in
                try db.execute(
                    "UPDATE api_token SET last_used_at = ? WHERE name = 'pbx1'",
                    [Date(timeIntervalSince1970: stored.timeIntervalSince1970.rounded(.down)).sqlValue])
            }
            #expect(try fixture.directory.authenticateToken(token) == "pbx1")
            let used = try #require(try fixture.directory.tokens().first?.lastUsedAt)
            #expect(
                moves ? used.timeIntervalSinceNow > -5 : abs(used.timeIntervalSince(stored)) < 1,
                "stored \(stored), now \(used)")
        }
    }

    @Test(arguments: Backend.allCases) func namesAreUniqueAndPlain(_ backend: Backend) throws {
        let fixture = try DirectoryFixture(backend)
        _ = try fixture.directory.createToken(name: "pbx1")
        #expect(throws: DirectoryError.duplicateToken("pbx1")) { try fixture.directory.createToken(name: "pbx1") }
        #expect(throws: DirectoryError.self) { try fixture.directory.createToken(name: "bad name") }
        #expect(throws: DirectoryError.self) { try fixture.directory.createToken(name: "") }
        #expect(try fixture.directory.tokens().map(\.name) == ["pbx1"])
    }
}
