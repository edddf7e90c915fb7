import Foundation
import GRDB
import MailvoxCore

/// How far a backup, verification, restore or migration has come, for a progress bar.
public struct BackupProgress: Sendable {
    public var phase: String
    public var done: Int
    public var total: Int
    public var bytes: Int64

    public init(phase: String, done: Int, total: Int, bytes: Int64) {
        self.phase = phase
        self.done = done
        self.total = total
        self.bytes = bytes
    }
}

/// What one `mailvox backup` run did.
public struct BackupResult: Sendable {
    public var run: String
    public var directory: String
    public var incremental: Bool
    /// Files the snapshot references (all in the backup, or listed as gone).
    public var files: Int
    /// Of those, taken from a previous run's manifest without reading them (incremental).
    public var reused: Int
    /// Blobs this run added to `blobs/`.
    public var newBlobs: Int
    /// Bytes read to hash, and bytes written (copies, the snapshot, the manifest; a hard link writes none).
    public var bytesRead: Int64
    public var bytesWritten: Int64
    public var linked: Bool
    /// Files the snapshot references that the backup could not take, with the reason.
    public var gone: [BackupManifest.Gone]
    /// Those of `gone` the live server still lists: damage to look at (`mailvox fsck`), not a race.
    public var problems: [String]
}

/// Takes one backup of a data dir, online: `serve` may run and take deposits meanwhile.
///
/// Order (docs/OPERATIONS.md, "How a backup stays consistent"): (1) every sealed file present
/// now is captured — hard-linked into the backup when it is on the same file system, else
/// copied — and hashed from the backup's own name, so a later rename or unlink in the data
/// dir cannot change what was read; (2) the database is copied page for page (SQLite's
/// backup API) inside one read transaction (WAL: writers go on); (3) every file the snapshot
/// references that step 1 did not see (delivered meanwhile, or renamed by a flag change) is
/// found by its lasting name and captured; one that is gone by then was expunged or consumed after the snapshot and is
/// listed as gone, and restore drops its rows as the live server did. Only files the snapshot
/// references enter the manifest; the run becomes complete by a rename at the very end.
public final class BackupWriter {
    let dataDir: String
    let database: DatabasePool
    let repository: BackupRepository
    let incremental: Bool
    let hostname: String
    let configFile: String?
    let progress: (BackupProgress) -> Void

    private var linkMode = true
    private var incoming = ""
    private var counter = 0
    private var madeBlobDirectories: Set<String> = []
    private var newBlobs: Set<String> = []
    private var bytesRead: Int64 = 0
    private var bytesWritten: Int64 = 0

    public init(
        dataDir: String, database: DatabasePool, target: String, incremental: Bool, hostname: String,
        configFile: String?, progress: @escaping (BackupProgress) -> Void = { _ in }
    ) {
        self.dataDir = URL(fileURLWithPath: dataDir).standardizedFileURL.path
        self.database = database
        self.repository = BackupRepository(root: target)
        self.incremental = incremental
        self.hostname = hostname
        self.configFile = configFile
        self.progress = progress
    }

