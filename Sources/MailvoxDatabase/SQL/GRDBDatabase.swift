import Foundation
import GRDB

/// The SQL seam over the one SQLite file (`MailvoxDatabase.open`'s pool).
public struct GRDBDatabase: SQLDatabase {
    public let pool: DatabasePool

    public init(_ pool: DatabasePool) { self.pool = pool }

    public var dialect: SQLDialect { .sqlite }

    public func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try pool.read { db in try body(GRDBConnection(db: db)) }
    }

    @discardableResult
    public func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try pool.write { db in try body(GRDBConnection(db: db)) }
    }

    /// Without a transaction: GRDB prepares BEGIN and COMMIT anew each time, which cost more
    /// than a lookup by key.
    public func readStatement<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try pool.unsafeRead { db in try body(GRDBConnection(db: db)) }
    }
}

/// One GRDB database handle inside `read` or `write`. Statements are cached per connection,
/// since preparing SQL is what a delivery spent most of its SQLite time on (docs/STORAGE.md).
/// Public so a GRDB migration can call store code written against the seam.
public struct GRDBConnection: SQLConnection {
    let db: GRDB.Database

    public init(db: GRDB.Database) { self.db = db }

    public var dialect: SQLDialect { .sqlite }

    public func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        let statement = try db.cachedStatement(sql: sql)
        try statement.execute(arguments: Self.arguments(arguments))
        return db.changesCount
    }

    public func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let statement = try db.cachedStatement(sql: sql)
        let columns = statement.columnNames
        return try Row.fetchAll(statement, arguments: Self.arguments(arguments)).map { row in
            SQLRow(columns: columns, values: row.databaseValues.map(Self.value))
        }
    }

    static func arguments(_ values: [SQLValue]) -> StatementArguments {
        StatementArguments(
            values.map { value -> DatabaseValue in
                switch value {
                case .null: .null
                case .integer(let number): number.databaseValue
                case .real(let number): number.databaseValue
                case .text(let text): text.databaseValue
                case .blob(let bytes): Data(bytes).databaseValue
                }
            })
    }

    static func value(_ stored: DatabaseValue) -> SQLValue {
        switch stored.storage {
        case .null: .null
        case .int64(let number): .integer(number)
        case .double(let number): .real(number)
        case .string(let text): .text(text)
        case .blob(let data): .blob([UInt8](data))
        }
    }
}

/// A date as GRDB has always stored one (`DATETIME` columns: UTC text `yyyy-MM-dd HH:mm:ss.SSS`),
/// so rows written through the seam are the bytes earlier versions wrote, on either backend
/// (a TEXT column on PostgreSQL).
extension Date: SQLValueConvertible {
    public var sqlValue: SQLValue {
        guard case .string(let text) = databaseValue.storage else { return .real(timeIntervalSince1970) }
        return .text(text)
    }

    public init?(sqlValue value: SQLValue) {
        let stored: DatabaseValue
        switch value {
        case .text(let text): stored = text.databaseValue
        case .integer(let number): stored = number.databaseValue
        case .real(let number): stored = number.databaseValue
        case .null, .blob: return nil
        }
        guard let date = Date.fromDatabaseValue(stored) else { return nil }
        self = date
    }
}
