import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase

/// What a start-up scan or `fsck` found and did, for the log and the operator.
public struct SpoolReport: Sendable, Equatable {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var mailbox: String
        public var folder: String
        public var uid: UInt32?
        public var path: String
        public var reason: String

        public var description: String {
            "\(mailbox)/\(folder)\(uid.map { " UID \($0)" } ?? ""): \(reason) (\(path))"
        }
    }

    public var tombstonesReplayed = 0
    public var temporaryFilesRemoved = 0
    /// Files that had neither row nor tombstone, now indexed under new UIDs.
    public var indexed: [(mailbox: String, folder: String, uid: UInt32)] = []
    public var messagesChecked = 0
    public var problems: [Problem] = []

    public static func == (lhs: SpoolReport, rhs: SpoolReport) -> Bool {
        lhs.tombstonesReplayed == rhs.tombstonesReplayed && lhs.temporaryFilesRemoved == rhs.temporaryFilesRemoved
            && lhs.indexed.map { "\($0.mailbox)/\($0.folder)/\($0.uid)" }
                == rhs.indexed.map { "\($0.mailbox)/\($0.folder)/\($0.uid)" }
            && lhs.messagesChecked == rhs.messagesChecked && lhs.problems == rhs.problems
    }
}

extension MessageStore {
    private struct FolderLocation {
        var mailbox: MailboxID
        var id: Int64
        var name: String
    }

    private func folderLocations() throws -> [FolderLocation] {
        try database.read { db in
            try db.rows("SELECT id, mailbox_id, name FROM folder ORDER BY id").compactMap { row in
                let id: Int64 = try row.get("id")
                let name: String = try row.get("name")
                return MailboxID(try row.get("mailbox_id")).map { FolderLocation(mailbox: $0, id: id, name: name) }
            }
        }
    }

