import MailvoxCore
import MailvoxSMTPCore

/// What the SMTP and LMTP listeners ask of the rest of Mailvox: who may send, which recipients
/// exist, and to take a message. `MailvoxServer` implements it over the directory and `Intake`;
/// tests implement it in memory. Each call may block on SQLite or fsync, so implementations
/// run their work off the event loop.
public protocol SMTPBackend: Sendable {
    /// AUTH PLAIN/LOGIN: the password is an API token; the user name is only logged.
    func authenticate(username: String, password: String, client: ClientAddress) async -> SMTPAuthVerdict
    /// RCPT TO: the mailbox this address reaches, or the refusal to send.
    func recipient(_ address: SMTPAddress) async -> SMTPRecipientVerdict
    /// End of DATA/BDAT: one reply per recipient, in the envelope's order, each sent only once
    /// that recipient's deposit is durable.
    func deliver(_ envelope: SMTPEnvelope, message: [UInt8]) async -> [SMTPReply]
}

public enum SMTPAuthVerdict: Sendable, Equatable {
    case accepted(identity: String)
    case refused
    /// Too many failures from this client: answered 421 and the connection closed.
    case lockedOut
}

public enum SMTPRecipientVerdict: Sendable, Equatable {
    /// Reaches the mailbox with this id.
    case accepted(mailbox: String)
    case refused(SMTPReply)
}

/// One transaction's envelope as the session collected it.
public struct SMTPEnvelope: Sendable, Equatable {
    public struct Recipient: Sendable, Equatable {
        public var address: SMTPAddress
        public var mailbox: String
    }

    public var mailFrom: SMTPAddress?
    public var recipients: [Recipient]
    public var client: ClientAddress
    public var helo: String
    /// The API token's name when the client authenticated.
    public var authenticatedAs: String?
}
