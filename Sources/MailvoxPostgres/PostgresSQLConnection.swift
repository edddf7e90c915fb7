import Foundation
import Logging
import MailvoxDatabase
import NIOCore
import PostgresNIO
import Synchronization

/// One leased connection inside a transaction of `PostgresDatabase`: `?` placeholders become
/// `$n`, `SQLValue`s are bound as BIGINT, DOUBLE PRECISION, TEXT, BYTEA or NULL, and result
/// cells are read back into `SQLValue`s.
struct PostgresSQLConnection: SQLConnection {
    let connection: PostgresConnection
    let logger: Logger
    let target: String
    let textTypes: TextTypes
    /// How long one statement may take before it fails and its connection is given up.
    static let statementTimeout: TimeAmount = .seconds(120)

    var dialect: SQLDialect { .postgres }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try query(sql, arguments).metadata.rows ?? 0
    }

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let result = try query(sql, arguments)
        var rows: [SQLRow] = []
        rows.reserveCapacity(result.count)
        // Every row of a result has the same columns: one array of names, shared by all of them
        // (a SELECT or FETCH reads a whole folder's rows).
        var columns: [String]?
        for row in result {
            var values: [SQLValue] = []
            values.reserveCapacity(row.count)
            for cell in row { values.append(try value(cell)) }
            let names = columns ?? row.map(\.columnName)
            columns = names
            rows.append(SQLRow(columns: names, values: values))
        }
        return rows
    }

    /// A statement without arguments (BEGIN, COMMIT, ROLLBACK).
    func run(_ sql: String) throws {
        _ = try query(sql, [])
    }

    private func query(_ sql: String, _ arguments: [SQLValue]) throws -> PostgresQueryResult {
        let (text, placeholders) = PostgresSQLText.numberingPlaceholders(sql)
        guard placeholders == arguments.count else {
            throw SQLError.argumentCount(expected: placeholders, given: arguments.count)
        }
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .null: binds.appendNull()
            case .integer(let number): binds.append(number)
            case .real(let number): binds.append(number)
            case .text(let text): binds.append(UntypedText(text: text))
            case .blob(let bytes): binds.append(ByteBuffer(bytes: bytes))
            }
        }
        // A watchdog: a statement whose answer does not come within `Self.statementTimeout` gives
        // up and closes its connection. Seen: a query sent as PostgreSQL restarted never
        // completed on the client, which held an HTTP request (and a clean stop) for good.
        let answer = connection.eventLoop.makePromise(of: PostgresQueryResult.self)
        let once = Once()
        @Sendable func settle(_ result: Result<PostgresQueryResult, any Error>) {
            if once.first() { answer.completeWith(result) }
        }
        let connection = self.connection
        let watchdog = connection.eventLoop.scheduleTask(in: Self.statementTimeout) {
            settle(.failure(PostgresDatabaseError.connectionLost(target: target, atCommit: false)))
            connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
        }
        connection.query(PostgresQuery(unsafeSQL: text, binds: binds), logger: logger).whenComplete { result in
            watchdog.cancel()
            settle(result.mapError { $0 })
        }
        do {
            return try answer.futureResult.wait()
        } catch let error as PostgresDatabaseError {
            throw error
        } catch {
            throw PostgresDatabaseError.statement(error, target: target)
        }
    }

    func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        do {
            switch cell.dataType {
            case .int2, .int4, .int8:
                return .integer(try cell.decode(Int64.self))
            case .float4, .float8:
                return .real(try cell.decode(Double.self))
            case .numeric:
                // SUM over BIGINT is NUMERIC: whole values as integers, the rest as doubles.
                let decimal = try cell.decode(Decimal.self)
                let double = NSDecimalNumber(decimal: decimal).doubleValue
                if double.rounded() == double, let whole = Int64(exactly: double) { return .integer(whole) }
                return .real(double)
            case .bool:
                return .integer(try cell.decode(Bool.self) ? 1 : 0)
            case .bytea:
                var buffer = try cell.decode(ByteBuffer.self)
                return .blob(buffer.readBytes(length: buffer.readableBytes) ?? [])
            case .text, .varchar, .bpchar, .name, .unknown:
                return .text(try cell.decode(String.self))
            default:
                // An extension's type has an OID of its own in each database: `citext` (mailbox
                // ids) is text on the wire, in either format.
                guard try textTypes.isText(cell.dataType.rawValue, lookup: typeName), let bytes = cell.bytes else {
                    throw PostgresDatabaseError.unsupportedColumn(name: cell.columnName, type: "\(cell.dataType)")
                }
                return .text(String(buffer: bytes))
            }
        } catch let error as PostgresDatabaseError {
            throw error
        } catch {
            throw PostgresDatabaseError.unsupportedColumn(name: cell.columnName, type: "\(cell.dataType)")
        }
    }
}

/// The name of the type `oid`, asked of the server once per database (`TextTypes` keeps the answer).
extension PostgresSQLConnection {
    func typeName(_ oid: UInt32) throws -> String? {
        try rows("SELECT typname::text AS name FROM pg_type WHERE oid = ?", [.text(String(oid))]).first
            .flatMap { row in try row.optional("name", as: String.self) }
    }
}

/// The type OIDs of one database that hold text (`citext`), learnt the first time a column of
/// each unknown OID comes back: extension types have no fixed OID, so the driver cannot list them.
final class TextTypes: @unchecked Sendable {
    private let lock = NSLock()
    private var known: [UInt32: Bool] = [:]

    func isText(_ oid: UInt32, lookup: (UInt32) throws -> String?) throws -> Bool {
        if let answer = lock.withLock({ known[oid] }) { return answer }
        let answer = try lookup(oid) == "citext"
        lock.withLock { known[oid] = answer }
        return answer
    }
}

/// A text argument sent with no declared type (OID 0), so the server types it from where it
/// stands, as it does a quoted literal: compared with a `citext` column (a mailbox id, an
/// alias) it is `citext` and compares without regard to case, as SQLite's `COLLATE NOCASE`
/// does for the same statement. Declared `text`, `citext_column = $1` resolves to text = text
/// and compares case-sensitively.
struct UntypedText: PostgresDynamicTypeEncodable {
    let text: String
    var psqlType: PostgresDataType { .null }
    var psqlFormat: PostgresFormat { .text }

    func encode<JSONEncoder: PostgresJSONEncoder>(
        into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        byteBuffer.writeString(text)
    }
}

/// True for the first caller of `first()` only.
private final class Once: Sendable {
    private let done = Mutex(false)

    func first() -> Bool {
        done.withLock { done in
            defer { done = true }
            return !done
        }
    }
}
