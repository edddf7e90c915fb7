import Foundation
import MailvoxCrypto

/// A backup run's table of contents (`DIR/<run>/manifest`): the database snapshot's digest and
/// one line per file the snapshot references, with the SHA-256 and size of its blob, or the
/// reason it could not be taken. `manifest.sha256` beside it holds the manifest's own digest,
/// and the last line counts the entries, so an edited, cut or swapped manifest is refused.
///
/// Text, one entry per line, fields separated by tabs:
///
///     mailvox-backup	1
///     created	2026-05-01T10:00:00Z
///     kind	full
///     ...
///     database	<sha256>	<size>	<chunks>
///     chunk	<sha256>	<size>            (one per chunk of the snapshot, in order)
///     config	<sha256>	<size>	mailvox.toml
///     entries	<sha256>	<size>	<chunks>
///     chunk	<sha256>	<size>            (one per chunk of the entries, in order)
///     end	<files>	<gone>
///
/// The snapshot and the entries (the `file` and `gone` lines below, one per referenced file)
/// are stored as content-defined chunks in `blobs/` (`ContentChunker`), so a run shares every
/// unchanged stretch of both with earlier runs. Version 1 (made before 2026-12-04) kept the
/// snapshot whole as `mailvox.sqlite` in the run directory and the entries in the manifest
/// (`database <sha256> <size> mailvox.sqlite`, then the `file`/`gone` lines); it is still read.
///
///     file	<sha256>	<size>	message	<row>	spool/1000/1/<name>
///     gone	message	<row>	spool/1000/1/<name>	expunged after the snapshot
public struct BackupManifest: Sendable, Equatable {
    public struct Blob: Sendable, Equatable {
        public var digest: String
        public var size: Int64
    }

    public struct Entry: Sendable, Equatable {
        public var blob: Blob
        public var kind: ReferencedFile.Kind
        public var row: String
        public var key: String
    }

    public struct Gone: Sendable, Equatable {
        public var kind: ReferencedFile.Kind
        public var row: String
        public var key: String
        public var reason: String
    }

    public static let fileName = "manifest"
    public static let digestFileName = "manifest.sha256"
    public static let databaseFileName = "mailvox.sqlite"
    public static let configFileName = "mailvox.toml"

    public var created: Date
    public var incremental: Bool
    public var dataDir: String
    public var hostname: String
    public var masterKeyIDs: [String]
    public var database: Blob
    /// The snapshot's chunks in `blobs/` (version 2); nil for a version 1 run, whose snapshot
    /// is `mailvox.sqlite` in the run directory.
    public var databaseChunks: [Blob]?
    /// The snapshot as a chunked file (version 2 only).
    public var chunkedDatabase: ChunkedFile? {
        databaseChunks.map { ChunkedFile(digest: database.digest, size: database.size, chunks: $0) }
    }
    /// The config file as it was, for the operator to carry settings over after a restore.
    public var config: Blob?
    public var files: [Entry] = []
    public var gone: [Gone] = []

