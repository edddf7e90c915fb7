import Foundation
import MailvoxConfig
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxPipeline
import MailvoxStore
import Synchronization

/// `mailvox migrate --from CONFIG --to CONFIG`: copies an installation from one set of
/// backends to another — the embedded SQLite file and spool into PostgreSQL and a bucket, or
/// back (docs/SCALE-OUT.md, "Moving between backends").
///
/// What moves is what the database and the blob store hold: every directory, index, queue and
/// record row, each message's sealed file, each pending deposit and alert copy. Sealed bytes
/// are copied as they are (MVX1 stays MVX1, under the same master key), so nothing is decrypted
/// on the way. A sealed file is written before the row that names it, as everywhere else.
///
/// A run cut short is run again: rows already in the target are skipped (`ON CONFLICT DO
/// NOTHING`), files are written only for rows not yet copied, and queue files only when
/// missing. The verify pass then compares every row and every file with the source.
public struct Migrator: Sendable {
    public let source: Context
    public let target: Context
    /// The target's master key: the source's, checked when the migrator was opened.
    private let masterKey: MasterKey

    /// A table to copy, its key, and the progress phase it is counted in.
    struct Step {
        var transfer: TableTransfer
        var phase: String
        /// Whether the table's `id` comes from a counter that must not give an id again.
        var counted = false
    }

    /// Every table, parents before children. Not copied: `node_key` and `uid_validity_issued`
    /// (merged, below), `tombstone` (files to delete on the source), `backup` (the source
    /// machine's backup history), the migration bookkeeping.
    static let steps: [Step] = [
        Step(transfer: TableTransfer(table: "mailbox", key: ["id"]), phase: "directory"),
        Step(transfer: TableTransfer(table: "mailbox_alias", key: ["address"]), phase: "directory"),
        Step(transfer: TableTransfer(table: "member", key: ["mailbox_id", "member_id"]), phase: "directory"),
        Step(transfer: TableTransfer(table: "subscription", key: ["mailbox_id", "name"]), phase: "directory"),
        Step(transfer: TableTransfer(table: "api_token", key: ["name"]), phase: "directory"),
        Step(transfer: TableTransfer(table: "personal_token", key: ["mailbox_id", "name"]), phase: "directory"),
        Step(transfer: TableTransfer(table: "folder", key: ["id"]), phase: "directory", counted: true),
        Step(transfer: TableTransfer(table: "message", key: ["id"], batchSize: 100), phase: "messages", counted: true),
        Step(transfer: TableTransfer(table: "message_meta", key: ["message_id"], batchSize: 100), phase: "messages"),
        Step(transfer: TableTransfer(table: "deletion", key: ["message_id"]), phase: "records"),
        Step(transfer: TableTransfer(table: "expunged", key: ["folder_id", "uid"]), phase: "records"),
        Step(transfer: TableTransfer(table: "audit", key: ["id"]), phase: "records", counted: true),
        Step(transfer: TableTransfer(table: "deposit", key: ["id"]), phase: "records"),
        Step(transfer: TableTransfer(table: "job", key: ["id"]), phase: "records", counted: true),
        Step(
            transfer: TableTransfer(table: "alert_result", key: ["mailbox_id", "channel", "recipient"]),
            phase: "records"),
    ]
    static let phases = ["directory", "messages", "records"]

    public struct Report: Sendable {
        /// Rows written into the target, by table (those there already are not counted).
        public var rowsCopied: [String: Int] = [:]
        public var filesCopied = 0
        public var bytesCopied: Int64 = 0
        public var queueFilesCopied = 0
        /// What the verify pass found different; empty when the target holds the source.
        public var problems: [String] = []
        public var verified = false
    }

