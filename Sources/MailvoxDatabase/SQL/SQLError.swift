import MailvoxCore

/// What the SQL seam itself refuses: a column a query did not return, a value of the wrong type,
/// a statement whose placeholders and arguments do not match. Driver errors are the drivers' own.
public enum SQLError: MailvoxFailure, Equatable {
    case noSuchColumn(String)
    case unexpectedNull(column: String)
    case typeMismatch(column: String, expected: String, found: String)
    case argumentCount(expected: Int, given: Int)

    public var kind: FailureKind { .runtime }

    public var description: String {
        switch self {
        case .noSuchColumn(let column): "the query returned no column \"\(column)\""
        case .unexpectedNull(let column): "column \"\(column)\" is NULL where a value was expected"
        case .typeMismatch(let column, let expected, let found):
            "column \"\(column)\" holds \(found) where \(expected) was expected"
        case .argumentCount(let expected, let given):
            "the statement has \(expected) placeholders but \(given) arguments were given"
        }
    }
}
