import Foundation
import GRDB

extension BackupVerifier.Verified {
    /// Lays the verified run out as a data dir's database, spool and queue inside `directory`
    /// (an empty staging directory): the snapshot with `BackupIndex.forgetMissing` applied, and
    /// each blob copied to where the snapshot's index expects it, its digest checked again
    /// while copying. Keys, certificate and config are the caller's (`mailvox restore`).
    public func materialize(
        from repository: BackupRepository, into directory: String,
        progress: (BackupProgress) -> Void = { _ in }
    ) throws -> Int {
        let database = directory + "/mailvox.sqlite"
        let snapshot = repository.runDirectory(run) + "/" + BackupManifest.databaseFileName
        if let chunked = manifest.chunkedDatabase {
            // Every chunk and the whole checked again while it is put together.
            let damage = try repository.assemble(chunked, what: "database snapshot", to: database)
            guard damage.isEmpty else {
                throw BackupError.damaged(backup: repository.runDirectory(run), problems: damage)
            }
        } else {
            let source = open(snapshot, O_RDONLY | O_CLOEXEC)
            guard source >= 0 else { throw BackupError.io(path: snapshot, reason: "cannot open: \(errnoText())") }
            let copied = try {
                defer { close(source) }
                return try BackupFiles.copy(fd: source, sourcePath: snapshot, to: database)
            }()
            guard copied.0 == manifest.database.digest else {
                throw BackupError.damaged(backup: snapshot, problems: ["the snapshot changed while it was restored"])
            }
        }
        let queue = try DatabaseQueue(path: database)
        let folders = try queue.write { db in
            try BackupIndex.forgetMissing(db, files.filter { $0.blob == nil }.map(\.reference))
            return try Row.fetchAll(db, sql: "SELECT id, mailbox_id FROM folder").map {
                "spool/\($0["mailbox_id"] as String)/\($0["id"] as Int64)"
            }
        }
        try queue.close()

        for sub in ["spool", "queue", "queue/notify"] { try BackupFiles.makeDirectory(directory + "/" + sub) }
        for folder in folders {
            try BackupFiles.makeDirectory(directory + "/" + (folder as NSString).deletingLastPathComponent)
            for sub in ["", "/tmp", "/new", "/cur"] { try BackupFiles.makeDirectory(directory + "/" + folder + sub) }
        }
        var placed = 0
        var bytes: Int64 = 0
        for (index, (reference, blob)) in files.enumerated() {
            if index % 64 == 0 {
                progress(BackupProgress(phase: "restoring", done: index, total: files.count, bytes: bytes))
            }
            guard let blob else { continue }
            let from = repository.blobPath(blob.digest)
            let fd = open(from, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw BackupError.io(path: from, reason: "cannot open: \(errnoText())") }
            defer { close(fd) }
            let target = directory + "/" + reference.path
            let (digest, size) = try BackupFiles.copy(fd: fd, sourcePath: from, to: target)
            guard digest == blob.digest, size == blob.size else {
                throw BackupError.damaged(backup: from, problems: ["blob changed while it was restored"])
            }
            placed += 1
            bytes += size
        }
        progress(BackupProgress(phase: "restoring", done: files.count, total: files.count, bytes: bytes))
        return placed
    }
}