    public func run() throws -> BackupResult {
        let root = repository.root
        try FileManager.default.createDirectory(
            atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lock = try Self.lock(root + "/lock")
        defer { close(lock) }
        for stale in repository.partialRuns() {
            try? FileManager.default.removeItem(atPath: repository.runDirectory(stale))
        }
        try BackupFiles.makeDirectory(repository.blobsDirectory)
        let previous = incremental ? previousBlobs() : [:]
        let name = repository.newRunName()
        let partial = repository.runDirectory(name + ".partial")
        try BackupFiles.makeDirectory(partial)
        incoming = partial + "/incoming"
        try BackupFiles.makeDirectory(incoming)
        linkMode = Self.device(of: dataDir + "/spool") == Self.device(of: root)

        // 1. Every sealed file present now.
        let live = liveFiles()
        var captured: [String: BackupManifest.Blob] = [:]
        var reused = 0
        for (index, file) in live.enumerated() {
            if index % 64 == 0 {
                progress(BackupProgress(phase: "copying", done: index, total: live.count, bytes: bytesRead))
            }
            if let blob = previous[file.key], Self.size(of: file.path) == blob.size,
                Self.size(of: repository.blobPath(blob.digest)) == blob.size
            {
                captured[file.key] = blob
                reused += 1
            } else if let blob = try capture(file.path) {
                captured[file.key] = blob
            }
        }
        progress(BackupProgress(phase: "copying", done: live.count, total: live.count, bytes: bytesRead))

        // 2. The snapshot: one read transaction, so writers (serve) go on meanwhile.
        progress(BackupProgress(phase: "snapshot", done: 0, total: 1, bytes: bytesRead))
        // Taken in RAM (/dev/shm) when it fits, then cut into page-aligned chunks: only the
        // chunks no earlier run stored are written to DIR.
        let scratch = try BackupFiles.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let inRAM = scratch + "/" + BackupManifest.databaseFileName
        let onDisk = partial + "/" + BackupManifest.databaseFileName
        let snapshotPath: String
        do {
            try Self.copyPages(of: database, to: inRAM)
            snapshotPath = inRAM
        } catch {
            // /dev/shm too small for it: on the backup's own disk instead, removed once chunked.
            unlink(inRAM)
            try Self.copyPages(of: database, to: onDisk)
            snapshotPath = onDisk
        }
        let (references, masterKeyIDs) = try Self.readSnapshot(snapshotPath)
        let snapshot = try repository.storeChunks(
            ofFile: snapshotPath, temporaryDirectory: incoming, cutting: DatabasePageChunker.lengths)
        unlink(snapshotPath)
        bytesWritten += snapshot.written

        // 3. What the snapshot references that step 1 did not take.
        var manifest = BackupManifest(
            created: Date(), incremental: incremental, dataDir: dataDir, hostname: hostname,
            masterKeyIDs: masterKeyIDs, database: .init(digest: snapshot.file.digest, size: snapshot.file.size))
        manifest.databaseChunks = snapshot.file.chunks
        var problems: [String] = []
        for (index, reference) in references.enumerated() {
            if index % 256 == 0 {
                progress(BackupProgress(phase: "checking", done: index, total: references.count, bytes: bytesRead))
            }
            var blob = captured[reference.key]
            var attempts = 0
            // A flag change renames the file between `locate` and the link: look again.
            while blob == nil && attempts < 3, let path = locate(reference) {
                blob = try capture(path)
                attempts += 1
            }
            if let blob {
                manifest.files.append(.init(blob: blob, kind: reference.kind, row: reference.row, key: reference.key))
            } else {
                let (reason, damage) = try whyGone(reference)
                manifest.gone.append(
                    .init(kind: reference.kind, row: reference.row, key: reference.key, reason: reason))
                if damage { problems.append("\(reference.key): \(reason)") }
            }
        }
        progress(BackupProgress(phase: "checking", done: references.count, total: references.count, bytes: bytesRead))

        if let configFile, let fd = Optional(open(configFile, O_RDONLY | O_CLOEXEC)), fd >= 0 {
            defer { close(fd) }
            let copied = try BackupFiles.copy(
                fd: fd, sourcePath: configFile, to: partial + "/" + BackupManifest.configFileName, sync: false)
            manifest.config = .init(digest: copied.0, size: copied.1)
            bytesWritten += copied.1
        }
        let entries = try Array(manifest.entriesText().utf8).withUnsafeBytes {
            try repository.storeChunks($0, temporaryDirectory: incoming)
        }
        bytesWritten += entries.written
        let text = manifest.encoded(entries: entries.file)
        try BackupFiles.writeFile(partial + "/" + BackupManifest.fileName, text, sync: false)
        try BackupFiles.writeFile(
            partial + "/" + BackupManifest.digestFileName,
            "\(BackupFiles.digest(text: text))  \(BackupManifest.fileName)\n", sync: false)
        bytesWritten += Int64(text.utf8.count) + 80

        // Blobs this run linked for files the snapshot no longer references (expunged between
        // step 1 and 2) belong to no run: no earlier manifest can name a blob that was not there.
        let referenced = Set(manifest.files.map(\.blob.digest))
        let chunks = Set(snapshot.file.chunks.map(\.digest)).union(entries.file.chunks.map(\.digest))
        for digest in newBlobs where !referenced.contains(digest) && !chunks.contains(digest) {
            unlink(repository.blobPath(digest))
        }
        try? FileManager.default.removeItem(atPath: incoming)
        // Every chunk, copy, link and manifest of the run reaches the disk in one flush, before
        // the rename that makes the run exist: a crash before it leaves a `.partial` run that
        // nothing names, never a run whose files were still in the page cache.
        try BackupFiles.syncFileSystem(of: root)
        guard rename(partial, repository.runDirectory(name)) == 0 else {
            throw BackupError.io(path: partial, reason: "cannot complete the run: \(errnoText())")
        }
        try BackupFiles.fsyncFile(root)
        return BackupResult(
            run: name, directory: repository.runDirectory(name), incremental: incremental, files: references.count,
            reused: reused, newBlobs: newBlobs.intersection(referenced).count, bytesRead: bytesRead,
            bytesWritten: bytesWritten, linked: linkMode, gone: manifest.gone, problems: problems)
    }

    // MARK: - Capture

    /// Takes `path` into `blobs/`: a hard link (or a copy) under a name of this run first, so a
    /// rename or unlink in the data dir after that cannot change what is hashed; nil if the
    /// file is gone.
    private func capture(_ path: String) throws -> BackupManifest.Blob? {
        counter += 1
        let temporary = "\(incoming)/\(counter)"
        let result: (String, Int64)
        if linkMode {
            if link(path, temporary) != 0 {
                if errno == ENOENT { return nil }
                // Another file system after all (a bind mount): copy from here on.
                guard errno == EXDEV || errno == EPERM || errno == EMLINK else {
                    throw BackupError.io(path: path, reason: "cannot link into the backup: \(errnoText())")
                }
                linkMode = false
                return try capture(path)
            }
            guard let digest = try BackupFiles.digest(path: temporary) else {
                throw BackupError.io(path: temporary, reason: "vanished from the backup")
            }
            result = digest
        } else {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == ENOENT { return nil }
                throw BackupError.io(path: path, reason: "cannot open: \(errnoText())")
            }
            defer { close(fd) }
            result = try BackupFiles.copy(fd: fd, sourcePath: path, to: temporary, sync: false)
            bytesWritten += result.1
        }
        bytesRead += result.1
        let blob = repository.blobPath(result.0)
        let directory = (blob as NSString).deletingLastPathComponent
        if !madeBlobDirectories.contains(directory) {
            try BackupFiles.makeDirectory(directory)
            madeBlobDirectories.insert(directory)
        }
        if Glibc.link(temporary, blob) == 0 {
            newBlobs.insert(result.0)
        } else if errno != EEXIST {
            throw BackupError.io(path: blob, reason: "cannot store: \(errnoText())")
        } else if !linkMode {
            // Already there from an earlier run or file: the copy was not needed after all.
            bytesWritten -= result.1
        }
        unlink(temporary)
        return .init(digest: result.0, size: result.1)
    }

