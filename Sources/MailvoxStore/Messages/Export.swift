import Foundation
import MailvoxCore

extension MessageStore {
    /// Writes `mailbox` as a plain, decrypted Maildir++ tree at `directory` (`mailvox export`):
    /// INBOX at the top, other folders as `.Name` with `/` turned into `.`, flags in the info
    /// suffix, the internal date as each file's mtime, and a `subscriptions` file. Any Maildir
    /// tool (Dovecot, mutt, Python's `mailbox`) reads it — no lock-in.
    ///
    /// Keywords stay behind: Maildir has no standard place for them.
    @discardableResult
    public func export(
        mailbox: MailboxID, to directory: String, progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> Int {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            guard isDirectory.boolValue, entries.isEmpty else {
                throw StoreError.io(
                    path: directory, reason: "exists and is not an empty directory; refusing to mix into it")
            }
        }
        let folders = try folders(mailbox: mailbox)
        let total = try folders.reduce(0) { $0 + (try status(mailbox: mailbox, folder: $1.name).messages) }
        var done = 0
        var subscriptions: [String] = []
        for (ordinal, folder) in folders.enumerated() {
            let target =
                folder.name == "INBOX"
                ? directory : directory + "/." + folder.name.replacingOccurrences(of: "/", with: ".")
            for sub in ["", "/tmp", "/new", "/cur"] {
                try FileManager.default.createDirectory(atPath: target + sub, withIntermediateDirectories: true)
            }
            if folder.subscribed && folder.name != "INBOX" {
                subscriptions.append(folder.name.replacingOccurrences(of: "/", with: "."))
            }
            for message in try messages(mailbox: mailbox, folder: folder.name) {
                let content = try read(mailbox: mailbox, folder: folder.name, uid: message.uid)
                let seconds = Int(message.internalDate.timeIntervalSince1970)
                let path =
                    "\(target)/cur/\(seconds).M\(message.uid)F\(ordinal).mailvox:2,\(message.flags.system.maildirLetters)"
                guard FileManager.default.createFile(atPath: path, contents: content) else {
                    throw StoreError.io(path: path, reason: "cannot write")
                }
                var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
                utimensat(AT_FDCWD, path, &times, 0)
                done += 1
                progress(done, total)
            }
        }
        let list = subscriptions.map { $0 + "\n" }.joined()
        guard FileManager.default.createFile(atPath: directory + "/subscriptions", contents: Data(list.utf8)) else {
            throw StoreError.io(path: directory + "/subscriptions", reason: "cannot write")
        }
        return done
    }
}
