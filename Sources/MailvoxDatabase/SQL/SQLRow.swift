/// One result row read through the SQL seam: its values by column name, with typed getters
/// that name the column when a value is NULL or of another type.
public struct SQLRow: Sendable, Hashable {
    public let columns: [String]
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        precondition(columns.count == values.count, "a row has one value per column")
        self.columns = columns
        self.values = values
    }

    /// The raw value of `column` (the first of that name); throws when the row has no such column.
    public func value(_ column: String) throws -> SQLValue {
        guard let index = columns.firstIndex(of: column) else { throw SQLError.noSuchColumn(column) }
        return values[index]
    }

    /// The raw value of `column`, `.null` when the row has none: for messages that must not throw.
    public subscript(column: String) -> SQLValue {
        columns.firstIndex(of: column).map { values[$0] } ?? .null
    }

    /// `column` as a `T`; NULL or a value of another type throws naming the column.
    public func get<T: SQLValueConvertible>(_ column: String, as type: T.Type = T.self) throws -> T {
        let stored = try value(column)
        if let value = T(sqlValue: stored) { return value }
        if stored == .null { throw SQLError.unexpectedNull(column: column) }
        throw SQLError.typeMismatch(column: column, expected: "\(T.self)", found: stored.typeName)
    }

    /// `column` as a `T`, nil for NULL; a value of another type still throws.
    public func optional<T: SQLValueConvertible>(_ column: String, as type: T.Type = T.self) throws -> T? {
        let stored = try value(column)
        if stored == .null { return nil }
        return try get(column, as: type)
    }
}
