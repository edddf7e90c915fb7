/// Which SQL a database speaks where the two backends differ (`FOR UPDATE SKIP LOCKED`, types
/// in DDL); everything else the stores write is the portable subset both accept.
public enum SQLDialect: Sendable, Hashable {
    case sqlite
    case postgres
}

/// One connection inside a transaction of an `SQLDatabase`, valid only during that call.
///
/// SQL uses `?` placeholders, one statement per call, and portable SQL (`ON CONFLICT … DO
/// NOTHING`, `RETURNING`); the drivers translate placeholders to what their server wants.
/// Calls block: they run on the blocking pool or a dedicated thread, never on the cooperative
/// pool or an event loop.
public protocol SQLConnection {
    var dialect: SQLDialect { get }
    /// Runs one statement; returns how many rows it inserted, updated or deleted.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int
    /// Runs one statement and returns every row it produced.
    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
}

extension SQLConnection {
    @discardableResult
    public func execute(_ sql: String) throws -> Int { try execute(sql, []) }

    public func rows(_ sql: String) throws -> [SQLRow] { try rows(sql, []) }

    /// The first row, or nil when there is none.
    public func one(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLRow? {
        try rows(sql, arguments).first
    }
}

/// `count` placeholders, "?, ?, ?": an `IN (…)` list or a row of VALUES.
public func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }

/// A database the stores write through: SQLite (`GRDBDatabase`) or PostgreSQL
/// (`MailvoxPostgres.PostgresDatabase`). Synchronous, like every store call.
public protocol SQLDatabase: Sendable {
    var dialect: SQLDialect { get }
    /// Runs `body` on one consistent snapshot.
    func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T
    /// Runs `body` as one transaction: committed when it returns, rolled back when it throws.
    @discardableResult
    func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T
    /// Runs `body`, which reads with one statement: a statement is its own snapshot, so no
    /// transaction is opened around it (on PostgreSQL that saves the BEGIN and COMMIT round
    /// trips, two of a lookup's three). Never for a body of several statements that must agree.
    func readStatement<T>(_ body: (any SQLConnection) throws -> T) throws -> T
    /// Runs `body`, which writes with one statement: committed by itself, with no transaction
    /// around it (on PostgreSQL one round trip instead of three). Never for a body of several
    /// statements that must commit together.
    @discardableResult
    func writeStatement<T>(_ body: (any SQLConnection) throws -> T) throws -> T
}

extension SQLDatabase {
    public func readStatement<T>(_ body: (any SQLConnection) throws -> T) throws -> T { try read(body) }

    @discardableResult
    public func writeStatement<T>(_ body: (any SQLConnection) throws -> T) throws -> T { try write(body) }
}
