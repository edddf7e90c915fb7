/// The PostgreSQL schema one module contributes, as SQL text, in the order it must run.
///
/// The counterpart of `MigrationSet` for `[storage] backend = "postgres"`; kept here as plain
/// strings so that modules with tables need not import the driver. Migration ids are
/// `module.name` in the `mailvox_migration` table. A released migration is never edited: a
/// change is a new migration appended to the list. A migration may hold several statements
/// separated by `;`.
public struct PostgresMigrationSet: Sendable {
    public let module: String
    public let migrations: [(name: String, sql: String)]

    public init(module: String, migrations: [(name: String, sql: String)]) {
        self.module = module
        self.migrations = migrations
    }
}
