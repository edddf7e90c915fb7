import Foundation
import MailvoxCore

extension MessageStore {
    /// Writes `mailbox` as a plain, decrypted Maildir++ tree at `directory` (`mailvox export`):
    /// INBOX at the top, other folders as `.Name` with `/` turned into `.`, flags in the info
    /// suffix, the internal date as each file's mtime, and a `subscriptions` file. Any Maildir
    /// tool (Dovecot, mutt, Python's `mailbox`) reads it — no lock-in.
    ///
    /// All or nothing: every folder's Maildir++ name is worked out (and refused if it cannot
    /// be one file name) before anything is written; the tree is written into a private
    /// directory beside `directory` and renamed into place at the end, and removed on any
    /// failure or cancellation. Nothing is ever written outside it: each level of a folder
    /// name is escaped (`MaildirName`), so `.`, `..` or an empty level cannot climb out.
    /// Directories are 0700 and files 0600 — the messages are decrypted.
    ///
    /// Keywords stay behind: Maildir has no standard place for them.
    @discardableResult
    public func export(
        mailbox: MailboxID, to directory: String, progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> Int {
        let target = URL(fileURLWithPath: directory).standardizedFileURL
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: target.path, isDirectory: &isDirectory) {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: target.path)) ?? []
            guard isDirectory.boolValue, entries.isEmpty else {
                throw MailStoreError.io(
                    path: directory, reason: "exists and is not an empty directory; refusing to mix into it")
            }
        }
        let folders = try folders(mailbox: mailbox)
        // Every name first: a folder that cannot be exported stops the export before it starts.
        let plan = try folders.map { folder in
            (folder: folder, name: folder.name == "INBOX" ? nil : try MaildirName.folder(folder.name))
        }
        let total = try folders.reduce(0) { $0 + (try status(mailbox: mailbox, folder: $1.name).messages) }

        let parent = target.deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let staging = try PrivateDirectory.staging(beside: target, purpose: "export")
        do {
            var done = 0
            var subscriptions: [String] = []
            for (ordinal, entry) in plan.enumerated() {
                let folderDirectory = try Self.folderDirectory(staging: staging, maildirName: entry.name)
                for sub in ["tmp", "new", "cur"] { try PrivateDirectory.make(folderDirectory + "/" + sub) }
                if let name = entry.name, entry.folder.subscribed { subscriptions.append(String(name.dropFirst())) }
                for message in try messages(mailbox: mailbox, folder: entry.folder.name) {
                    // `mailvox export` cancels its task on SIGINT/SIGTERM: stop and clean up.
                    if Task.isCancelled { throw CancellationError() }
                    let content = try read(mailbox: mailbox, folder: entry.folder.name, uid: message.uid)
                    let seconds = Int(message.internalDate.timeIntervalSince1970)
                    let path =
                        "\(folderDirectory)/cur/\(seconds).M\(message.uid)F\(ordinal).mailvox:2,\(message.flags.system.maildirLetters)"
                    try Self.writePrivateFile(path, contents: content, mtime: seconds)
                    done += 1
                    progress(done, total)
                }
            }
            let list = subscriptions.map { $0 + "\n" }.joined()
            try Self.writePrivateFile(staging + "/subscriptions", contents: Data(list.utf8), mtime: nil)
            // rename(2) replaces an empty directory atomically; a non-empty one that appeared
            // meanwhile makes it fail (ENOTEMPTY), and nothing is mixed in.
            guard rename(staging, target.path) == 0 else {
                throw MailStoreError.io(
                    path: directory, reason: "cannot move the export into place: \(Self.errnoText())")
            }
            return done
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }

    /// Where a folder goes inside `staging`: INBOX (nil) at the top, others one level below,
    /// checked to be inside `staging` whatever the name.
    static func folderDirectory(staging: String, maildirName: String?) throws -> String {
        guard let maildirName else { return staging }
        let path = staging + "/" + maildirName
        guard MaildirName.isSafeComponent(maildirName),
            URL(fileURLWithPath: path).standardizedFileURL.path.hasPrefix(staging + "/")
        else {
            throw MailStoreError.io(path: path, reason: "refusing to write outside the export directory")
        }
        try PrivateDirectory.make(path)
        return path
    }

    /// Writes a new file, 0600, never through a symlink; sets its mtime to `mtime` if given.
    static func writePrivateFile(_ path: String, contents: Data, mtime: Int?) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MailStoreError.io(path: path, reason: "cannot create: \(errnoText())") }
        defer { close(fd) }
        try contents.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw MailStoreError.io(path: path, reason: "cannot write: \(errnoText())") }
                offset += written
            }
        }
        guard fchmod(fd, 0o600) == 0 else {
            throw MailStoreError.io(path: path, reason: "cannot chmod: \(errnoText())")
        }
        if let mtime {
            var times = [timespec(tv_sec: mtime, tv_nsec: 0), timespec(tv_sec: mtime, tv_nsec: 0)]
            futimens(fd, &times)
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// Maildir++ folder names (the Courier/Dovecot layout `mailvox export` writes): `.` plus the
/// levels joined by `.`.
///
/// Each level is escaped so that the result is always one safe file name naming exactly one
/// folder: `%` → `%25`, `.` → `%2E` (a dot would otherwise start a false level, and `.` or
/// `..` would climb out of the export), control characters → `%XX`, and an empty level → `%`
/// (which escaping never produces otherwise). Folders from databases older than the store's
/// name rules may hold any of these.
public enum MaildirName {
    /// A file name may have at most 255 bytes (NAME_MAX on Linux file systems).
    public static let maxBytes = 255

    /// `.Level1.Level2` for `Level1/Level2`, escaped; refused when longer than a file name may be.
    public static func folder(_ name: String) throws -> String {
        let levels = name.split(separator: "/", omittingEmptySubsequences: false).map { escape(String($0)) }
        let component = "." + levels.joined(separator: ".")
        guard component.utf8.count <= maxBytes else {
            throw MailStoreError.invalidFolderName(
                name,
                reason:
                    "its Maildir++ name would be \(component.utf8.count) bytes, over the \(maxBytes) a file name may have; rename the folder and export again"
            )
        }
        return component
    }

    static func escape(_ level: String) -> String {
        if level.isEmpty { return "%" }
        var out: [UInt8] = []
        for byte in level.utf8 {
            if byte == UInt8(ascii: "%") || byte == UInt8(ascii: ".") || byte < 0x20 || byte == 0x7F {
                out += Array(String(format: "%%%02X", byte).utf8)
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// One file name that is a Maildir++ folder: starts with `.`, is neither `.` nor `..`, has no `/`.
    static func isSafeComponent(_ component: String) -> Bool {
        component.hasPrefix(".") && component != "." && component != ".." && !component.contains("/")
            && !component.utf8.contains(0) && component.utf8.count <= maxBytes
    }
}
