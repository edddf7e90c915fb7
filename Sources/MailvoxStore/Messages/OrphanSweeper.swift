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
///
/// A pass goes through the listing a page at a time and asks the index about each page's keys
/// (indexed lookups by folder and file name), so its memory and each statement stay small
/// however many messages the installation holds: reading every message row at once took 3.4 s
/// and a core at a million messages, and the first IMAP logins after start-up waited behind it.
public final class OrphanSweeper: Sendable {
    let store: MessageStore
    let bucket: BlockingBlobs
    let pendingDeposits: @Sendable () throws -> Set<String>
    let pageSize: Int
    /// What the previous pass found unnamed.
    private let suspects = Mutex<Set<BlobKey>>([])

    public init(
        store: MessageStore, bucket: BlockingBlobs, pageSize: Int = 1000,
        pendingDeposits: @escaping @Sendable () throws -> Set<String>
    ) {
        self.store = store
        self.bucket = bucket
        self.pageSize = pageSize
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
        let pending = try pendingDeposits()
        var report = Report()
        var unnamed = Set<BlobKey>()
        for prefix in ["spool/", "queue/"] {
            try bucket.forEachPage(prefix: try BlobPrefix(prefix), pageSize: pageSize) { keys in
                report.checked += keys.count
                let candidates = keys.filter { Self.depositID(of: $0).map(pending.contains) != true }
                let named = try self.named(candidates)
                unnamed.formUnion(candidates.filter { !named.contains($0.value) })
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

    /// Those of `keys` a message row names (`spool/<mailbox>/<folder id>/<file name>`) or a
    /// tombstone does (its removal is under way): one statement per folder among them, on the
    /// index of (folder, file name).
    private func named(_ keys: [BlobKey]) throws -> Set<String> {
        guard !keys.isEmpty else { return [] }
        // The mailbox segment is not asked for: the key is rebuilt from the row's own mailbox.
        var byFolder: [Int64: [String]] = [:]
        for key in keys {
            let parts = key.segments
            guard parts.count == 4, parts[0] == "spool", let folder = Int64(parts[2]) else { continue }
            byFolder[folder, default: []].append(String(parts[3]))
        }
        return try store.database.read { db in
            var found = Set<String>()
            for (folder, wanted) in byFolder {
                for chunk in stride(from: 0, to: wanted.count, by: 500) {
                    let names = wanted[chunk..<min(wanted.count, chunk + 500)]
                    let rows = try db.rows(
                        """
                        SELECT folder.mailbox_id AS mailbox_id, message.file_name AS file_name
                        FROM message JOIN folder ON folder.id = message.folder_id
                        WHERE message.folder_id = ? AND message.file_name IN (\(placeholders(names.count)))
                        """, [.integer(folder)] + names.map { .text($0) })
                    for row in rows {
                        let (mailbox, name): (String, String) = (try row.get("mailbox_id"), try row.get("file_name"))
                        found.insert("spool/\(mailbox)/\(folder)/\(name)")
                    }
                }
            }
            let paths = keys.map(\.value)
            for chunk in stride(from: 0, to: paths.count, by: 500) {
                let some = paths[chunk..<min(paths.count, chunk + 500)]
                found.formUnion(
                    try db.column(
                        String.self, "SELECT path FROM tombstone WHERE path IN (\(placeholders(some.count)))",
                        some.map { .text($0) }))
            }
            return found
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
