import Foundation
import GRDB
import Logging
import MailvoxConfig
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxPipeline
import MailvoxQueue
import MailvoxStore

/// What a command works with once its needs are met: the config, the database with every
/// module's migrations applied, the directory and — for commands that need it — the master key.
public struct Context: Sendable {
    public let config: MailvoxCore.Configuration
    public let database: DatabasePool
    public let directory: Directory
    /// Nil for commands that need no secret (`deposit`).
    public let masterKey: MasterKey?

    /// Every module's migrations, in the one fixed order they run.
    public static let migrations: [MigrationSet] = [StoreMigrations.set, QueueMigrations.set]

    public enum Needs: Sendable {
        /// Config, database and node public key (`deposit`).
        case noSecret
        /// Config, database and master key (everything else).
        case masterKey
    }

    /// Loads the config at `configPath`, opens the database, and the master key if `needs` says so.
    public static func open(configPath: String, needs: Needs) throws -> Context {
        let config = try ConfigLoader.load(path: configPath)
        try requireEmbedded(config)
        var candidates: [(path: String, key: MasterKey)] = []
        if needs == .masterKey {
            // Between the two renames of a rotation only `.new` exists; `candidates` checks it.
            if FileManager.default.fileExists(atPath: config.crypto.masterKeyFile) {
                try KeyFiles.check(config.crypto.masterKeyFile, key: "crypto.master_key_file", config: config)
            }
            candidates = try MasterKey.candidates(at: config.crypto.masterKeyFile)
        }
        let database = try MailvoxDatabase.open(path: config.databasePath, migrations: migrations)
        let directory = Directory(database: database)
        var masterKey: MasterKey?
        if let current = candidates.first?.key {
            masterKey = try choose(from: candidates.map(\.key), wrapping: directory.masterKeyIDs(), default: current)
        }
        return Context(config: config, database: database, directory: directory, masterKey: masterKey)
    }

    /// Refuses the scale-out backends until they carry the whole store (docs/SCALE-OUT.md: the
    /// PostgreSQL driver, the job queue on it and the S3 blob store exist; the message store,
    /// directory and change feed on them do not yet). A clear refusal, not a half-working node.
    static func requireEmbedded(_ config: MailvoxCore.Configuration) throws {
        if config.storage.backend != .embedded {
            throw ConfigError(
                source: config.file, key: "storage.backend",
                message:
                    "\"\(config.storage.backend.rawValue)\" cannot run the store yet (docs/SCALE-OUT.md); use \"embedded\""
            )
        }
        if config.blobs.backend != .filesystem {
            throw ConfigError(
                source: config.file, key: "blobs.backend",
                message:
                    "\"\(config.blobs.backend.rawValue)\" cannot hold the spool yet (docs/SCALE-OUT.md); use \"filesystem\""
            )
        }
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
    public func makeMessageStore() -> MessageStore {
        MessageStore(database: database, spoolDir: config.spoolDir, masterKey: requireMasterKey())
    }

    public func jobQueue() -> JobQueue { JobQueue(database: database, policy: RetryPolicy(config.queue)) }

    /// The front doors' shared intake; needs no secret.
    public func intake() -> Intake { Intake(config: config, directory: directory, queue: jobQueue()) }

    /// The email door's path into `intake()` (SMTP, LMTP and `mailvox sendmail`).
    public func mailGateway(logger: Logger) -> MailGateway {
        MailGateway(config: config, directory: directory, intake: intake(), logger: logger)
    }

    /// The master key, for commands opened with `.masterKey`.
    public func requireMasterKey() -> MasterKey {
        guard let masterKey else { preconditionFailure("command opened without the master key") }
        return masterKey
    }
}
