import Foundation
import Logging
import MailvoxAudio
import MailvoxCore

/// The drop folder front door (docs/DESIGN.md §3.7): a PBX writes `NAME.json` or Asterisk's
/// `NAME.txt` (or nothing, inside a folder named after the mailbox), then `NAME.EXT`. Taken
/// files are deleted (or kept in `processed/`); unusable ones go to `rejected/` with
/// `NAME.error` saying why. Both folders are 0700 and what goes there 0600: the caller's
/// number is in the sidecar.
///
/// What is taken, and when:
/// - Only regular files, opened with `O_NOFOLLOW` and checked by descriptor, and read through
///   that descriptor: a symlink, directory, FIFO or device put there is moved to `rejected/`,
///   never followed. Dot-files and `*.part`/`*.tmp` are ignored entirely.
/// - Only files owned by the server's user, root, or the drop folder's owner (whoever the
///   admin gave the folder to is the writer); others go to `rejected/`.
/// - Only once the file is complete: unchanged (inode, size, mtime) since the previous scan,
///   its mtime at least `settleSeconds` old, and — where the kernel allows a read lease
///   (`F_SETLEASE`, files the server owns or with CAP_LEASE) — open for writing by nobody.
///   Renaming a finished file into place is still the recommended way to deliver.
public struct DropFolder: Sendable {
    let directory: String
    let keepProcessed: Bool
    let intake: Intake
    let logger: Logger
    /// What the previous scan saw; shared by the copies of this value the server's loop makes.
    let previousScan = DropScanMemory()
    /// How long a file must stay unchanged before it is taken.
    public static let settleSeconds = 2.0
    /// Sidecars are a few hundred bytes; a larger one is refused unread.
    static let maxSidecarBytes = 1 << 20

    public init(directory: String, keepProcessed: Bool, intake: Intake, logger: Logger) {
        self.directory = directory
        self.keepProcessed = keepProcessed
        self.intake = intake
        self.logger = logger
    }

    public enum Outcome: Sendable, Equatable {
        case queued(file: String, depositID: String)
        case rejected(file: String, reason: String)
    }

    /// An entry of the folder that might be a recording.
    struct Candidate {
        var path: String
        var folderMailbox: String?
        /// Nil for a regular file; otherwise what it is ("a symbolic link", …).
        var notRegular: String?
    }

    /// One pass over the folder; returns what it did.
    @discardableResult
    public func scan(now: Date = Date()) -> [Outcome] {
        let owners = allowedOwners()
        let previous = previousScan.table.withLock { $0 }
        var current: [String: DropSnapshot] = [:]
        defer { previousScan.table.withLock { $0 = current } }
        var outcomes: [Outcome] = []
        for candidate in candidates() {
            if let kind = candidate.notRegular {
                reject(candidate.path, files: [], reason: "\(candidate.path): \(kind); only regular files are taken")
                outcomes.append(.rejected(file: candidate.path, reason: kind))
                continue
            }
            let file: DropFile
            do throws(DropFile.Refusal) {
                file = try DropFile(path: candidate.path)
            } catch {
                switch error {
                case .vanished: break
                case .notRegular(let kind):
                    reject(
                        candidate.path, files: [], reason: "\(candidate.path): \(kind); only regular files are taken")
                    outcomes.append(.rejected(file: candidate.path, reason: kind))
                case .failed(let reason):
                    logger.error("drop folder: cannot open \(candidate.path.logEscaped): \(reason)")
                }
                continue
            }
            if let problem = ownerProblem(file, owners: owners) {
                reject(candidate.path, files: [file], reason: problem)
                outcomes.append(.rejected(file: candidate.path, reason: problem))
                continue
            }
            // Complete only when nothing changed since the last pass and the settle time is up…
            let snapshot = file.snapshot
            current[file.path] = snapshot
            guard previous[file.path] == snapshot, now.timeIntervalSince1970 - file.mtime >= Self.settleSeconds else {
                continue
            }
            // …and nobody has it open for writing (the lease stays held until `file` closes,
            // after the file is gone from the folder).
            if case .busy = file.takeReadLease() {
                logger.debug("drop folder: \(file.path.logEscaped) is still open for writing")
                continue
            }
            if let outcome = take(file, folderMailbox: candidate.folderMailbox, owners: owners) {
                outcomes.append(outcome)
            }
        }
        return outcomes
    }