    /// The `file` and `gone` lines, one per referenced file (stored chunked in version 2).
    public func entriesText() -> String {
        var lines: [String] = []
        for entry in files {
            lines.append(
                "file\t\(entry.blob.digest)\t\(entry.blob.size)\t\(entry.kind.rawValue)\t\(entry.row)\t\(entry.key)")
        }
        for entry in gone {
            lines.append("gone\t\(entry.kind.rawValue)\t\(entry.row)\t\(entry.key)\t\(entry.reason)")
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// The version 2 manifest: the snapshot's chunks (`databaseChunks`) and the entries'
    /// chunks (`entries`, the stored `entriesText()`).
    public func encoded(entries: ChunkedFile) -> String {
        var lines = [
            "mailvox-backup\t2",
            "created\t\(ISO8601DateFormatter().string(from: created))",
            "kind\t\(incremental ? "incremental" : "full")",
            "data_dir\t\(dataDir)",
            "hostname\t\(hostname)",
            "master_key_ids\t\(masterKeyIDs.joined(separator: ","))",
        ]
        let chunks = databaseChunks ?? []
        lines.append("database\t\(database.digest)\t\(database.size)\t\(chunks.count)")
        for chunk in chunks { lines.append("chunk\t\(chunk.digest)\t\(chunk.size)") }
        if let config { lines.append("config\t\(config.digest)\t\(config.size)\t\(Self.configFileName)") }
        lines.append("entries\t\(entries.digest)\t\(entries.size)\t\(entries.chunks.count)")
        for chunk in entries.chunks { lines.append("chunk\t\(chunk.digest)\t\(chunk.size)") }
        lines.append("end\t\(files.count)\t\(gone.count)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads the manifest at `path`, first checking it against `manifest.sha256` beside it.
    /// A version 2 manifest's entries are put together from their chunks in `repository`,
    /// each checked against its digest; a missing or damaged chunk makes the manifest unreadable.
    private static func fields0(_ line: Substring) -> Substring { line.prefix { $0 != "\t" } }

    public static func load(runDirectory: String, repository: BackupRepository) throws -> BackupManifest {
        let path = runDirectory + "/" + fileName
        let digestPath = runDirectory + "/" + digestFileName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BackupError.manifest(path: path, reason: "missing (an interrupted backup leaves none)")
        }
        guard let recorded = FileManager.default.contents(atPath: digestPath) else {
            throw BackupError.manifest(path: digestPath, reason: "missing: the manifest cannot be checked")
        }
        let expected = String(decoding: recorded, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
        var hasher = StreamingSHA256()
        data.withUnsafeBytes { hasher.update($0) }
        guard hasher.finalizeHex() == expected else {
            throw BackupError.manifest(
                path: path, reason: "its SHA-256 differs from the one in \(digestFileName): the manifest was edited")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path) { entries in
            let scratch = try BackupFiles.scratchDirectory()
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let assembled = scratch + "/entries"
            let problems = try repository.assemble(entries, what: "the manifest's entries", to: assembled)
            guard problems.isEmpty, let text = FileManager.default.contents(atPath: assembled) else {
                throw BackupError.manifest(path: path, reason: problems.joined(separator: "; "))
            }
            return String(decoding: text, as: UTF8.self)
        }
    }

    static func parse(
        _ text: String, path: String, entries loadEntries: (ChunkedFile) throws -> String
    ) throws -> BackupManifest {
        var manifest = BackupManifest(
            created: Date(timeIntervalSince1970: 0), incremental: false, dataDir: "", hostname: "localhost",
            masterKeyIDs: [], database: Blob(digest: "", size: -1))
        var ended = false
        var version = 1
        var entries: ChunkedFile?
        // Where `chunk` lines go: the snapshot's or the entries' list.
        var chunkTarget = 0
        var endCounts: (Int?, Int?) = (nil, nil)
        var declared: (database: Int?, entries: Int?) = (nil, nil)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { (0, $0) }
        var cursor = 0
        while cursor < lines.count {
            let (source, line) = lines[cursor]
            let number = cursor - (source == 0 ? 0 : source)
            cursor += 1
            if line.isEmpty { continue }
            func bad(_ reason: String) -> BackupError {
                .manifest(
                    path: path, reason: "\(source == 0 ? "" : "entries, ")line \(number + 1): \(reason)")
            }
            guard !ended else { throw bad("text after the end line") }
            // Version 2: file and gone lines come only from the entries, version 1: only from here.
            let isEntry = fields0(line) == "file" || fields0(line) == "gone"
            if isEntry {
                guard (version == 1) == (source == 0) else { throw bad("an entry where none belongs") }
            } else if source != 0 || endCounts.0 != nil {
                throw bad(source != 0 ? "not an entry" : "text after the end line")
            }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            func blob(_ digest: String, _ size: String) throws -> Blob {
                guard digest.count == 64, digest.allSatisfy(\.isHexDigit), let size = Int64(size), size >= 0 else {
                    throw bad("not a digest and size")
                }
                return Blob(digest: digest, size: size)
            }
            func kind(_ text: String) throws -> ReferencedFile.Kind {
                guard let kind = ReferencedFile.Kind(rawValue: text) else { throw bad("unknown kind \(text)") }
                return kind
            }
            switch (fields[0], fields.count) {
            case ("mailvox-backup", 2):
                guard number == 0, source == 0, fields[1] == "1" || fields[1] == "2" else {
                    throw bad("unsupported manifest version \(fields[1])")
                }
                version = Int(fields[1])!
            case ("created", 2):
                guard let date = ISO8601DateFormatter().date(from: fields[1]) else { throw bad("bad date") }
                manifest.created = date
            case ("kind", 2): manifest.incremental = fields[1] == "incremental"
            case ("data_dir", 2): manifest.dataDir = fields[1]
            case ("hostname", 2): manifest.hostname = fields[1]
            case ("master_key_ids", 2): manifest.masterKeyIDs = fields[1].split(separator: ",").map(String.init)
            case ("database", 4):
                manifest.database = try blob(fields[1], fields[2])
                if version == 2 {
                    guard let count = Int(fields[3]) else { throw bad("not a chunk count") }
                    declared.database = count
                    manifest.databaseChunks = []
                    chunkTarget = 1
                } else {
                    chunkTarget = 0
                }
            case ("chunk", 3) where version == 2 && source == 0:
                let chunk = try blob(fields[1], fields[2])
                switch chunkTarget {
                case 1: manifest.databaseChunks?.append(chunk)
                case 2: entries?.chunks.append(chunk)
                default: throw bad("a chunk of nothing")
                }
            case ("entries", 4) where version == 2 && source == 0 && entries == nil:
                let whole = try blob(fields[1], fields[2])
                guard let count = Int(fields[3]) else { throw bad("not a chunk count") }
                declared.entries = count
                entries = ChunkedFile(digest: whole.digest, size: whole.size, chunks: [])
                chunkTarget = 2
            case ("config", 4):
                manifest.config = try blob(fields[1], fields[2])
                chunkTarget = 0
            case ("file", 6):
                manifest.files.append(
                    Entry(
                        blob: try blob(fields[1], fields[2]), kind: try kind(fields[3]), row: fields[4], key: fields[5])
                )
            case ("gone", 5):
                manifest.gone.append(Gone(kind: try kind(fields[1]), row: fields[2], key: fields[3], reason: fields[4]))
            case ("end", 3) where source == 0:
                endCounts = (Int(fields[1]) ?? -1, Int(fields[2]) ?? -1)
                if version == 2 {
                    guard declared.database == manifest.databaseChunks?.count,
                        declared.entries == entries?.chunks.count
                    else { throw bad("the chunk counts do not match the chunks") }
                    // The entries follow (checked against their digests), and nothing else.
                    guard let entries else { throw bad("no entries line") }
                    let text = try loadEntries(entries)
                    let added = text.split(separator: "\n", omittingEmptySubsequences: false).map { (cursor, $0) }
                    lines.insert(contentsOf: added, at: cursor)
                    chunkTarget = 0
                } else {
                    ended = true
                }
            default: throw bad("not a manifest entry")
            }
        }
        if version == 2 && endCounts.0 != nil { ended = true }
        guard ended else { throw BackupError.manifest(path: path, reason: "cut short (no end line)") }
        guard endCounts.0 == manifest.files.count, endCounts.1 == manifest.gone.count else {
            throw BackupError.manifest(path: path, reason: "the entry counts do not match the entries")
        }
        if version == 2 && manifest.databaseChunks == nil {
            throw BackupError.manifest(path: path, reason: "no database entry")
        }
        guard manifest.database.size >= 0 else { throw BackupError.manifest(path: path, reason: "no database entry") }
        return manifest
    }
}
