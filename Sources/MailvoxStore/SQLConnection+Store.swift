import Foundation
import MailvoxDatabase

/// Arguments for a statement of the seam, each value in its own storage class (`nil` is NULL).
func sqlValues(_ values: (any SQLValueConvertible)?...) -> [SQLValue] {
    values.map { $0?.sqlValue ?? .null }
}

extension SQLConnection {
    /// The first column of the first row; nil when there is no row or the value is NULL.
    func scalar<T: SQLValueConvertible>(_ type: T.Type, _ sql: String, _ arguments: [SQLValue] = []) throws -> T? {
        guard let row = try one(sql, arguments) else { return nil }
        return try row.optional(row.columns[0], as: type)
    }

    /// The first column of every row, NULLs left out.
    func column<T: SQLValueConvertible>(_ type: T.Type, _ sql: String, _ arguments: [SQLValue] = []) throws -> [T] {
        try rows(sql, arguments).compactMap { row in try row.optional(row.columns[0], as: type) }
    }
}

extension SQLRow {
    /// `column` as a `T`: NULL or another type throws naming the column.
    func field<T: SQLValueConvertible>(_ column: String) throws -> T { try get(column) }

    /// `column` as a `T`, nil for NULL (chosen where the result is optional, as GRDB's subscript was).
    func field<T: SQLValueConvertible>(_ column: String) throws -> T? { try optional(column) }
}