    /// Reads the recording and its sidecar through their descriptors and hands them to the intake.
    private func take(_ file: DropFile, folderMailbox: String?, owners: Set<uid_t>) -> Outcome? {
        let base = (file.path as NSString).deletingPathExtension
        let name = (file.path as NSString).lastPathComponent
        var sidecarFiles: [DropFile] = []
        do {
            var sidecars: [(path: String, data: Data)] = []
            for path in [base + ".json", base + ".txt"] {
                guard let sidecar = try openSidecar(path, owners: owners) else { continue }
                sidecarFiles.append(sidecar)
                guard let data = try sidecar.readAll(limit: Self.maxSidecarBytes) else {
                    throw PipelineError.badRequest("\(path): larger than \(Self.maxSidecarBytes) bytes")
                }
                sidecars.append((path, data))
            }
            var request = try Self.details(sidecars: sidecars, folderMailbox: folderMailbox)
            let limit = intake.config.http.maxBodyBytes
            guard let audio = try file.readAll(limit: limit) else {
                throw PipelineError.payloadTooLarge(size: file.size, limit: limit)
            }
            request.audio = .bytes(audio, fileExtension: (file.path as NSString).pathExtension)
            // The same file seen again after a crash between queueing and deleting it is
            // the same deposit, not a second one.
            request.idempotencyKey = "drop:\(file.path):\(file.size):\(Int(file.mtime))"
            let receipt: DepositReceipt
            do {
                receipt = try intake.deposit(request)
            } catch PipelineError.audio(let error) {
                // The intake saw bytes; name the recording as its writer knows it.
                var named = error
                named.file = file.path
                throw PipelineError.audio(named)
            }
            finish(file.path, files: [file] + sidecarFiles, into: keepProcessed ? "processed" : nil)
            logger.info(
                "drop folder: queued", metadata: ["deposit": "\(receipt.depositID)", "file": "\(name.logEscaped)"])
            return .queued(file: file.path, depositID: receipt.depositID)
        } catch let error as any MailvoxFailure where error.kind == .input {
            reject(file.path, files: [file] + sidecarFiles, reason: error.description)
            return .rejected(file: file.path, reason: error.description)
        } catch {
            // Disk full, database busy: leave the files for the next pass.
            logger.error("drop folder: \(String(describing: error).logEscaped)")
            return nil
        }
    }

    /// A sidecar, held to the recording's rules; nil when there is none.
    private func openSidecar(_ path: String, owners: Set<uid_t>) throws -> DropFile? {
        let sidecar: DropFile
        do throws(DropFile.Refusal) {
            sidecar = try DropFile(path: path)
        } catch {
            switch error {
            case .vanished: return nil
            case .notRegular(let kind): throw PipelineError.badRequest("\(path): \(kind); only regular files are taken")
            case .failed(let reason): throw PipelineError.io(path: path.logEscaped, reason: reason)
            }
        }
        if let problem = ownerProblem(sidecar, owners: owners) { throw PipelineError.badRequest(problem) }
        return sidecar
    }

    /// The users whose files are taken: the server's, root, and the drop folder's owner.
    func allowedOwners() -> Set<uid_t> {
        var owners: Set<uid_t> = [geteuid(), 0]
        var info = stat()
        if stat(directory, &info) == 0 { owners.insert(info.st_uid) }
        return owners
    }

    private func ownerProblem(_ file: DropFile, owners: Set<uid_t>) -> String? {
        guard !owners.contains(file.info.st_uid) else { return nil }
        let listed = owners.sorted().map(String.init).joined(separator: ", ")
        return
            "\(file.path): owned by uid \(file.info.st_uid); only files of the server's user, root or the drop folder's owner (uids \(listed)) are taken"
    }

