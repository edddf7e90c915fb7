import Foundation
import GRDB
import MailvoxCore

/// A sealed file the index refers to, named as a backup names it.
public struct ReferencedFile: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A message of the spool (`message` row).
        case message
        /// A sealed deposit waiting for its deliver job (`queue/<id>.mvx`).
        case deposit
        /// The alert copy of pending notify jobs (`queue/notify/<id>.mvx`).
        case alertCopy = "alert-copy"
    }

    public var kind: Kind
    /// The row that refers to the file: the message row's id, or the deposit id.
    public var row: String
    /// The file's lasting name below the data dir: `spool/<mailbox>/<folder-id>/<name>` (no
    /// `new/`/`cur/` level, no `:2,FLAGS` — those change when flags do), `queue/<id>.mvx`,
    /// `queue/notify/<id>.mvx`. Unique, and its content never changes (files are sealed once).
    public var key: String
    /// Where the index says the file is now, relative to the data dir.
    public var path: String
}

/// What a backup must hold for its database snapshot to be whole.
///
/// The one list of "files the index references": backup takes exactly these, `backup verify`
/// and `restore` check every one against the manifest. Recoverable deletions need nothing of
/// their own here: an expunged message is a `message` row of the Recently Deleted folder (its
/// `deletion` row goes with it). A table that comes to refer to sealed files outside `message`
/// adds its rows to `referencedFiles` and its clean-up to `forgetMissing`, and backups cover it.
public enum BackupIndex {
    /// Every sealed file `db` refers to, messages first, in a stable order.
    public static func referencedFiles(_ db: GRDB.Database) throws -> [ReferencedFile] {
        let spool = Spool(root: "spool")
        var files: [ReferencedFile] = []
        let messages = try Row.fetchCursor(
            db,
            sql: """
                SELECT message.id, message.folder_id, message.file_name, message.in_cur, message.flags,
                    folder.mailbox_id
                FROM message JOIN folder ON folder.id = message.folder_id ORDER BY message.id
                """)
        while let row = try messages.next() {
            let mailbox: String = row[5]
            let folderID: Int64 = row[1]
            let fileName: String = row[2]
            files.append(
                ReferencedFile(
                    kind: .message, row: String(row[0] as Int64),
                    key: "\(spool.folderDirectory(mailbox: mailbox, folderID: folderID))/\(fileName)",
                    path: spool.path(
                        mailbox: mailbox, folderID: folderID, fileName: fileName, inCur: row[3],
                        letters: SystemFlags(rawValue: row[4]).maildirLetters)))
        }
        // The queue's tables belong to MailvoxQueue; its file layout (queue/<id>.mvx, written by
        // intake and removed once delivered; queue/notify/<id>.mvx, removed when the deposit's
        // last notify job finishes) is read here so the list stays in one place. A dead deliver
        // job keeps its deposit file for `queue retry`.
        let deposits = try String.fetchAll(
            db, sql: "SELECT DISTINCT deposit_id FROM job WHERE kind = 'deliver' AND state != 'done' ORDER BY 1")
        for id in deposits {
            files.append(ReferencedFile(kind: .deposit, row: id, key: "queue/\(id).mvx", path: "queue/\(id).mvx"))
        }
        let alerts = try String.fetchAll(
            db,
            sql: """
                SELECT DISTINCT deposit_id FROM job WHERE kind = 'notify' AND state IN ('queued', 'leased')
                ORDER BY 1
                """)
        for id in alerts {
            files.append(
                ReferencedFile(kind: .alertCopy, row: id, key: "queue/notify/\(id).mvx", path: "queue/notify/\(id).mvx")
            )
        }
        return files
    }

    /// Makes a restored snapshot agree with the files it got: a file the backup could not take
    /// (expunged, or consumed by its job, between the snapshot and the copy) loses its rows as
    /// the live server's later change would have. Also drops the tombstones, whose paths name
    /// the original data dir: replaying them at the restored server's start would unlink there.
    public static func forgetMissing(_ db: GRDB.Database, _ missing: [ReferencedFile]) throws {
        try db.execute(sql: "DELETE FROM tombstone")
        for file in missing {
            switch file.kind {
            case .message:
                // As an expunge records it: the UID in the expunge log (QRESYNC) under a new modseq.
                guard
                    let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT message.folder_id, message.uid, folder.highest_modseq FROM message
                            JOIN folder ON folder.id = message.folder_id WHERE message.id = ?
                            """, arguments: [file.row])
                else { continue }
                let modseq = (row[2] as Int64) + 1
                try db.execute(sql: "DELETE FROM message WHERE id = ?", arguments: [file.row])
                try db.execute(
                    sql: "INSERT OR REPLACE INTO expunged (folder_id, uid, modseq) VALUES (?, ?, ?)",
                    arguments: [row[0] as Int64, row[1] as Int64, modseq])
                try db.execute(
                    sql: "UPDATE folder SET highest_modseq = ? WHERE id = ?", arguments: [modseq, row[0] as Int64])
            case .deposit:
                // Its deliver job finished on the live server after the snapshot; here it cannot
                // run again, so it is recorded as failed rather than retried into a dead letter.
                try db.execute(
                    sql: """
                        UPDATE job SET state = 'dead', last_error = 'sealed deposit not in the backup'
                        WHERE deposit_id = ? AND kind = 'deliver' AND state != 'done'
                        """, arguments: [file.row])
                try db.execute(
                    sql: """
                        UPDATE deposit SET status = 'failed', error_code = 'not_in_backup',
                            error_message = 'delivered while the backup ran; restored without its file'
                        WHERE id = ? AND status = 'queued'
                        """, arguments: [file.row])
            case .alertCopy:
                try db.execute(
                    sql: """
                        UPDATE job SET state = 'dead', last_error = 'alert copy not in the backup'
                        WHERE deposit_id = ? AND kind = 'notify' AND state IN ('queued', 'leased')
                        """, arguments: [file.row])
            }
        }
    }

    /// The master key ids the snapshot's wrapped keys need (one, unless a rotation was cut short).
    public static func masterKeyIDs(_ db: GRDB.Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT master_key_id FROM node_key UNION SELECT master_key_id FROM mailbox")
    }
}
