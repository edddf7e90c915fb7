import Foundation
import Logging
import MailvoxDatabase
import NIOCore
import PostgresNIO

/// One leased connection inside a transaction of `PostgresDatabase`: `?` placeholders become
/// `$n`, `SQLValue`s are bound as BIGINT, DOUBLE PRECISION, TEXT, BYTEA or NULL, and result
/// cells are read back into `SQLValue`s.
struct PostgresSQLConnection: SQLConnection {
    let connection: PostgresConnection
    let logger: Logger
    let target: String

    var dialect: SQLDialect { .postgres }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try query(sql, arguments).metadata.rows ?? 0
    }

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let result = try query(sql, arguments)
        var rows: [SQLRow] = []
        for row in result {
            var columns: [String] = []
            var values: [SQLValue] = []
            columns.reserveCapacity(row.count)
            values.reserveCapacity(row.count)
            for cell in row {
                columns.append(cell.columnName)
                values.append(try Self.value(cell))
            }
            rows.append(SQLRow(columns: columns, values: values))
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
            case .text(let text): binds.append(text)
            case .blob(let bytes): binds.append(ByteBuffer(bytes: bytes))
            }
        }
        do {
            return try connection.query(PostgresQuery(unsafeSQL: text, binds: binds), logger: logger).wait()
        } catch {
            throw PostgresDatabaseError.statement(error, target: target)
        }
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
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
                throw PostgresDatabaseError.unsupportedColumn(name: cell.columnName, type: "\(cell.dataType)")
            }
        } catch let error as PostgresDatabaseError {
            throw error
        } catch {
            throw PostgresDatabaseError.unsupportedColumn(name: cell.columnName, type: "\(cell.dataType)")
        }
    }
}
