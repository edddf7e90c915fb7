import Foundation
import GRDB

/// `mailvox backup verify` and the check `restore` makes before it writes anything: the
/// manifest against its digest, the snapshot and every blob against their digests, and every
/// file the snapshot's index references against the manifest.
public struct BackupVerifier {
    /// A run that passed: what restore needs to lay it out.
    public struct Verified: Sendable {
        public var run: String
        public var manifest: BackupManifest
        /// The snapshot's references, each with the blob the manifest gives it (nil: gone).
        public var files: [(reference: ReferencedFile, blob: BackupManifest.Blob?)]
    }

    public let repository: BackupRepository
    let progress: (BackupProgress) -> Void
    /// Blobs already hashed in this process (runs share most of theirs): digest → sound.
    private var checked: [String: String?] = [:]

    public init(directory: String, progress: @escaping (BackupProgress) -> Void = { _ in }) {
        self.repository = BackupRepository(root: directory)
        self.progress = progress
    }

    /// Checks run `run`; throws `BackupError.damaged` listing every problem found.
    public mutating func verify(run: String) throws -> Verified {
        let directory = repository.runDirectory(run)
        let manifest: BackupManifest
        do {
            manifest = try BackupManifest.load(runDirectory: directory, repository: repository)
        } catch {
            throw BackupError.damaged(backup: directory, problems: ["\(error)"])
        }
        var problems: [String] = []
        var snapshotPath = directory + "/" + BackupManifest.databaseFileName
        let scratch = try BackupFiles.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        if let chunked = manifest.chunkedDatabase {
            // Version 2: put together from its chunks, each checked, to open it.
            snapshotPath = scratch + "/" + BackupManifest.databaseFileName
            let damage = try repository.assemble(chunked, what: "database snapshot", to: snapshotPath)
            if !damage.isEmpty { throw BackupError.damaged(backup: directory, problems: damage) }
        } else if let problem = try Self.check(snapshotPath, against: manifest.database) {
            throw BackupError.damaged(backup: directory, problems: ["database snapshot: \(problem)"])
        }
        if let config = manifest.config,
            let problem = try Self.check(directory + "/" + BackupManifest.configFileName, against: config)
        {
            problems.append("config copy: \(problem)")
        }

        let references: [ReferencedFile]
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: snapshotPath, configuration: configuration)
            references = try queue.read { db in try BackupIndex.referencedFiles(db) }
            try queue.close()
        } catch {
            throw BackupError.damaged(backup: directory, problems: ["database snapshot does not open: \(error)"])
        }
        var byKey: [String: BackupManifest.Entry] = [:]
        for entry in manifest.files { byKey[entry.key] = entry }
        var goneKeys: [String: BackupManifest.Gone] = [:]
        for entry in manifest.gone { goneKeys[entry.key] = entry }
        var files: [(ReferencedFile, BackupManifest.Blob?)] = []
        for reference in references {
            if let entry = byKey.removeValue(forKey: reference.key), entry.kind == reference.kind,
                entry.row == reference.row
            {
                files.append((reference, entry.blob))
            } else if let gone = goneKeys.removeValue(forKey: reference.key), gone.kind == reference.kind {
                files.append((reference, nil))
            } else {
                problems.append(
                    "the index's \(reference.kind.rawValue) \(reference.row) (\(reference.key)) has no blob in the manifest"
                )
            }
        }
        for key in byKey.keys.sorted() {
            problems.append("the manifest lists \(key), which the index does not reference")
        }
        for key in goneKeys.keys.sorted() {
            problems.append("the manifest lists \(key) as gone, which the index does not reference")
        }

        let blobs = files.compactMap { file in file.1.map { (file.0.key, $0) } }
        var bytes: Int64 = 0
        for (index, (key, blob)) in blobs.enumerated() {
            if index % 64 == 0 {
                progress(BackupProgress(phase: "verifying", done: index, total: blobs.count, bytes: bytes))
            }
            let problem: String?
            if let known = checked[blob.digest] {
                problem = known
            } else {
                problem = try Self.check(repository.blobPath(blob.digest), against: blob)
                checked[blob.digest] = problem
                bytes += blob.size
            }
            if let problem { problems.append("blob \(blob.digest) of \(key): \(problem)") }
        }
        progress(BackupProgress(phase: "verifying", done: blobs.count, total: blobs.count, bytes: bytes))
        guard problems.isEmpty else { throw BackupError.damaged(backup: directory, problems: problems) }
        return Verified(run: run, manifest: manifest, files: files)
    }

    /// Nil when the file at `path` has exactly the digest and size of `blob`, else what is wrong.
    static func check(_ path: String, against blob: BackupManifest.Blob) throws -> String? {
        guard let (digest, size) = try BackupFiles.digest(path: path) else { return "missing (\(path))" }
        if size != blob.size { return "\(size) bytes where the manifest says \(blob.size) (\(path))" }
        if digest != blob.digest { return "content differs from its SHA-256 (\(path))" }
        return nil
    }
}
