import Foundation
import MailvoxCrypto

/// A backup directory (`mailvox backup --to DIR`):
///
///     DIR/lock                    flock held by the backup writing here
///     DIR/blobs/ab/abcd…          every sealed file once, named by the SHA-256 of its bytes
///     DIR/20260501T100000Z/       one complete run: mailvox.sqlite, mailvox.toml, manifest,
///                                 manifest.sha256
///     DIR/20260501T110000Z.partial/   a run in progress, or one a kill cut short
///
/// A run becomes complete by the rename of its `.partial` directory, the last step; nothing
/// reads a `.partial` run, and the next backup removes it.
public struct BackupRepository: Sendable {
    public let root: String

    public init(root: String) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    }

    public var blobsDirectory: String { root + "/blobs" }

    public func blobPath(_ digest: String) -> String { "\(blobsDirectory)/\(digest.prefix(2))/\(digest)" }

    public func runDirectory(_ name: String) -> String { root + "/" + name }

    /// Complete runs, oldest first (names are UTC timestamps, so they sort by time).
    public func completeRuns() -> [String] {
        entries().filter { Self.isRunName($0) && !$0.hasSuffix(".partial") }.sorted()
    }

    /// Runs an interrupted backup left behind.
    public func partialRuns() -> [String] { entries().filter { $0.hasSuffix(".partial") }.sorted() }

    /// The run `name`, or the newest complete one.
    public func chooseRun(_ name: String?) throws -> String {
        let runs = completeRuns()
        if let name {
            guard runs.contains(name) else { throw BackupError.noSuchBackup(directory: root, name: name) }
            return name
        }
        guard let newest = runs.last else {
            let partial = partialRuns()
            throw BackupError.noBackup(
                directory: root,
                detail: partial.isEmpty
                    ? "" : " (only \(partial.joined(separator: ", ")), left by an interrupted backup)")
        }
        return newest
    }

    private func entries() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] }

    static func isRunName(_ name: String) -> Bool {
        let base = name.hasSuffix(".partial") ? String(name.dropLast(8)) : name
        return base.count >= 16 && base.first?.isNumber == true && base.contains("T") && base.contains("Z")
    }

    /// A run name for now: `YYYYMMDDTHHMMSSZ`, with `-2`, `-3`… if one exists already.
    func newRunName(now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let base = formatter.string(from: now)
        let taken = Set(entries().map { $0.hasSuffix(".partial") ? String($0.dropLast(8)) : $0 })
        var name = base
        var suffix = 2
        while taken.contains(name) {
            name = "\(base)-\(suffix)"
            suffix += 1
        }
        return name
    }
}

/// File operations of backup and restore: hashing while reading, copying while hashing,
/// directories made 0700. Files are read in 1 MiB pieces; nothing holds a whole file.
enum BackupFiles {
    static let pieceSize = 1 << 20

    /// SHA-256 (hex) and size of the open file `fd` from its current offset; with `copyTo`,
    /// every piece is also written there.
    static func digest(
        fd: Int32, path: String, copyTo output: Int32? = nil, outputPath: String = ""
    ) throws -> (
        String, Int64
    ) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceSize, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = StreamingSHA256()
        var total: Int64 = 0
        while true {
            let count = read(fd, buffer.baseAddress, pieceSize)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw BackupError.io(path: path, reason: "cannot read: \(errnoText())") }
            if count == 0 { break }
            let piece = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            hasher.update(piece)
            if let output {
                var offset = 0
                while offset < count {
                    let written = write(output, piece.baseAddress! + offset, count - offset)
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else {
                        throw BackupError.io(path: outputPath, reason: "cannot write: \(errnoText())")
                    }
                    offset += written
                }
            }
            total += Int64(count)
        }
        return (hasher.finalizeHex(), total)
    }

    /// SHA-256 and size of the file at `path`; nil when it does not exist.
    static func digest(path: String) throws -> (String, Int64)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw BackupError.io(path: path, reason: "cannot open: \(errnoText())")
        }
        defer { close(fd) }
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        return try digest(fd: fd, path: path)
    }

    /// Copies the open file `source` to a new file `destination` (0600; fsynced unless `sync` is
    /// false, for a caller that syncs the whole file system once at its end), returning the
    /// digest and size of what was copied.
    static func copy(
        fd source: Int32, sourcePath: String, to destination: String, sync: Bool = true
    ) throws -> (String, Int64) {
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw BackupError.io(path: destination, reason: "cannot create: \(errnoText())") }
        do {
            posix_fadvise(source, 0, 0, POSIX_FADV_SEQUENTIAL)
            let result = try digest(fd: source, path: sourcePath, copyTo: output, outputPath: destination)
            guard !sync || fsync(output) == 0 else {
                throw BackupError.io(path: destination, reason: "cannot fsync: \(errnoText())")
            }
            close(output)
            return result
        } catch {
            close(output)
            unlink(destination)
            throw error
        }
    }

    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw BackupError.io(path: path, reason: "cannot create: \(errnoText())")
        }
    }

    static func fsyncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0, fsync(fd) == 0 else {
            let reason = errnoText()
            if fd >= 0 { close(fd) }
            throw BackupError.io(path: path, reason: "cannot fsync: \(reason)")
        }
        close(fd)
    }

    /// Writes `text` to a new file, fsynced unless `sync` is false (see `copy`).
    static func writeFile(_ path: String, _ text: String, sync: Bool = true) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BackupError.io(path: path, reason: "cannot create: \(errnoText())") }
        defer { close(fd) }
        do {
            try DurableFile.writeAll(fd, Array(text.utf8), path: path)
        } catch {
            throw BackupError.io(path: path, reason: "\(error)")
        }
        guard !sync || fsync(fd) == 0 else {
            throw BackupError.io(path: path, reason: "cannot fsync: \(errnoText())")
        }
    }

    /// Flushes everything written to the file system that holds `path`, data and metadata, in
    /// one call: Linux's `syncfs(2)`, which reports a failed write-back since 5.8. A run writes
    /// thousands of small files; an fsync each cost a journal commit each (seconds for a full
    /// run), while nothing of the run counts until its directory is renamed after this.
    /// Glibc declares `syncfs` only under _GNU_SOURCE, which Swift's Glibc module lacks, so it
    /// is looked up at run time; where it is missing, `sync(2)` does the same for every file system.
    static func syncFileSystem(of path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw BackupError.io(path: path, reason: "cannot open: \(errnoText())") }
        defer { close(fd) }
        if let symbol = dlsym(nil, "syncfs") {
            let syncfs = unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
            guard syncfs(fd) == 0 else { throw BackupError.io(path: path, reason: "cannot sync: \(errnoText())") }
        } else {
            sync()
        }
    }

    /// The SHA-256 of a string's bytes in hex (the manifest's own digest).
    static func digest(text: String) -> String {
        var hasher = StreamingSHA256()
        Array(text.utf8).withUnsafeBytes { hasher.update($0) }
        return hasher.finalizeHex()
    }
}
