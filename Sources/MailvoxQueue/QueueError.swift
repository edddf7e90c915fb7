import MailvoxCore

/// What the queue refuses: a job id that does not exist (the administrator's typo), or a row of
/// its tables holding a value this version cannot read (`QueueRow`).
public enum QueueError: MailvoxFailure, Equatable {
    case noSuchJob(Int64)
    /// `column` of row `id` in `table` holds `value`, which no case or check accepts (a kind
    /// written by another version, a mailbox id that breaks `MailboxID`'s rules, a hand edit).
    /// Reading on as some default would run the row as something it never was.
    case corruptRow(table: String, id: String, column: String, value: String)

    public var kind: FailureKind {
        switch self {
        case .noSuchJob: .input
        case .corruptRow: .runtime
        }
    }

    public var description: String {
        switch self {
        case .noSuchJob(let id): "no job \(id) (see `mailvox queue list`)"
        case .corruptRow(let table, let id, let column, let value):
            // Escaped: the value is whatever the database holds, and this is one line on stderr.
            "the queue's \(table) row \(id.logEscaped) has \(column) \"\(value.logEscaped)\", which this version cannot read"
                + (table == "job" ? "; `mailvox queue drop \(id.logEscaped)` removes it" : "")
        }
    }
}
