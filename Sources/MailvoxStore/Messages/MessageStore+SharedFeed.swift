import Foundation
import MailvoxCore
import MailvoxDatabase

/// How far a store has told its subscribers of one folder about other nodes' changes.
struct FeedMark: Sendable {
    var modseq: UInt64
    var uidNext: UInt32
}

/// The change feed across nodes (docs/SCALE-OUT.md, "Changes reach every node"). On
/// PostgreSQL every committed change is also announced with `NOTIFY`, naming only the folder;
/// each node's listener hands what it hears to `heard`, and the store reads what changed since
/// its mark from the database — new rows, flag changes by MODSEQ, the expunged table — and
/// tells its own subscribers. SQLite has one process serving and needs none of it.
extension MessageStore {
    /// The channel of change notifications.
    public static let changeChannel = "mailvox_changes"

    /// Tells this process's subscribers of `changes` in `folderID`, and on PostgreSQL every
    /// other node. Called after the change committed: a notification never announces a change
    /// that could still roll back. A node that dies between the commit and the notification
    /// leaves the change unannounced; the other nodes' sessions see it at their next command or
    /// resync.
    func publish(_ changes: [FolderChange], folderID: Int64) {
        guard !changes.isEmpty else { return }
        feed.publish(changes, folderID: folderID)
        guard database.dialect == .postgres else { return }
        if announcesInBackground.load(ordering: .relaxed) {
            announcer.announce(folderID)
        } else {
            Self.notify(database, feedID: feedID, folderIDs: [folderID])
        }
    }

    /// From now on, notifications leave from a thread of their own and the caller of a write
    /// does not wait for them: one round trip less for every IMAP command that changes
    /// something and every delivery. `serve` turns it on for its store and calls
    /// `flushAnnouncements` when it stops; a CLI command, which exits right after its write,
    /// keeps notifying before it returns.
    public func announceInBackground() {
        announcesInBackground.store(true, ordering: .relaxed)
    }

    /// Returns once every notification queued before the call has been sent.
    public func flushAnnouncements() {
        announcer.flush()
    }

    /// `NOTIFY` for each of `folderIDs`, up to a hundred in one autocommit statement. A failure
    /// is not the write's: the change is committed, and nodes catch up when they resync.
    static func notify(_ database: any SQLDatabase, feedID: String, folderIDs: [Int64]) {
        for start in stride(from: 0, to: folderIDs.count, by: 100) {
            let chunk = folderIDs[start..<min(start + 100, folderIDs.count)]
            _ = try? database.writeStatement { db in
                try db.execute(
                    "SELECT " + chunk.map { _ in "pg_notify(?, ?)" }.joined(separator: ", "),
                    chunk.flatMap { sqlValues(changeChannel, "\(feedID) \($0)") })
            }
        }
    }

    /// A notification heard on `changeChannel`: `<store> <folder-id>`. Another store's change to
    /// a folder someone here listens to is read back and passed on; this store's own, a folder
    /// nobody here listens to, or a payload that is not Mailvox's are ignored.
    public func heard(_ payload: String) throws {
        let parts = payload.split(separator: " ")
        guard parts.count == 2, parts[0] != Substring(feedID), let folderID = Int64(parts[1]) else { return }
        try catchUp(folderID: folderID)
    }

    /// Reads every listened-to folder's changes since its mark: after the listening connection
    /// was lost and is back, when notifications may have gone unheard.
    public func resynchronize() throws {
        for folderID in feed.subscribedFolders() { try catchUp(folderID: folderID) }
    }

    /// Publishes to this process's subscribers of `folderID` what changed since its mark.
    func catchUp(folderID: Int64) throws {
        guard feed.hasSubscribers(folderID), let mark = heardUpTo.withLock({ $0[folderID] }) else {
            return
        }
        let found = try database.read { db -> (FeedMark, [MessageSummary], [(UInt32, UInt64)])? in
            guard
                let folder = try db.one("SELECT highest_modseq, uid_next FROM folder WHERE id = ?", sqlValues(folderID))
            else { return nil }
            let now = FeedMark(
                modseq: UInt64(try folder.get("highest_modseq", as: Int64.self)),
                uidNext: UInt32(truncatingIfNeeded: try folder.get("uid_next", as: Int64.self)))
            guard now.modseq > mark.modseq || now.uidNext > mark.uidNext else { return (now, [], []) }
            let changed = try db.rows(
                "SELECT \(Self.summaryColumns) FROM message WHERE folder_id = ? AND modseq > ? ORDER BY uid",
                sqlValues(folderID, Int64(mark.modseq))
            ).map { Self.summary(columns: $0) }
            let expunged = try db.rows(
                "SELECT uid, modseq FROM expunged WHERE folder_id = ? AND modseq > ? ORDER BY uid",
                sqlValues(folderID, Int64(mark.modseq))
            ).map {
                (
                    UInt32(truncatingIfNeeded: try $0.get("uid", as: Int64.self)),
                    UInt64(try $0.get("modseq", as: Int64.self))
                )
            }
            return (now, changed, expunged)
        }
        guard let (now, changed, expunged) = found else { return }
        var changes: [FolderChange] = []
        for summary in changed {
            changes.append(
                summary.uid >= mark.uidNext
                    ? .added(uid: summary.uid, modseq: summary.modseq)
                    : .flags(uid: summary.uid, flags: summary.flags, modseq: summary.modseq))
        }
        if let highest = expunged.map(\.1).max() {
            changes.append(.expunged(uids: expunged.map(\.0), modseq: highest))
        }
        heardUpTo.withLock { marks in
            let current = marks[folderID] ?? mark
            marks[folderID] = FeedMark(
                modseq: max(current.modseq, now.modseq), uidNext: max(current.uidNext, now.uidNext))
        }
        feed.publish(changes, folderID: folderID)
    }
}
