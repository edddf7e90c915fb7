import Foundation
import GRDB

/// The record of `mailvox backup` runs in the live database (`store.8-backups`), for `doctor`.
public struct BackupLog: Sendable {
    /// One run as recorded.
    public struct Entry: Sendable {
        public var startedAt: Date
        public var finishedAt: Date?
        public var target: String
        public var run: String?
        public var kind: String
        public var result: String
        public var files: Int
        public var bytesWritten: Int64
        public var detail: String?
    }

    let database: DatabasePool

    public init(database: DatabasePool) { self.database = database }

    /// Records a run that starts now; returns its id for `finish`.
    public func start(target: String, incremental: Bool) throws -> Int64 {
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO backup (started_at, target, kind, result) VALUES (?, ?, ?, 'running')",
                arguments: [Date().timeIntervalSince1970, target, incremental ? "incremental" : "full"])
            return db.lastInsertedRowID
        }
    }

    /// Records how run `id` ended: `ok`, `problems` (complete, but something was left out) or `failed`.
    public func finish(
        _ id: Int64, result: String, run: String?, files: Int = 0, bytesWritten: Int64 = 0, detail: String? = nil
    ) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    UPDATE backup SET finished_at = ?, result = ?, run = ?, files = ?, bytes_written = ?, detail = ?
                    WHERE id = ?
                    """,
                arguments: [Date().timeIntervalSince1970, result, run, files, bytesWritten, detail, id])
        }
    }

    /// The newest run that ended `ok`, or nil.
    public func lastSuccessful() throws -> Entry? {
        try database.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM backup WHERE result = 'ok' ORDER BY finished_at DESC LIMIT 1"
            ).map(Self.entry)
        }
    }

    /// The newest run whatever its result, or nil.
    public func last() throws -> Entry? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM backup ORDER BY id DESC LIMIT 1").map(Self.entry)
        }
    }

    static func entry(_ row: Row) -> Entry {
        Entry(
            startedAt: Date(timeIntervalSince1970: row["started_at"]),
            finishedAt: (row["finished_at"] as Double?).map(Date.init(timeIntervalSince1970:)), target: row["target"],
            run: row["run"], kind: row["kind"], result: row["result"], files: row["files"],
            bytesWritten: row["bytes_written"], detail: row["detail"])
    }
}
