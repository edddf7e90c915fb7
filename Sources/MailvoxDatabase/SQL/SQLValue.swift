import Foundation

/// One value crossing the SQL seam, as an argument or a column: the storage classes SQLite
/// and PostgreSQL share (BIGINT, DOUBLE PRECISION, TEXT, BYTEA, NULL).
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The value's storage class, for errors: `NULL`, `INTEGER`, `REAL`, `TEXT`, `BLOB`.
    public var typeName: String {
        switch self {
        case .null: "NULL"
        case .integer: "INTEGER"
        case .real: "REAL"
        case .text: "TEXT"
        case .blob: "BLOB"
        }
    }
}

extension SQLValue {
    public init(_ value: Int) { self = .integer(Int64(value)) }
    public init(_ value: Int64) { self = .integer(value) }
    public init(_ value: Double) { self = .real(value) }
    public init(_ value: String) { self = .text(value) }
    public init(_ value: Data) { self = .blob([UInt8](value)) }
    public init(_ value: Bool) { self = .integer(value ? 1 : 0) }

    /// `.null` for nil, else the value's own case.
    public init<T: SQLValueConvertible>(_ value: T?) { self = value?.sqlValue ?? .null }
}

extension SQLValue: ExpressibleByNilLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByStringLiteral, ExpressibleByBooleanLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(booleanLiteral value: Bool) { self = .integer(value ? 1 : 0) }
}

/// A Swift type stored as one `SQLValue` and read back from one, refusing what does not fit.
public protocol SQLValueConvertible {
    var sqlValue: SQLValue { get }
    /// Nil when `value` is not this type (a NULL, another storage class, out of range).
    init?(sqlValue value: SQLValue)
}

extension Int64: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(self) }
    public init?(sqlValue value: SQLValue) {
        switch value {
        case .integer(let number): self = number
        // PostgreSQL's NUMERIC (SUM of BIGINT) arrives as a double; take it only when whole.
        case .real(let number) where number.rounded() == number: self.init(exactly: number)
        default: return nil
        }
    }
}

extension Int: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(Int64(self)) }
    public init?(sqlValue value: SQLValue) {
        guard let number = Int64(sqlValue: value) else { return nil }
        self.init(exactly: number)
    }
}

extension Double: SQLValueConvertible {
    public var sqlValue: SQLValue { .real(self) }
    public init?(sqlValue value: SQLValue) {
        switch value {
        case .real(let number): self = number
        // SQLite keeps a whole REAL as an integer in expressions (MIN, CASE); both mean the number.
        case .integer(let number): self = Double(number)
        default: return nil
        }
    }
}

extension String: SQLValueConvertible {
    public var sqlValue: SQLValue { .text(self) }
    public init?(sqlValue value: SQLValue) {
        guard case .text(let text) = value else { return nil }
        self = text
    }
}

extension Data: SQLValueConvertible {
    public var sqlValue: SQLValue { .blob([UInt8](self)) }
    public init?(sqlValue value: SQLValue) {
        guard case .blob(let bytes) = value else { return nil }
        self.init(bytes)
    }
}

extension Bool: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(self ? 1 : 0) }
    public init?(sqlValue value: SQLValue) {
        guard case .integer(let number) = value else { return nil }
        self = number != 0
    }
}