    /// Opens both installations and checks that the one may be copied into the other: not the
    /// same storage, the same master key, and a target that is empty or an earlier run's copy of
    /// this source.
    public static func open(from sourcePath: String, to targetPath: String) throws -> Migrator {
        let source = try Context.open(configPath: sourcePath, needs: .masterKey)
        // The target's wrapped keys may be another key's (a fresh `mailvox init`) until the
        // source's replace them, so it is opened without choosing a key from them.
        let target = try Context.open(configPath: targetPath, needs: .noSecret)
        if let same = sharedStorage(source.config, target.config) {
            throw MigrateError.sameStorage(same)
        }
        let key = source.requireMasterKey()
        let targetKeyFile = target.config.crypto.masterKeyFile
        try KeyFiles.check(targetKeyFile, key: "crypto.master_key_file", config: target.config)
        let theirs = try MasterKey.load(from: targetKeyFile)
        guard theirs.id == key.id else {
            throw MigrateError.otherMasterKey(file: targetKeyFile, found: theirs.id, expected: key.id)
        }
        return Migrator(source: source, target: target, masterKey: key)
    }

    /// What two configs share that a migration must not (a description), or nil.
    static func sharedStorage(_ a: MailvoxCore.Configuration, _ b: MailvoxCore.Configuration) -> String? {
        func resolved(_ path: String) -> String {
            URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        }
        if a.storage.backend == .embedded, b.storage.backend == .embedded,
            resolved(a.databasePath) == resolved(b.databasePath)
        {
            return "both name the database \(a.databasePath)"
        }
        if a.storage.backend == .postgres, b.storage.backend == .postgres, a.postgres.url == b.postgres.url {
            return "both name the PostgreSQL database \(a.postgres.url)"
        }
        if a.blobs.backend == .s3, b.blobs.backend == .s3, a.blobs.endpoint == b.blobs.endpoint,
            a.blobs.bucket == b.blobs.bucket
        {
            return "both name the bucket \(a.blobs.bucket) at \(a.blobs.endpoint)"
        }
        if a.blobs.backend == .filesystem, b.blobs.backend == .filesystem, resolved(a.spoolDir) == resolved(b.spoolDir)
        {
            return "both name the spool \(a.spoolDir)"
        }
        return nil
    }

    /// Copies the source into the target (unless `copy` is false), then, if `verify`, compares
    /// the two. `progress` hears each phase's advance.
    public func run(
        copy: Bool = true, verify: Bool = true, progress: (BackupProgress) -> Void = { _ in }
    ) throws
        -> Report
    {
        // Neither side may change under the copy: hold both serve locks (a node of a shared
        // database elsewhere is the operator's to stop; docs/SCALE-OUT.md).
        let locks = try [source.config, target.config].map { config in
            do {
                return try ServeLock.acquire(config.serveLockPath)
            } catch ServeLockError.held {
                throw ServeLockError.busy(path: config.serveLockPath, action: "migrate")
            }
        }
        defer { withExtendedLifetime(locks) {} }
        let sourceStore = MessageStore(
            database: source.sql, spoolDir: source.config.spoolDir, objects: source.bucket, masterKey: masterKey)
        let targetStore = MessageStore(
            database: target.sql, spoolDir: target.config.spoolDir, objects: target.bucket, masterKey: masterKey)
        var report = Report()
        if copy {
            try adoptNodeKey()
            try copyTables(sourceStore: sourceStore, targetStore: targetStore, report: &report, progress: progress)
            try copyQueueFiles(report: &report, progress: progress)
        }
        if verify {
            report.problems = try compare(sourceStore: sourceStore, targetStore: targetStore, progress: progress)
            report.verified = true
        }
        return report
    }

    // MARK: - Copying

    /// The target takes the source's node key (pending deposits are sealed to it). A target
    /// with no mailboxes and no deposits yet is fresh: its own node key, if `init` made one, is
    /// replaced. Any other target must already have the source's key — an earlier run of this
    /// same migration — or it is another installation and is refused.
    func adoptNodeKey() throws {
        let sourceKey = try source.sql.read { db in
            try db.one("SELECT id, public_key, wrapped_private_key, master_key_id, created_at FROM node_key")
        }
        guard let sourceKey else { throw MigrateError.noNodeKey(source.config.file) }
        try target.sql.write { db in
            let theirs = try db.one("SELECT public_key FROM node_key")
            if let theirs, theirs["public_key"] == sourceKey["public_key"] { return }
            let used = try db.one(
                "SELECT (SELECT COUNT(*) FROM mailbox) + (SELECT COUNT(*) FROM deposit) + (SELECT COUNT(*) FROM folder) AS n"
            )
            guard try used?.get("n", as: Int64.self) == 0 else {
                throw MigrateError.targetInUse(target.config.file)
            }
            try db.execute("DELETE FROM node_key")
            let columns = sourceKey.columns
            try db.execute(
                "INSERT INTO node_key (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))",
                sourceKey.values)
        }
    }

