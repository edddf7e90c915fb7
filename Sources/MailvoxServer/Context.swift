import Foundation
import GRDB
import Logging
import MailvoxConfig
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxObjects
import MailvoxPipeline
import MailvoxPostgres
import MailvoxQueue
import MailvoxStore

/// What a command works with once its needs are met: the config, the database with every
/// module's migrations applied (the SQLite file, or PostgreSQL with `[storage] backend =
/// "postgres"`), the bucket with `[blobs] backend = "s3"`, the directory and — for commands
/// that need it — the master key.
public struct Context: Sendable {
    public let config: MailvoxCore.Configuration
    /// The database on the SQL seam, whichever it is.
    public let sql: any SQLDatabase
    /// The SQLite pool of an embedded installation; nil on PostgreSQL (`requireSQLiteFile`).
    public let pool: DatabasePool?
    /// Where messages and the queue's sealed files live when they are not files of the data dir.
    public let bucket: BlockingBlobs?
    public let directory: Directory
    /// Nil for commands that need no secret (`deposit`).
    public let masterKey: MasterKey?

    /// Every module's migrations, in the one fixed order they run.
    public static let migrations: [MigrationSet] = [StoreMigrations.set, QueueMigrations.set]
    /// The same on PostgreSQL.
    public static let postgresMigrations: [PostgresMigrationSet] = [StoreMigrations.postgres, QueueMigrations.postgres]

    public enum Needs: Sendable {
        /// Config, database and node public key (`deposit`).
        case noSecret
        /// Config, database and master key (everything else).
        case masterKey
    }

    /// Loads the config at `configPath`, opens the database, and the master key if `needs` says so.
    public static func open(configPath: String, needs: Needs) throws -> Context {
        let config = try ConfigLoader.load(path: configPath)
        var candidates: [(path: String, key: MasterKey)] = []
        if needs == .masterKey {
            // Between the two renames of a rotation only `.new` exists; `candidates` checks it.
            if FileManager.default.fileExists(atPath: config.crypto.masterKeyFile) {
                try KeyFiles.check(config.crypto.masterKeyFile, key: "crypto.master_key_file", config: config)
            }
            candidates = try MasterKey.candidates(at: config.crypto.masterKeyFile)
        }
        let sql: any SQLDatabase
        var pool: DatabasePool?
        switch config.storage.backend {
        case .embedded:
            let database = try MailvoxDatabase.open(path: config.databasePath, migrations: migrations)
            (sql, pool) = (GRDBDatabase(database), database)
        case .postgres:
            let database = try PostgresDatabase(settings: try Backends.postgresSettings(config))
            _ = try PostgresMigrator.migrate(database, sets: postgresMigrations)
            sql = database
        }
        let bucket: BlockingBlobs? =
            switch config.blobs.backend {
            case .filesystem: nil
            case .s3: BlockingBlobs(try S3BlobStore(settings: try Backends.s3Settings(config)))
            }
        let directory = Directory(database: sql)
        var masterKey: MasterKey?
        if let current = candidates.first?.key {
            // A shared database gets its node key from the first node that opens it with the
            // master key; every other node (same key file) uses that one.
            if config.storage.backend == .postgres, try !directory.hasNodeKey() {
                do {
                    try directory.createNodeKey(master: current)
                } catch {
                    guard try directory.hasNodeKey() else { throw error }
                }
            }
            masterKey = try choose(from: candidates.map(\.key), wrapping: directory.masterKeyIDs(), default: current)
        }
        return Context(
            config: config, sql: sql, pool: pool, bucket: bucket, directory: directory, masterKey: masterKey)
    }

    /// The SQLite pool, for the commands that work on the embedded installation's files
    /// (`backup`); on PostgreSQL a clear refusal (the database server has its own backups).
    public func requireSQLiteFile(for command: String) throws -> DatabasePool {
        guard let pool, bucket == nil else {
            throw ConfigError(
                source: config.file, key: pool == nil ? "storage.backend" : "blobs.backend",
                message:
                    "`mailvox \(command)` works on an embedded installation's files; back up PostgreSQL and the "
                    + "bucket with their own tools (docs/SCALE-OUT.md)")
        }
        return pool
    }

    /// The key the database's wrapped keys were made with: normally the key file itself, or
    /// the `.new`/`.old` file a `keys rotate` cut short left behind.
    static func choose(
        from keys: [MasterKey], wrapping ids: Set<String>, default current: MasterKey
    ) throws -> MasterKey {
        guard let id = ids.first else { return current }
        guard ids.count == 1 else {
            throw CryptoError.wrongMasterKey(expected: current.id, found: ids.sorted().joined(separator: "+"))
        }
        guard let key = keys.first(where: { $0.id == id }) else {
            throw CryptoError.wrongMasterKey(expected: current.id, found: id)
        }
        return key
    }

    /// A new message store over this data dir's spool (needs the master key to open messages).
    ///
    /// Each call makes another store with a change feed of its own: IDLE sessions hear only
    /// the deliveries of the store they were opened on. So a process makes one and passes it
    /// around — `serve` hands the same store to its workers, the IMAP sessions and the web.
    public func makeMessageStore(rememberingObjects: Int = 0) -> MessageStore {
        MessageStore(
            database: sql, spoolDir: config.spoolDir, objects: bucket, masterKey: requireMasterKey(),
            rememberingObjects: rememberingObjects)
    }

    public func jobQueue() -> JobQueue { JobQueue(database: sql, policy: RetryPolicy(config.queue)) }

    /// The sealed deposits and alert copies: `queue/` of the data dir, or of the bucket.
    public var queueFiles: QueueFiles { QueueFiles(queueDir: config.queueDir, bucket: bucket) }

    /// The front doors' shared intake; needs no secret. `accepted` hears each new deposit.
    /// `files` in place of `queueFiles` (`serve` shares one value that remembers its deposits).
    public func intake(files: QueueFiles? = nil, accepted: @escaping @Sendable () -> Void = {}) -> Intake {
        Intake(config: config, directory: directory, queue: jobQueue(), files: files ?? queueFiles, accepted: accepted)
    }

    /// The email door's path into `intake()` (SMTP, LMTP and `mailvox sendmail`).
    public func mailGateway(
        logger: Logger, files: QueueFiles? = nil, accepted: @escaping @Sendable () -> Void = {}
    ) -> MailGateway {
        MailGateway(
            config: config, directory: directory, intake: intake(files: files, accepted: accepted), logger: logger)
    }

    /// The master key, for commands opened with `.masterKey`.
    public func requireMasterKey() -> MasterKey {
        guard let masterKey else { preconditionFailure("command opened without the master key") }
        return masterKey
    }
}
