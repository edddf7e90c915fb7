import Foundation
import MailvoxCore
import MailvoxDatabase
import Synchronization

/// Removes objects of the bucket that nothing names (docs/SCALE-OUT.md, "Blob before row"): a
/// message object whose row never committed (a crash between the PUT and the commit of an
/// APPEND or COPY), a sealed deposit whose deposit row never committed (a crash in intake), an
/// alert copy or deposit whose jobs are gone. Only for `[blobs] backend = "s3"`; the Maildir
/// spool has `recover()`.
///
/// An object is removed only when two passes at least `interval` apart (the maintenance
/// service's hour) both found it unnamed, so a PUT whose row is about to commit is never
/// taken. A deposit with a job still queued, leased or dead (`pendingDeposits`) keeps its sealed
/// file, its alert copy and any message object named by its id: a retried delivery writes that
/// object again before its row commits.
public final class OrphanSweeper: Sendable {
    let store: MessageStore
    let bucket: BlockingBlobs
    let pendingDeposits: @Sendable () throws -> Set<String>
    /// What the previous pass found unnamed.
    private let suspects = Mutex<Set<BlobKey>>([])

    public init(
        store: MessageStore, bucket: BlockingBlobs, pendingDeposits: @escaping @Sendable () throws -> Set<String>
    ) {
        self.store = store
        self.bucket = bucket
        self.pendingDeposits = pendingDeposits
    }

    public struct Report: Sendable, Equatable {
        /// Objects listed.
        public var checked = 0
        /// Unnamed now, removed at the next pass if still unnamed.
        public var suspected = 0
        /// Removed by this pass.
        public var removed: [String] = []
    }

    /// One pass over `spool/` and `queue/`.
    public func sweep() throws -> Report {
        let named = try namedKeys()
        let pending = try pendingDeposits()
        var report = Report()
        var unnamed = Set<BlobKey>()
        for prefix in ["spool/", "queue/"] {
            for key in try bucket.allKeys(prefix: try BlobPrefix(prefix)) {
                report.checked += 1
                if named.contains(key.value) || Self.depositID(of: key).map(pending.contains) == true { continue }
                unnamed.insert(key)
            }
        }
        let previous = suspects.withLock { $0 }
        for key in unnamed.intersection(previous).sorted() {
            try bucket.delete(key)
            report.removed.append(key.value)
        }
        let left = unnamed.subtracting(previous)
        suspects.withLock { $0 = left }
        report.suspected = left.count
        return report
    }

    /// Every message row's object and every tombstone's (its removal is under way).
    private func namedKeys() throws -> Set<String> {
        try store.database.read { db in
            var keys = Set<String>()
            for row in try db.rows(
                """
                SELECT folder.mailbox_id AS mailbox_id, message.folder_id AS folder_id, message.file_name AS file_name
                FROM message JOIN folder ON folder.id = message.folder_id
                """)
            {
                let mailbox: String = try row.get("mailbox_id")
                let folder: Int64 = try row.get("folder_id")
                let name: String = try row.get("file_name")
                keys.insert("spool/\(mailbox)/\(folder)/\(name)")
            }
            for path in try db.column(String.self, "SELECT path FROM tombstone") { keys.insert(path) }
            return keys
        }
    }

    /// The deposit id an object is named by: `queue/<id>.mvx`, `queue/notify/<id>.mvx`, or a
    /// message object's name (deposits are filed under their id; other messages under a UUID
    /// that no deposit has).
    static func depositID(of key: BlobKey) -> String? {
        guard let last = key.segments.last else { return nil }
        if key.value.hasPrefix("queue/") {
            return last.hasSuffix(".mvx") ? String(last.dropLast(4)) : nil
        }
        return String(last)
    }
}
