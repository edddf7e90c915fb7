import Foundation
import GRDB
import MailvoxCore

/// The migrations one module contributes to the shared database, in the order they must run.
///
/// Each module owns its tables. A released migration is never edited: a later change is a new
/// migration appended to the list, so every database reaches the same schema by one path.
public struct MigrationSet: Sendable {
    public let module: String
    public let migrations: [(name: String, apply: @Sendable (Database) throws -> Void)]

    public init(module: String, migrations: [(name: String, apply: @Sendable (Database) throws -> Void)]) {
        self.module = module
        self.migrations = migrations
    }
}

/// Failures opening or migrating the database.
public struct DatabaseOpenError: MailvoxFailure {
    public var path: String
    public var reason: String
    public var kind: FailureKind { .runtime }
    public var description: String { "\(path): \(reason)" }
}

/// Opens Mailvox's one SQLite file: directory, index and queue.
public enum MailvoxDatabase {
    /// Opens (creating if asked) the database at `path` and runs `migrations` in the order given.
    ///
    /// WAL lets readers run beside the writer; `synchronous=FULL` makes a committed write
    /// survive power loss, which is what "accepted" promises; foreign keys are enforced; a
    /// writer waits up to 5 s for another process (the CLI beside `serve`) instead of failing.
    public static func open(path: String, migrations: [MigrationSet], create: Bool = false) throws -> DatabasePool {
        if !create && !FileManager.default.fileExists(atPath: path) {
            throw DatabaseOpenError(
                path: path, reason: "no database here (run `mailvox init` first, or check server.data_dir)")
        }
        var configuration = GRDB.Configuration()
        configuration.busyMode = .timeout(5)
        configuration.foreignKeysEnabled = true
        // Create the file 0600 first: SQLite gives its -wal and -shm files the database file's
        // mode. (Changing the umask instead would race every other thread creating files.)
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DatabaseOpenError(path: path, reason: String(cString: strerror(errno))) }
        close(fd)
        let pool = try DatabasePool(path: path, configuration: configuration)
        // After the pool exists: GRDB's WAL set-up sets `synchronous = NORMAL` on the writer
        // once it has opened (so a `prepareDatabase` pragma is overwritten), and NORMAL does
        // not sync the WAL at commit — a power cut could lose what was acknowledged.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try migrator(for: migrations).migrate(pool)
        return pool
    }

    /// One migrator over every set, in order; migration ids are `module.name`.
    static func migrator(for sets: [MigrationSet]) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for set in sets {
            for migration in set.migrations {
                migrator.registerMigration("\(set.module).\(migration.name)", migrate: migration.apply)
            }
        }
        return migrator
    }

    /// The ids of the migrations applied to `db`, oldest first.
    public static func appliedMigrations(_ reader: some DatabaseReader) throws -> [String] {
        try reader.read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
        }
    }
}
