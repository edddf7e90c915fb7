import MailvoxCore

/// Why the directory refused a request; each names the mailbox, token or field.
public enum DirectoryError: MailvoxFailure, Equatable {
    case unknownMailbox(String)
    case duplicateMailbox(String)
    case invalid(field: String, reason: String)
    case unknownToken(String)
    case duplicateToken(String)
    case nodeKeyMissing
    case nodeKeyExists
    /// `mailbox remove` of a mailbox on legal hold.
    case onHold(String)
    /// `mailbox undelete` of a mailbox that was not removed.
    case notRemoved(String)
    /// `mailbox add` of an id whose mailbox is removed but not yet purged.
    case removedMailbox(String)

    public var kind: FailureKind {
        switch self {
        case .nodeKeyMissing: .runtime
        default: .input
        }
    }

    public var description: String {
        switch self {
        case .unknownMailbox(let id): "unknown mailbox \(id)"
        case .duplicateMailbox(let id): "mailbox \(id) already exists"
        case .invalid(let field, let reason): "\(field): \(reason)"
        case .unknownToken(let name): "unknown token \(name)"
        case .duplicateToken(let name): "a token named \(name) already exists"
        case .nodeKeyMissing: "the database has no node key (was it made by `mailvox init`?)"
        case .nodeKeyExists: "the database already has a node key"
        case .onHold(let id): "mailbox \(id) is on hold; `mailvox mailbox hold \(id) --off` first"
        case .notRemoved(let id): "mailbox \(id) is not a removed mailbox (see `mailvox mailbox list --removed`)"
        case .removedMailbox(let id):
            "mailbox \(id) was removed and is still recoverable: `mailvox mailbox undelete \(id)`, "
                + "or `mailvox mailbox remove \(id) --yes --purge-now` to free the id"
        }
    }
}
