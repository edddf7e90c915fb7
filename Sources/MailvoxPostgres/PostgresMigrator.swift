import Foundation
import MailvoxDatabase

/// Brings a PostgreSQL database to the schema of every module's `PostgresMigrationSet`.
///
/// All of it is one transaction that first takes a transaction-level advisory lock, so nodes
/// starting together migrate one after another: the first applies what is missing, the
/// others find it recorded in `mailvox_migration` and apply nothing. A failing migration rolls
/// back every migration of that run.
public enum PostgresMigrator {
    /// The advisory lock's key: "MVXMIGR" in ASCII, so it is recognisable in `pg_locks`.
    public static let lockKey: Int64 = 0x004D_5658_4D49_4752

    /// Applies the migrations `database` lacks, in order; returns the ids applied by this call.
    @discardableResult
    public static func migrate(_ database: PostgresDatabase, sets: [PostgresMigrationSet]) throws -> [String] {
        try database.write { connection in
            try connection.execute("SELECT pg_advisory_xact_lock(?)", [.integer(lockKey)])
            try connection.execute(
                "CREATE TABLE IF NOT EXISTS mailvox_migration (id TEXT PRIMARY KEY, applied_at DOUBLE PRECISION)")
            let done = Set(
                try connection.rows("SELECT id FROM mailvox_migration").map { try $0.get("id", as: String.self) })
            var applied: [String] = []
            for set in sets {
                for migration in set.migrations {
                    let id = "\(set.module).\(migration.name)"
                    guard !done.contains(id) else { continue }
                    for statement in PostgresSQLText.statements(migration.sql) {
                        try connection.execute(statement)
                    }
                    try connection.execute(
                        "INSERT INTO mailvox_migration (id, applied_at) VALUES (?, ?)",
                        [.text(id), .real(Date().timeIntervalSince1970)])
                    applied.append(id)
                }
            }
            return applied
        }
    }

    /// The ids recorded in `database`, in the order they were applied.
    public static func appliedMigrations(_ database: PostgresDatabase) throws -> [String] {
        try database.read { connection in
            let exists = try connection.one("SELECT to_regclass('mailvox_migration') IS NOT NULL AS present")
            guard try exists?.get("present", as: Bool.self) == true else { return [] }
            return try connection.rows("SELECT id FROM mailvox_migration ORDER BY applied_at, id").map {
                try $0.get("id", as: String.self)
            }
        }
    }
}