    private func copyTables(
        sourceStore: MessageStore, targetStore: MessageStore, report: inout Report,
        progress: (BackupProgress) -> Void
    ) throws {
        var totals: [String: Int] = [:]
        for step in Self.steps { totals[step.phase, default: 0] += try step.transfer.count(in: source.sql) }
        let owners = try sourceStore.folderOwners()
        for phase in Self.phases {
            var done = 0
            var bytes: Int64 = 0
            let total = totals[phase] ?? 0
            progress(BackupProgress(phase: "copying \(phase)", done: 0, total: total, bytes: 0))
            for step in Self.steps where step.phase == phase {
                let transfer = step.transfer
                let columns = try transfer.sharedColumns(from: source.sql, to: target.sql)
                var copied = 0
                try transfer.forEachBatch(in: source.sql, columns: columns) { rows in
                    if transfer.table == "message" {
                        // Blob before row: the files of the rows the target lacks are written
                        // first, so a run stopped here leaves files no row names (harmless,
                        // written again) and never a row without its file.
                        let present = try transfer.matching(rows, columns: ["id"], in: target.sql)
                        let missing = rows.filter { present[[$0["id"]]] == nil }
                        let written = try copyFiles(missing, owners: owners, from: sourceStore, to: targetStore)
                        bytes += written
                        report.filesCopied += missing.count
                        report.bytesCopied += written
                    }
                    copied += try transfer.insert(rows, columns: columns, into: target.sql)
                    done += rows.count
                    progress(BackupProgress(phase: "copying \(phase)", done: done, total: total, bytes: bytes))
                }
                report.rowsCopied[transfer.table] = copied
                if step.counted { try transfer.raiseNextID(to: try transfer.nextID(in: source.sql), in: target.sql) }
            }
        }
        // UIDVALIDITY is never given twice: the target's counter is at least the source's.
        let highest = try source.sql.read { db in
            try db.one("SELECT highest FROM uid_validity_issued WHERE id = 1")?.get("highest", as: Int64.self) ?? 0
        }
        try target.sql.write { db in
            try db.execute(
                "UPDATE uid_validity_issued SET highest = ? WHERE id = 1 AND highest < ?",
                [.integer(highest), .integer(highest)])
        }
    }

    /// Copies the sealed files of `rows` eight at a time (an object store answers each PUT in a
    /// round trip; a spool waits on each fsync). Returns the bytes copied.
    private func copyFiles(
        _ rows: [SQLRow], owners: [Int64: String], from sourceStore: MessageStore, to targetStore: MessageStore
    ) throws -> Int64 {
        guard !rows.isEmpty else { return 0 }
        let width = min(8, rows.count)
        let results = Mutex<[Result<Int, any Error>]>([])
        DispatchQueue.concurrentPerform(iterations: width) { lane in
            let share = stride(from: lane, to: rows.count, by: width).map { rows[$0] }
            let result = Result { try targetStore.copyFiles(of: share, owners: owners, from: sourceStore) }
            results.withLock { $0.append(result) }
        }
        var bytes: Int64 = 0
        for result in results.withLock({ $0 }) { bytes += Int64(try result.get()) }
        return bytes
    }

