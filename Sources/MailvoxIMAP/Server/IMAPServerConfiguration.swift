import MailvoxCore
import MailvoxIMAPCore

/// What the IMAP listeners need from `[imap]`, `[tls]` and `[auth]` (docs/DESIGN.md §3.4).
public struct IMAPServerConfiguration: Sendable {
    /// STARTTLS listener; nil disables it. Port 0 binds a free port (tests).
    public var listen: HostPort?
    /// Implicit-TLS listener; nil disables it.
    public var listenTLS: HostPort?
    /// PEM files of the certificate chain and its key.
    public var certificateFile: String
    public var privateKeyFile: String
    public var allowPlaintextAuth: Bool
    public var maxMessageBytes: Int
    /// Before login: a deadline counted from connect, which the client's bytes do not move
    /// (a login being checked is waited for; `ConnectionClock`). Closed with `* BYE`.
    public var idleTimeoutBeforeLogin: Duration
    /// After login: a connection that sends nothing for this long is closed with `* BYE`
    /// (RFC 3501 §5.4's 30 minutes).
    public var idleTimeoutAfterLogin: Duration
    public var maxCommandsBeforeLogin: Int
    public var parserLimits: ParserLimits

    public init(
        listen: HostPort?, listenTLS: HostPort?, certificateFile: String, privateKeyFile: String,
        allowPlaintextAuth: Bool = false, maxMessageBytes: Int = 52_428_800,
        idleTimeoutBeforeLogin: Duration = .seconds(60), idleTimeoutAfterLogin: Duration = .seconds(30 * 60),
        maxCommandsBeforeLogin: Int = 25
    ) {
        self.listen = listen
        self.listenTLS = listenTLS
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.allowPlaintextAuth = allowPlaintextAuth
        self.maxMessageBytes = maxMessageBytes
        self.idleTimeoutBeforeLogin = idleTimeoutBeforeLogin
        self.idleTimeoutAfterLogin = idleTimeoutAfterLogin
        self.maxCommandsBeforeLogin = maxCommandsBeforeLogin
        self.parserLimits = ParserLimits(maxLiteralSize: maxMessageBytes)
    }

    /// The listeners and limits of a loaded configuration (paths already absolute).
    public init(_ configuration: Configuration) {
        self.init(
            listen: configuration.imap.listen, listenTLS: configuration.imap.listenTLS,
            certificateFile: configuration.tls.certificateFile, privateKeyFile: configuration.tls.privateKeyFile,
            allowPlaintextAuth: configuration.imap.allowPlaintextAuth,
            maxMessageBytes: configuration.imap.maxMessageBytes)
    }
}
