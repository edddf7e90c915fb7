import Foundation
import MailvoxCore
import MailvoxCrypto
import Synchronization

/// Scratch space for a recording in the clear while intake probes it or a deliver job decodes
/// it: RAM-backed `/dev/shm` when the machine has it, so plaintext never reaches a disk; else
/// `queue/work/`.
///
/// Layout: `/dev/shm/mailvox-<uid>-<hash>/` (mode 700), `<hash>` the first 16 hex digits of the
/// SHA-256 of the data dir's real path, so two instances of one user never share a folder.
/// Inside, each process that uses scratch (`serve`, and every `mailvox deposit`) has a folder of
/// its own, `<pid>-<random>/` (mode 700), which it holds an exclusive `flock` on for its whole
/// life. A folder whose lock can be taken belongs to a process that is gone (the kernel drops
/// a lock when its holder dies, however it dies), and only such folders are removed: at `serve`
/// start (`removeAbandoned`, every base of the user) and when a process first uses scratch
/// (its own base). A concurrent `mailvox deposit`'s file is therefore never deleted.
public struct Scratch: Sendable {
    /// This process's own folder; files go straight in it.
    let directory: String

    /// This process's folder under the scratch base of `queueDir`'s instance (made on first use).
    init(queueDir: String) throws {
        directory = try Self.processFolder(queueDir: queueDir)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    // MARK: - Base folder

    /// The base folder of the instance whose queue is `queueDir`: `/dev/shm/mailvox-<uid>-<hash>`
    /// when `/dev/shm` is usable, else `queueDir/work`. Made mode 700; a base that exists but is
    /// not a directory of ours with mode 700 (a symlink, another user's) is never used.
    static func base(queueDir: String) throws -> String {
        let shm = "/dev/shm"
        if access(shm, W_OK) == 0 {
            let candidate = "\(shm)/mailvox-\(getuid())-\(instanceHash(queueDir: queueDir))"
            if (try? ensurePrivateDirectory(candidate)) != nil { return candidate }
        }
        let work = queueDir + "/work"
        try ensurePrivateDirectory(work)
        return work
    }

    /// The first 16 hex digits of SHA-256 over the data dir's real path (the queue's parent).
    static func instanceHash(queueDir: String) -> String {
        let dataDir = (queueDir as NSString).deletingLastPathComponent
        var path = dataDir
        if let resolved = realpath(dataDir, nil) {
            path = String(cString: resolved)
            free(resolved)
        }
        return Hashing.sha256(Data(path.utf8)).prefix(8).lowercaseHex
    }

    /// Makes `path` a directory of this user with mode 700, or throws: in a world-writable
    /// folder like `/dev/shm` someone else may have made the name first.
    static func ensurePrivateDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw PipelineError.io(path: path, reason: String(cString: strerror(errno)))
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw PipelineError.io(path: path, reason: String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid() else {
            throw PipelineError.io(path: path, reason: "not a directory owned by uid \(getuid())")
        }
        if info.st_mode & 0o777 != 0o700 && chmod(path, 0o700) != 0 {
            throw PipelineError.io(path: path, reason: "cannot make it mode 700: \(String(cString: strerror(errno)))")
        }
    }

    // MARK: - The process's folder

    /// Per base folder, this process's folder and the descriptor that holds its lock (never closed:
    /// the lock must live as long as the process).
    private static let owned = Mutex<[String: (folder: String, fd: Int32)]>([:])

    /// Prefix of a folder that is being made: not yet locked, so not judged by its lock alone.
    static let newPrefix = ".new-"

    static func processFolder(queueDir: String) throws -> String {
        let base = try base(queueDir: queueDir)
        return try owned.withLock { owned in
            if let existing = owned[base], access(existing.folder, W_OK) == 0 { return existing.folder }
            _ = removeAbandoned(base: base)
            let name = "\(getpid())-\(UInt64.random(in: 0...UInt64.max) & 0xffff_ffff)"
            // Made under a temporary name and locked before it gets its real one, so a cleaner
            // running at the same moment never sees it unlocked.
            let temporary = "\(base)/\(newPrefix)\(name)"
            let folder = "\(base)/\(name)"
            if mkdir(temporary, 0o700) != 0 && errno == ENOENT {
                // A sweep at another instance's start removed the base while it was empty.
                try ensurePrivateDirectory(base)
                _ = mkdir(temporary, 0o700)
            }
            guard access(temporary, F_OK) == 0 else {
                throw PipelineError.io(path: temporary, reason: String(cString: strerror(errno)))
            }
            let fd = open(temporary, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0, flock(fd, LOCK_EX | LOCK_NB) == 0, rename(temporary, folder) == 0 else {
                let reason = String(cString: strerror(errno))
                if fd >= 0 { close(fd) }
                rmdir(temporary)
                throw PipelineError.io(path: folder, reason: reason)
            }
            if let previous = owned[base] { close(previous.fd) }
            owned[base] = (folder, fd)
            return folder
        }
    }

    // MARK: - Cleaning

    /// Removes the scratch folders of processes that are gone: in every scratch base of this
    /// user under `/dev/shm` (a lock that can be taken proves its process dead, whatever its
    /// instance; a base left empty goes too), in `queueDir/work`, and plaintext left in the
    /// shared folder of versions before per-instance scratch. Call at `serve` start: a
    /// recording left by a kill during intake or delivery must not outlive the process.
    /// Returns how many folders and files were removed.
    @discardableResult
    public static func removeAbandoned(queueDir: String) -> Int {
        var removed = removeLegacyShared()
        let prefix = "mailvox-\(getuid())-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []
        for name in names where name.hasPrefix(prefix) {
            let base = "/dev/shm/" + name
            var info = stat()
            guard lstat(base, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid() else { continue }
            removed += owned.withLock { _ in removeAbandoned(base: base) }
            rmdir(base)  // only when empty; a process making its folder now makes the base again
        }
        removed += owned.withLock { _ in removeAbandoned(base: queueDir + "/work") }
        return removed
    }

    /// Removes every folder under `base` whose lock can be taken (its process is gone), and
    /// loose files (nothing puts files directly in `base`). Folders still being made
    /// (`.new-…`) count only when older than a minute. Call with `owned` locked.
    private static func removeAbandoned(base: String) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: base) else { return 0 }
        var removed = 0
        for name in names {
            let path = base + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                if unlink(path) == 0 { removed += 1 }
                continue
            }
            if name.hasPrefix(newPrefix) && Double(info.st_mtim.tv_sec) > Date().timeIntervalSince1970 - 60 {
                continue
            }
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            // Our own folder is held through another descriptor of this process: flock
            // conflicts between descriptions, so it is refused here like any live one.
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            if (try? FileManager.default.removeItem(atPath: path)) != nil { removed += 1 }
        }
        return removed
    }

    /// `/dev/shm/mailvox-<uid>/`, shared by every instance before scratch was per instance:
    /// its files are removed once older than an hour (a deliver job's lease is 5 minutes, so
    /// a still-running older server is not disturbed), and the folder once empty.
    private static func removeLegacyShared() -> Int {
        let legacy = "/dev/shm/mailvox-\(getuid())"
        var info = stat()
        guard lstat(legacy, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid(),
            let names = try? FileManager.default.contentsOfDirectory(atPath: legacy)
        else { return 0 }
        var removed = 0
        let cutoff = Date().timeIntervalSince1970 - 3600
        for name in names {
            var file = stat()
            let path = legacy + "/" + name
            guard lstat(path, &file) == 0, file.st_mode & S_IFMT == S_IFREG, Double(file.st_mtim.tv_sec) < cutoff
            else { continue }
            if unlink(path) == 0 { removed += 1 }
        }
        rmdir(legacy)
        return removed
    }
}