    /// Brings index and spool into agreement after a crash (run by `serve` before it is ready):
    /// replays tombstones, drops `tmp/` leftovers, indexes files that have no row (new UIDs),
    /// and reports rows whose file is missing — it never deletes a row or an unreadable file.
    public func recover() throws -> SpoolReport {
        var report = SpoolReport()
        report.tombstonesReplayed = try database.read { db in
            try db.scalar(Int.self, "SELECT COUNT(*) AS tombstones FROM tombstone") ?? 0
        }
        try replayTombstones()
        // Objects are never half-written and a crash leaves no object a retried job would not
        // write again; the sweeper removes those no row names (docs/SCALE-OUT.md).
        guard let spool = files as? Spool else { return report }
        for folder in try folderLocations() {
            let directory = spool.folderDirectory(mailbox: folder.mailbox.rawValue, folderID: folder.id)
            guard FileManager.default.fileExists(atPath: directory) else { continue }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory + "/tmp")) ?? [] {
                try spool.remove(directory + "/tmp/" + name)
                report.temporaryFilesRemoved += 1
            }
            let files = spoolFiles(in: directory)
            let rows = try database.read { db in
                try db.rows("SELECT uid, file_name FROM message WHERE folder_id = ?", sqlValues(folder.id)).map {
                    (uid: try $0.get("uid", as: Int64.self), fileName: try $0.get("file_name", as: String.self))
                }
            }
            let known = Set(rows.map(\.fileName))
            for (stem, path) in files.sorted(by: { $0.key < $1.key }) where !known.contains(stem) {
                do {
                    let uid = try index(path: path, stem: stem, folder: folder.name, mailbox: folder.mailbox)
                    report.indexed.append((folder.mailbox.rawValue, folder.name, uid))
                } catch {
                    report.problems.append(
                        .init(
                            mailbox: folder.mailbox.rawValue, folder: folder.name, uid: nil, path: path,
                            reason: "\(error)"))
                }
            }
            for row in rows where files[row.fileName] == nil {
                report.problems.append(
                    .init(
                        mailbox: folder.mailbox.rawValue, folder: folder.name,
                        uid: UInt32(truncatingIfNeeded: row.uid), path: directory,
                        reason: "the index has a row but the spool has no file"))
            }
        }
        return report
    }

    /// Opens every message and compares it with its row (`mailvox fsck`): a flipped byte, a
    /// wrong size, a missing file or missing metadata is a problem. The index is read
    /// `pageSize` rows at a time in id order, so memory stays small at any size (ten million
    /// rows with their metadata are some 30 GB).
    public func check(pageSize: Int = 1000, progress: (Int, Int) -> Void = { _, _ in }) throws -> SpoolReport {
        var report = SpoolReport()
        let total = try singleRead { db in try db.scalar(Int.self, "SELECT COUNT(*) FROM message") } ?? 0
        var after: Int64 = 0
        while true {
            let rows = try singleRead { db in
                try db.rows(
                    """
                    SELECT message.*, message_meta.meta, folder.mailbox_id AS mailbox_id, folder.name AS folder_name
                    FROM message JOIN folder ON folder.id = message.folder_id
                    LEFT JOIN message_meta ON message_meta.message_id = message.id
                    WHERE message.id > ? ORDER BY message.id LIMIT ?
                    """, sqlValues(after, pageSize))
            }
            guard let last = rows.last else { break }
            after = try last.get("id")
            for row in rows {
                progress(report.messagesChecked, max(total, report.messagesChecked))
                check(row, into: &report)
                report.messagesChecked += 1
            }
        }
        progress(report.messagesChecked, report.messagesChecked)
        return report
    }

    /// Checks the message of one index row (with its folder's `mailbox_id` and `folder_name`).
    private func check(_ row: SQLRow, into report: inout SpoolReport) {
        guard let mailbox = MailboxID((try? row.get("mailbox_id", as: String.self)) ?? "") else { return }
        let folderName: String = (try? row.get("folder_name")) ?? ""
        let uid = UInt32(truncatingIfNeeded: (try? row.get("uid", as: Int64.self)) ?? 0)
        var location = "\(mailbox)/\(folderName)"
        do {
            let ref = try Self.fileRef(mailbox: mailbox, folderID: try row.get("folder_id"), row: row)
            location = files.locate(ref) ?? files.expectedName(ref)
            let key = try ownerKey(mailbox)
            let reader = try files.open(ref, key: key)
            try reader.verify()
            let size: Int = try row.get("size")
            if reader.plaintextSize != size {
                throw MailStoreError.unreadable(
                    path: location, reason: "size \(reader.plaintextSize) differs from the index's \(size)")
            }
            guard let meta = try row.optional("meta", as: Data.self) else {
                throw MailStoreError.storage("the index holds no sealed metadata for it")
            }
            _ = try SealedFileReader(sealed: meta, key: key).readAll()
        } catch {
            report.problems.append(
                .init(mailbox: mailbox.rawValue, folder: folderName, uid: uid, path: location, reason: "\(error)"))
        }
    }

    /// `fsck --rebuild`: forgets every message row and indexes the spool afresh, each folder
    /// under a new UIDVALIDITY so clients resynchronise (as Dovecot does).
    public func rebuild() throws -> SpoolReport {
        // Objects carry no flags or dates in their names; the index over a bucket is not rebuilt
        // from it (and a bucket is shared by nodes that must not all start again).
        guard files is Spool else {
            throw MailStoreError.io(path: "spool", reason: "fsck --rebuild needs the Maildir spool, not a bucket")
        }
        let folders = try folderLocations()
        try database.write { db in
            for folder in folders {
                let validity = try Directory.nextUIDValidity(db)
                try db.execute("DELETE FROM message WHERE folder_id = ?", sqlValues(folder.id))
                try db.execute("DELETE FROM expunged WHERE folder_id = ?", sqlValues(folder.id))
                try db.execute(
                    "UPDATE folder SET uid_validity = ?, uid_next = 1, highest_modseq = highest_modseq + 1 WHERE id = ?",
                    sqlValues(validity, folder.id))
            }
        }
        return try recover()
    }

    /// Message files of a folder by stem (the name before the `:2,` info).
    private func spoolFiles(in directory: String) -> [String: String] {
        var files: [String: String] = [:]
        for sub in ["new", "cur"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(sub)")) ?? []
            where !name.hasPrefix(".") {
                let stem = String(name.prefix { $0 != ":" })
                files[stem] = "\(directory)/\(sub)/\(name)"
            }
        }
        return files
    }

    /// Indexes a file found without a row: its flags from the info suffix, its date from mtime.
    private func index(path: String, stem: String, folder name: String, mailbox: MailboxID) throws -> UInt32 {
        let key = try ownerKey(mailbox)
        let reader = try SealedFileReader(path: path, key: key)
        try reader.verify()
        let meta = try SealedFile.seal(
            try MessageMetadata(message: try reader.readAll()).encoded(), owner: key.owner.description,
            recipient: key.publicKey)
        let letters = path.range(of: ":2,").map { path[$0.upperBound...] } ?? ""
        let flags = SystemFlags(maildirLetters: letters)
        var info = stat()
        stat(path, &info)
        let inCur = path.contains("/cur/")
        return try database.write { db in
            let folder = try Self.folder(db, mailbox: mailbox, name: name)
            // The stem is the deposit id for voicemails: a deliver job retried after this scan
            // then finds its message instead of filing it twice.
            return try Self.insertNext(
                db, folder: folder,
                NewRow(
                    fileName: stem, depositID: stem, flags: MessageFlags(system: flags), size: reader.plaintextSize,
                    internalDate: Int64(info.st_mtim.tv_sec), inCur: inCur, meta: .sealed(meta))
            ).uid
        }
    }
}