    private func copyQueueFiles(report: inout Report, progress: (BackupProgress) -> Void) throws {
        let names = try source.queueFiles.names()
        let present = Set(try target.queueFiles.names())
        var done = 0
        progress(BackupProgress(phase: "copying queue files", done: 0, total: names.count, bytes: 0))
        for name in names {
            if !present.contains(name), let bytes = try source.queueFiles.read(name) {
                try target.queueFiles.write(name, bytes)
                report.queueFilesCopied += 1
            }
            done += 1
            progress(BackupProgress(phase: "copying queue files", done: done, total: names.count, bytes: 0))
        }
    }

    // MARK: - Verifying

    /// Every table's rows and counts, every message's sealed bytes and every queue file,
    /// compared with the source; a description of each difference (the first few per table).
    private func compare(
        sourceStore: MessageStore, targetStore: MessageStore, progress: (BackupProgress) -> Void
    ) throws -> [String] {
        var problems: [String] = []
        let counts = try Self.steps.map { step in
            (step, try step.transfer.count(in: source.sql), try step.transfer.count(in: target.sql))
        }
        let total = counts.reduce(0) { $0 + $1.1 }
        var done = 0
        progress(BackupProgress(phase: "verifying rows", done: 0, total: total, bytes: 0))
        for (step, theirs, ours) in counts {
            let transfer = step.transfer
            if theirs != ours {
                problems.append("\(transfer.table): the source has \(theirs) rows, the target \(ours)")
            }
            let columns = try transfer.sharedColumns(from: source.sql, to: target.sql)
            problems += try transfer.verify(from: source.sql, to: target.sql, columns: columns) { count in
                done += count
                progress(BackupProgress(phase: "verifying rows", done: done, total: total, bytes: 0))
            }
        }
        let nodeKeys = try [source.sql, target.sql].map { database in
            try database.read { db in try db.one("SELECT public_key FROM node_key")?["public_key"] }
        }
        if nodeKeys[0] != nodeKeys[1] { problems.append("node_key: the target's differs from the source's") }

        let messages = TableTransfer(table: "message", key: ["id"], batchSize: 100)
        let owners = try sourceStore.folderOwners()
        let messageCount = counts.first { $0.0.transfer.table == "message" }?.1 ?? 0
        done = 0
        progress(BackupProgress(phase: "verifying messages", done: 0, total: messageCount, bytes: 0))
        try messages.forEachBatch(in: source.sql, columns: ["id", "folder_id", "uid", "file_name", "in_cur", "flags"]) {
            rows in
            for row in rows {
                do {
                    if try !targetStore.holdsSameFile(as: sourceStore, row: row, owners: owners) {
                        problems.append(
                            "message \(TableTransfer.shown(row["id"])) (UID \(TableTransfer.shown(row["uid"]))): the target's sealed file differs"
                        )
                    }
                } catch {
                    problems.append(
                        "message \(TableTransfer.shown(row["id"])) (UID \(TableTransfer.shown(row["uid"]))): \(error)")
                }
            }
            done += rows.count
            progress(BackupProgress(phase: "verifying messages", done: done, total: messageCount, bytes: 0))
        }

        let queueNames = try source.queueFiles.names()
        for name in queueNames where try target.queueFiles.read(name) != source.queueFiles.read(name) {
            problems.append("queue file \(name): missing or different in the target")
        }
        return problems
    }
}

public enum MigrateError: MailvoxFailure, Equatable {
    case sameStorage(String)
    case otherMasterKey(file: String, found: String, expected: String)
    case noNodeKey(String)
    case targetInUse(String)

    public var kind: FailureKind {
        switch self {
        case .sameStorage, .otherMasterKey, .targetInUse: .input
        case .noNodeKey: .runtime
        }
    }

    public var description: String {
        switch self {
        case .sameStorage(let what): "the source and the target must be two installations; \(what)"
        case .otherMasterKey(let file, let found, let expected):
            "the target's master key file \(file) holds key \(found), but the source is sealed under \(expected): "
                + "give the target the source's key file (crypto.master_key_file)"
        case .noNodeKey(let file): "the source (\(file)) has no node key: is it an initialised installation?"
        case .targetInUse(let file):
            "the target (\(file)) already holds mailboxes or deposits of another installation; "
                + "migrate into an empty one"
        }
    }
}
