import Foundation
import MailvoxCore
import MailvoxCrypto

/// The Maildir spool: `spool/<mailbox>/<folder-id>/{tmp,new,cur}/` (docs/DESIGN.md §5.1).
///
/// Every step that makes a file visible is durable before the next one: write to `tmp/`,
/// fsync, rename, fsync the directory. Folder directories are named by id, so no folder
/// name, caller or subject ever appears in a path.
struct Spool: Sendable {
    let root: String

    func folderDirectory(mailbox: String, folderID: Int64) -> String { "\(root)/\(mailbox)/\(folderID)" }

    func mailboxDirectory(_ mailbox: String) -> String { "\(root)/\(mailbox)" }

    /// The file's path given what the index says: `new/NAME`, or `cur/NAME:2,FLAGS` once seen.
    func path(mailbox: String, folderID: Int64, fileName: String, inCur: Bool, letters: String) -> String {
        let folder = folderDirectory(mailbox: mailbox, folderID: folderID)
        return inCur ? "\(folder)/cur/\(fileName):2,\(letters)" : "\(folder)/new/\(fileName)"
    }

    /// Finds a message's file whatever its info suffix: the index is authoritative for flags,
    /// but a crash between a rename and its commit can leave the suffix a step ahead.
    func locate(mailbox: String, folderID: Int64, fileName: String, expected: String) -> String? {
        if access(expected, F_OK) == 0 { return expected }
        let folder = folderDirectory(mailbox: mailbox, folderID: folderID)
        if access("\(folder)/new/\(fileName)", F_OK) == 0 { return "\(folder)/new/\(fileName)" }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "\(folder)/cur")) ?? []
        return entries.first { $0 == fileName || $0.hasPrefix(fileName + ":") }.map { "\(folder)/cur/\($0)" }
    }

    func ensureFolder(mailbox: String, folderID: Int64) throws {
        let folder = folderDirectory(mailbox: mailbox, folderID: folderID)
        for path in [root, "\(root)/\(mailbox)", folder, "\(folder)/tmp", "\(folder)/new", "\(folder)/cur"] {
            if mkdir(path, 0o700) != 0 && errno != EEXIST { throw MailStoreError.io(path: path, reason: errnoText()) }
        }
    }

    /// Writes `body` (already sealed) through `tmp/` into `destination`, durably.
    func deliver(
        mailbox: String, folderID: Int64, fileName: String, destination: String, body: (Int32) throws -> Void
    )
        throws
    {
        let temporary = folderDirectory(mailbox: mailbox, folderID: folderID) + "/tmp/" + fileName
        var fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        // The folder's directories are made on its first delivery, not checked (six mkdir calls)
        // on every one.
        if fd < 0 && errno == ENOENT {
            try ensureFolder(mailbox: mailbox, folderID: folderID)
            fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        }
        guard fd >= 0 else { throw MailStoreError.io(path: temporary, reason: errnoText()) }
        do {
            try body(fd)
            guard fsync(fd) == 0 else { throw MailStoreError.io(path: temporary, reason: errnoText()) }
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        var renamed = Glibc.rename(temporary, destination) == 0
        // A folder whose tmp/ exists but whose new/ or cur/ went missing gets them back here.
        if !renamed && errno == ENOENT {
            try? ensureFolder(mailbox: mailbox, folderID: folderID)
            renamed = Glibc.rename(temporary, destination) == 0
        }
        guard renamed else {
            let reason = errnoText()
            unlink(temporary)
            throw MailStoreError.io(path: destination, reason: reason)
        }
        DurableFile.syncDirectory(of: destination)
    }

    /// A second name for an existing file (COPY/MOVE): no bytes are copied or re-sealed.
    func link(from source: String, to destination: String, mailbox: String, folderID: Int64) throws {
        try ensureFolder(mailbox: mailbox, folderID: folderID)
        guard Glibc.link(source, destination) == 0 else {
            throw MailStoreError.io(path: destination, reason: errnoText())
        }
        DurableFile.syncDirectory(of: destination)
    }

    func rename(from source: String, to destination: String) throws {
        guard source != destination else { return }
        var renamed = Glibc.rename(source, destination) == 0
        // A folder whose `cur/` went missing gets it back, as delivery remakes a missing `new/`.
        if !renamed && errno == ENOENT && access(source, F_OK) == 0 {
            mkdir((destination as NSString).deletingLastPathComponent, 0o700)
            renamed = Glibc.rename(source, destination) == 0
        }
        guard renamed else { throw MailStoreError.io(path: source, reason: errnoText()) }
        DurableFile.syncDirectory(of: destination)
        if (source as NSString).deletingLastPathComponent != (destination as NSString).deletingLastPathComponent {
            DurableFile.syncDirectory(of: source)
        }
    }

    /// Unlinks `path` (gone already is fine) and makes the removal durable.
    func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw MailStoreError.io(path: path, reason: errnoText()) }
        DurableFile.syncDirectory(of: path)
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }
