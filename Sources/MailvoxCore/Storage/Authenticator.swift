/// How a protocol server logs a user in (docs/DESIGN.md §2): mailbox id + password + client
/// address → the mailbox's own `MailStore`, or a refusal with the delay to apply first.
///
/// Failures are counted per (mailbox, address) and per address (`[auth]`); the delay doubles
/// past `max_failures` up to `lockout_seconds`, so a wrong client slows itself down without
/// locking the user out of other addresses.
public protocol Authenticator: Sendable {
    func authenticate(mailbox: String, password: String, client: ClientAddress) async -> AuthenticationResult
}

/// The outcome of one login attempt.
public enum AuthenticationResult: Sendable {
    /// The store bound to the one mailbox the credentials open; a session sees nothing else.
    case success(any MailStore)
    /// Wrong id or password (indistinguishable on purpose), or too many failures: wait
    /// `delay` before answering `[AUTHENTICATIONFAILED]`.
    case failure(delay: Duration)
}

/// The peer of a connection, as failure counting keys it: an IP address without the port.
public struct ClientAddress: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }
}