    /// Entries waiting: top level (mailbox from a sidecar) and one level of subfolders named
    /// like a mailbox id. Looked at with lstat: a symlink is reported as one, never followed.
    func candidates() -> [Candidate] {
        var found: [Candidate] = []
        let manager = FileManager.default
        for name in ((try? manager.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        where name != "processed" && name != "rejected" && Self.isAudioCandidate(name) {
            let path = directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                found.append(Candidate(path: path, folderMailbox: nil))
            case S_IFDIR:
                // Other directories are the admin's business; only mailbox folders are read.
                guard MailboxID(name) != nil else { continue }
                for inner in ((try? manager.contentsOfDirectory(atPath: path)) ?? []).sorted()
                where Self.isAudioCandidate(inner) {
                    var innerInfo = stat()
                    guard lstat(path + "/" + inner, &innerInfo) == 0 else { continue }
                    let isRegular = innerInfo.st_mode & S_IFMT == S_IFREG
                    found.append(
                        Candidate(
                            path: path + "/" + inner, folderMailbox: name,
                            notRegular: isRegular ? nil : DropFile.kind(innerInfo.st_mode)))
                }
            default:
                found.append(Candidate(path: path, folderMailbox: nil, notRegular: DropFile.kind(info.st_mode)))
            }
        }
        return found
    }

    /// Not dot-files (hidden, or a writer's temporary name), not `*.part`/`*.tmp` (still being
    /// written), not sidecars or our own `.error` files.
    static func isAudioCandidate(_ name: String) -> Bool {
        let lower = name.lowercased()
        return !name.isEmpty && !name.hasPrefix(".") && !lower.hasSuffix(".tmp") && !lower.hasSuffix(".part")
            && !lower.hasSuffix(".json")
            && !lower.hasSuffix(".txt") && !lower.hasSuffix(".error")
    }

    /// The deposit's details from the sidecar (JSON first, then Asterisk), else the folder name.
    static func details(sidecars: [(path: String, data: Data)], folderMailbox: String?) throws -> DepositRequest {
        var request = DepositRequest(mailbox: folderMailbox ?? "", audio: .bytes(Data(), fileExtension: ""))
        if let json = sidecars.first(where: { $0.path.hasSuffix(".json") }) {
            try SidecarReader.applyJSON(json.data, to: &request)
        } else if let text = sidecars.first(where: { $0.path.hasSuffix(".txt") }) {
            try SidecarReader.applyAsterisk(String(decoding: text.data, as: UTF8.self), to: &request)
        }
        guard !request.mailbox.isEmpty else {
            throw PipelineError.badRequest(
                "no mailbox: give a NAME.json or NAME.txt sidecar, or put the file in a folder named after the mailbox")
        }
        return request
    }

    /// Moves `path` and its sidecars to `rejected/` with `NAME.error`; logs only the escaped name.
    private func reject(_ path: String, files: [DropFile], reason: String) {
        finish(path, files: files, into: "rejected", reason: reason)
        logger.warning("drop folder: rejected \((path as NSString).lastPathComponent.logEscaped)")
    }

    /// Deletes `path` and its sidecars, or moves them into `folder` (0700) made private (0600).
    private func finish(_ path: String, files: [DropFile], into folder: String?, reason: String? = nil) {
        let base = (path as NSString).deletingPathExtension
        var paths = [path]
        for sidecar in [base + ".json", base + ".txt"] {
            var info = stat()
            if lstat(sidecar, &info) == 0 { paths.append(sidecar) }
        }
        guard let folder else {
            for path in paths where Self.stillNames(path, files) { unlink(path) }
            return
        }
        guard let target = privateDirectory(folder) else { return }
        for file in files { file.makePrivate() }
        for path in paths where Self.stillNames(path, files) {
            let destination = target + "/" + (path as NSString).lastPathComponent
            try? FileManager.default.removeItem(atPath: destination)
            if rename(path, destination) != 0 {
                logger.error(
                    "drop folder: cannot move \(path.logEscaped) to \(folder)/: \(String(cString: strerror(errno)))")
            }
        }
        if let reason {
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            if !Self.writePrivate(target + "/" + name + ".error", Data((reason + "\n").utf8)) {
                logger.error("drop folder: cannot write \(folder)/\(name.logEscaped).error")
            }
        }
    }

    /// Whether `path` still names the file that was checked (a writer may have renamed a new
    /// one into place meanwhile: that one is not ours to delete or move).
    private static func stillNames(_ path: String, _ files: [DropFile]) -> Bool {
        guard let file = files.first(where: { $0.path == path }) else { return true }
        var info = stat()
        return lstat(path, &info) == 0 && info.st_dev == file.info.st_dev && info.st_ino == file.info.st_ino
    }

    /// `directory/name`, made if missing, 0700; nil (logged) if it is not a real directory.
    private func privateDirectory(_ name: String) -> String? {
        let path = directory + "/" + name
        _ = mkdir(path, 0o700)
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            logger.error("drop folder: \(name)/ is not a directory; leaving the files where they are")
            return nil
        }
        if info.st_mode & 0o077 != 0 && chmod(path, 0o700) != 0 {
            logger.warning("drop folder: cannot make \(name)/ private: \(String(cString: strerror(errno)))")
        }
        return path
    }

    /// Writes a new 0600 file at `path` (replacing one), never through a symlink.
    private static func writePrivate(_ path: String, _ contents: Data) -> Bool {
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        fchmod(fd, 0o600)
        return contents.withUnsafeBytes { buffer in
            buffer.count == 0 || write(fd, buffer.baseAddress!, buffer.count) == buffer.count
        }
    }
}

extension SidecarReader {
    /// Applies a `.json` sidecar to `request`; hostile input gives `PipelineError.badRequest`.
    public static func applyJSON(_ data: Data, to request: inout DepositRequest) throws {
        do {
            request.apply(try json(data))
        } catch {
            throw PipelineError.badRequest(error.description)
        }
    }

    /// Applies an Asterisk `.txt` sidecar to `request`; hostile input gives `PipelineError.badRequest`.
    public static func applyAsterisk(_ text: String, to request: inout DepositRequest) throws {
        do {
            request.apply(try asterisk(text))
        } catch {
            throw PipelineError.badRequest(error.description)
        }
    }
}

extension DepositRequest {
    /// What the sidecar gives replaces what the request had; what it omits is kept.
    mutating func apply(_ fields: SidecarFields) {
        if let mailbox = fields.mailbox { self.mailbox = mailbox }
        if let number = fields.callerNumber { callerNumber = number }
        if let name = fields.callerName { callerName = name }
        if let receivedAt = fields.receivedAt { self.receivedAt = receivedAt }
        if let urgent = fields.urgent { self.urgent = urgent }
    }
}
