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
        }
    }
}
