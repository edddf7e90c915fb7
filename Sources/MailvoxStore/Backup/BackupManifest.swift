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
///     database	<sha256>	<size>	mailvox.sqlite
///     file	<sha256>	<size>	message	<row>	spool/1000/1/<name>
///     gone	message	<row>	spool/1000/1/<name>	expunged after the snapshot
///     end	<files>	<gone>
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
    /// The config file as it was, for the operator to carry settings over after a restore.
    public var config: Blob?
    public var files: [Entry] = []
    public var gone: [Gone] = []

    public func encoded() -> String {
        var lines = [
            "mailvox-backup\t1",
            "created\t\(ISO8601DateFormatter().string(from: created))",
            "kind\t\(incremental ? "incremental" : "full")",
            "data_dir\t\(dataDir)",
            "hostname\t\(hostname)",
            "master_key_ids\t\(masterKeyIDs.joined(separator: ","))",
            "database\t\(database.digest)\t\(database.size)\t\(Self.databaseFileName)",
        ]
        if let config { lines.append("config\t\(config.digest)\t\(config.size)\t\(Self.configFileName)") }
        for entry in files {
            lines.append(
                "file\t\(entry.blob.digest)\t\(entry.blob.size)\t\(entry.kind.rawValue)\t\(entry.row)\t\(entry.key)")
        }
        for entry in gone {
            lines.append("gone\t\(entry.kind.rawValue)\t\(entry.row)\t\(entry.key)\t\(entry.reason)")
        }
        lines.append("end\t\(files.count)\t\(gone.count)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads the manifest at `path`, first checking it against `manifest.sha256` beside it.
    public static func load(runDirectory: String) throws -> BackupManifest {
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
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    static func parse(_ text: String, path: String) throws -> BackupManifest {
        var manifest = BackupManifest(
            created: Date(timeIntervalSince1970: 0), incremental: false, dataDir: "", hostname: "localhost",
            masterKeyIDs: [], database: Blob(digest: "", size: -1))
        var ended = false
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty { continue }
            func bad(_ reason: String) -> BackupError {
                .manifest(path: path, reason: "line \(number + 1): \(reason)")
            }
            guard !ended else { throw bad("text after the end line") }
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
                guard number == 0, fields[1] == "1" else { throw bad("unsupported manifest version \(fields[1])") }
            case ("created", 2):
                guard let date = ISO8601DateFormatter().date(from: fields[1]) else { throw bad("bad date") }
                manifest.created = date
            case ("kind", 2): manifest.incremental = fields[1] == "incremental"
            case ("data_dir", 2): manifest.dataDir = fields[1]
            case ("hostname", 2): manifest.hostname = fields[1]
            case ("master_key_ids", 2): manifest.masterKeyIDs = fields[1].split(separator: ",").map(String.init)
            case ("database", 4): manifest.database = try blob(fields[1], fields[2])
            case ("config", 4): manifest.config = try blob(fields[1], fields[2])
            case ("file", 6):
                manifest.files.append(
                    Entry(
                        blob: try blob(fields[1], fields[2]), kind: try kind(fields[3]), row: fields[4], key: fields[5])
                )
            case ("gone", 5):
                manifest.gone.append(Gone(kind: try kind(fields[1]), row: fields[2], key: fields[3], reason: fields[4]))
            case ("end", 3):
                guard Int(fields[1]) == manifest.files.count, Int(fields[2]) == manifest.gone.count else {
                    throw bad("the entry counts do not match the entries")
                }
                ended = true
            default: throw bad("not a manifest entry")
            }
        }
        guard ended else { throw BackupError.manifest(path: path, reason: "cut short (no end line)") }
        guard manifest.database.size >= 0 else { throw BackupError.manifest(path: path, reason: "no database entry") }
        return manifest
    }
}
