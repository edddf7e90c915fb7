import MailvoxDatabase

/// One row of the queue's tables read into typed values, refusing what does not parse.
///
/// Every enum and checked string the queue stores is read here: a value that no case or check
/// accepts throws `QueueError.corruptRow` naming the table, the row and the column, where the
/// reads used to fall back (`Job.Kind(rawValue:) ?? .deliver`) and so ran a row as something it
/// never was.
struct QueueRow {
    let row: SQLRow
    /// Where the row lives, for the error: `job`, `deposit`, `alert_result`.
    let table: String
    /// The row's key as an administrator would look it up: a job's id, a deposit's id, an alert
    /// result's (mailbox, channel, recipient), `*` for a part that a count stands for many of.
    let id: String

    /// The text in `column`, made into a `T` by `parse`; nil from `parse` means corrupt.
    func value<T>(_ column: String, _ parse: (String) -> T?) throws -> T {
        let stored = row[column]
        if case .text(let text) = stored, let value = parse(text) { return value }
        throw corrupt(column, stored)
    }

    /// The text in `column` as a case of `T`.
    func value<T: RawRepresentable>(_ column: String, as type: T.Type = T.self) throws -> T where T.RawValue == String {
        try value(column, T.init(rawValue:))
    }

    /// Throws unless the text in `column` passes `check`.
    func require(_ column: String, _ check: (String) -> Bool) throws {
        _ = try value(column) { check($0) ? true : nil }
    }

    private func corrupt(_ column: String, _ stored: SQLValue) -> QueueError {
        let shown =
            switch stored {
            case .text(let text): text
            case .null: "NULL"
            case .integer(let number): "\(number)"
            case .real(let number): "\(number)"
            case .blob(let bytes): "<\(bytes.count) bytes>"
            }
        return .corruptRow(table: table, id: id, column: column, value: shown)
    }
}