    /// A sealed file of the data dir: its lasting key and where it is now.
    struct LiveFile {
        var key: String
        var path: String
    }

    /// Every sealed file of the data dir now: spool messages by folder, then the queue.
    func liveFiles() -> [LiveFile] {
        var files: [LiveFile] = []
        let fileManager = FileManager.default
        func names(_ directory: String) -> [String] {
            ((try? fileManager.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        }
        let spool = dataDir + "/spool"
        for mailbox in names(spool) {
            for folder in names("\(spool)/\(mailbox)") where Int64(folder) != nil {
                for sub in ["new", "cur"] {
                    for name in names("\(spool)/\(mailbox)/\(folder)/\(sub)") {
                        let stem = name.prefix { $0 != ":" }
                        files.append(
                            LiveFile(
                                key: "spool/\(mailbox)/\(folder)/\(stem)",
                                path: "\(spool)/\(mailbox)/\(folder)/\(sub)/\(name)"
                            ))
                    }
                }
            }
        }
        for sub in ["queue", "queue/notify"] {
            for name in names("\(dataDir)/\(sub)") where name.hasSuffix(".mvx") {
                files.append(LiveFile(key: "\(sub)/\(name)", path: "\(dataDir)/\(sub)/\(name)"))
            }
        }
        return files
    }

    /// Where the file of `reference` is now, if anywhere: the index's path, else by its lasting name.
    private func locate(_ reference: ReferencedFile) -> String? {
        let expected = dataDir + "/" + reference.path
        guard reference.kind == .message else { return access(expected, F_OK) == 0 ? expected : nil }
        let parts = reference.key.split(separator: "/").map(String.init)
        guard parts.count == 4, let folderID = Int64(parts[2]) else { return nil }
        return Spool(root: dataDir + "/spool").locate(
            mailbox: parts[1], folderID: folderID, fileName: parts[3], expected: expected)
    }

    /// Why the file of `reference` could not be taken, and whether that is damage rather than
    /// a change the live server made after the snapshot.
    private func whyGone(_ reference: ReferencedFile) throws -> (String, Bool) {
        try database.read { db in
            switch reference.kind {
            case .message:
                let name = String(reference.key.split(separator: "/").last ?? "")
                let live =
                    try Bool.fetchOne(
                        db, sql: "SELECT 1 FROM message WHERE id = ? AND file_name = ?",
                        arguments: [reference.row, name]) ?? false
                return live
                    ? ("missing from the data dir although the index lists it (run `mailvox fsck`)", true)
                    : ("expunged after the snapshot", false)
            case .deposit:
                let status = try String.fetchOne(
                    db, sql: "SELECT status FROM deposit WHERE id = ?", arguments: [reference.row])
                return status == "queued"
                    ? ("sealed deposit missing from the data dir while its job waits", true)
                    : ("delivered after the snapshot", false)
            case .alertCopy:
                let pending =
                    try Int.fetchOne(
                        db,
                        sql: """
                            SELECT COUNT(*) FROM job WHERE deposit_id = ? AND kind = 'notify'
                                AND state IN ('queued', 'leased')
                            """, arguments: [reference.row]) ?? 0
                return pending > 0
                    ? ("alert copy missing from the data dir while notify jobs wait", true)
                    : ("alerts finished after the snapshot", false)
            }
        }
    }

    // MARK: - Helpers

    /// The blobs of the newest complete run by key, for an incremental run to reuse unread.
    private func previousBlobs() -> [String: BackupManifest.Blob] {
        guard let last = repository.completeRuns().last,
            let manifest = try? BackupManifest.load(runDirectory: repository.runDirectory(last), repository: repository)
        else { return [:] }
        var blobs: [String: BackupManifest.Blob] = [:]
        for entry in manifest.files { blobs[entry.key] = entry.blob }
        return blobs
    }

    /// The files and master key ids the snapshot at `path` references; leaves it in rollback
    /// journal mode, so it opens read-only anywhere without a `-shm` file.
    static func readSnapshot(_ path: String) throws -> ([ReferencedFile], [String]) {
        let queue = try DatabaseQueue(path: path)
        let result = try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = DELETE")
            return (try BackupIndex.referencedFiles(db), try BackupIndex.masterKeyIDs(db))
        }
        try queue.close()
        return result
    }

    /// Copies `database` page for page (SQLite's online backup API, in one step inside one read
    /// transaction) into a new file at `path`: unchanged pages come out byte-identical run after
    /// run, so their chunks are already in `blobs/`. `VACUUM INTO` packs every index anew, and
    /// one row inserted near an index's start then shifts all of its later pages.
    static func copyPages(of database: DatabasePool, to path: String) throws {
        let destination = try DatabaseQueue(path: path)
        do {
            try database.backup(to: destination)
        } catch {
            try? destination.close()
            throw error
        }
        try destination.close()
    }

    static func lock(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BackupError.io(path: path, reason: errnoText()) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw BackupError.busy(path: (path as NSString).deletingLastPathComponent)
        }
        return fd
    }

    static func device(of path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_dev) : nil
    }

    static func size(of path: String) -> Int64? {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : nil
    }
}
