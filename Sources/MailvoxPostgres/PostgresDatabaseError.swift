import MailvoxCore
import MailvoxDatabase
import NIOCore
import NIOPosix
import PostgresNIO

/// What went wrong talking to PostgreSQL, in words an operator can act on. Built from
/// postgres-nio's errors, whose own descriptions hide the details; never holds the password.
public enum PostgresDatabaseError: MailvoxFailure, Equatable {
    /// No connection could be opened (refused, timed out, TLS or authentication failed).
    case unreachable(target: String, reason: String)
    /// The connection broke inside a transaction: nothing of it was committed, except when it
    /// broke at COMMIT, where the outcome is unknown. Temporary: the next call reconnects.
    case connectionLost(target: String, atCommit: Bool)
    /// The server refused a statement (SQLSTATE and its message).
    case server(sqlState: String, message: String)
    /// A result column of a type the seam has no `SQLValue` for.
    case unsupportedColumn(name: String, type: String)
    /// The database was closed.
    case closed(target: String)

    public var kind: FailureKind { .runtime }

    /// True when trying again later may work (the server restarting, a network blip).
    public var isTemporary: Bool {
        switch self {
        case .unreachable, .connectionLost: true
        case .server(let state, _): state.hasPrefix("40") || state.hasPrefix("57P") || state.hasPrefix("08")
        case .unsupportedColumn, .closed: false
        }
    }

    /// SQLSTATE 23505: a unique index refused the row.
    public var isUniqueViolation: Bool {
        if case .server("23505", _) = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .unreachable(let target, let reason): "cannot connect to PostgreSQL at \(target): \(reason.logEscaped)"
        case .connectionLost(let target, let atCommit):
            atCommit
                ? "the connection to PostgreSQL at \(target) broke during COMMIT: the change may or may not be stored"
                : "the connection to PostgreSQL at \(target) broke during a transaction; nothing was stored, try again"
        case .server(let state, let message):
            "PostgreSQL refused a statement (SQLSTATE \(state)): \(message.logEscaped)"
        case .unsupportedColumn(let name, let type): "column \"\(name)\" has type \(type), which Mailvox cannot read"
        case .closed(let target): "the PostgreSQL pool for \(target) is closed"
        }
    }

    /// True when `error` means the connection itself failed (not the statement).
    static func isConnectionFailure(_ error: any Error) -> Bool {
        if let mine = error as? PostgresDatabaseError {
            if case .connectionLost = mine { return true }
            if case .unreachable = mine { return true }
            if case .server(let state, _) = mine { return state.hasPrefix("57P") || state.hasPrefix("08") }
            return false
        }
        if let psql = error as? PSQLError {
            if psql.code == .server {
                let state = psql.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("57P") || state.hasPrefix("08")
            }
            return psql.code != .queryCancelled && psql.code != .tooManyParameters
                && psql.code != .invalidCommandTag
        }
        return error is ChannelError || error is IOError
    }

    /// A statement's failure on a connection to `target`.
    static func statement(_ error: any Error, target: String) -> any Error {
        if error is PostgresDatabaseError || error is SQLError { return error }
        if let psql = error as? PSQLError, psql.code == .server, let info = psql.serverInfo {
            let state = info[.sqlState] ?? "?????"
            if !(state.hasPrefix("57P") || state.hasPrefix("08")) {
                var message = info[.message] ?? "no message"
                if let detail = info[.detail] { message += " (\(detail))" }
                return PostgresDatabaseError.server(sqlState: state, message: message)
            }
        }
        if isConnectionFailure(error) { return PostgresDatabaseError.connectionLost(target: target, atCommit: false) }
        return PostgresDatabaseError.server(sqlState: "?????", message: reason(error))
    }

    /// Why connecting failed, from postgres-nio's or NIO's error: never the configuration itself.
    static func reason(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            if let info = psql.serverInfo {
                return (info[.message] ?? "refused") + (info[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            if let underlying = psql.underlying { return reason(underlying) }
            switch psql.code {
            case .authMechanismRequiresPassword: return "the server asks for a password: set postgres.password_file"
            case .sslUnsupported: return "the server does not offer TLS (sslmode asks for it)"
            default: return "\(psql.code)"
            }
        }
        if let connect = error as? NIOConnectionError {
            if let first = connect.connectionErrors.first { return reason(first.error) }
            if connect.dnsAError != nil || connect.dnsAAAAError != nil { return "the host name does not resolve" }
            return "no address to connect to"
        }
        if let io = error as? IOError { return io.description }
        if let channel = error as? ChannelError {
            if case .connectTimeout = channel { return "timed out" }
            return "\(channel)"
        }
        return String(describing: error)
    }
}
