import MailvoxCore

/// What the SMTP and LMTP listeners need from `[inbound]`, `[server]` and `[tls]`
/// (docs/DESIGN.md §3.9).
public struct SMTPServerConfiguration: Sendable {
    public var hostname: String
    /// SMTP with STARTTLS (submission-style; RFC 3207).
    public var smtp: HostPort?
    /// SMTP in implicit TLS (RFC 8314).
    public var smtps: HostPort?
    /// LMTP (RFC 2033), for an MTA in front.
    public var lmtp: Configuration.Listen?
    public var certificateFile: String
    public var privateKeyFile: String
    public var maxMessageBytes: Int
    public var maxRecipients: Int
    public var requireAuth: Bool
    /// Clients that may send without AUTH (loopback always may).
    public var trustedNetworks: [IPNetwork]
    /// A client silent this long is told `421 4.4.2` and disconnected.
    public var idleTimeout: Duration
    /// Connections at once, in all; past it a new one is told `421 4.7.0`.
    public var maxConnections: Int
    /// Connections at once from one address.
    public var maxConnectionsPerAddress: Int
    /// Refused commands in one connection before it is closed with `421 4.7.0`.
    public var maxErrors: Int

    public init(
        hostname: String, smtp: HostPort? = nil, smtps: HostPort? = nil, lmtp: Configuration.Listen? = nil,
        certificateFile: String, privateKeyFile: String, maxMessageBytes: Int = 52_428_800, maxRecipients: Int = 100,
        requireAuth: Bool = true, trustedNetworks: [IPNetwork] = [], idleTimeout: Duration = .seconds(300),
        maxConnections: Int = 200, maxConnectionsPerAddress: Int = 20, maxErrors: Int = 10
    ) {
        self.hostname = hostname
        self.smtp = smtp
        self.smtps = smtps
        self.lmtp = lmtp
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.maxMessageBytes = maxMessageBytes
        self.maxRecipients = maxRecipients
        self.requireAuth = requireAuth
        self.trustedNetworks = trustedNetworks
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.maxErrors = maxErrors
    }

    /// The listeners and limits of a loaded configuration.
    public init(_ configuration: Configuration) {
        let inbound = configuration.inbound
        self.init(
            hostname: configuration.server.hostname, smtp: inbound.smtpListen, smtps: inbound.smtpsListen,
            lmtp: inbound.lmtpListen,
            certificateFile: configuration.tls.certificateFile, privateKeyFile: configuration.tls.privateKeyFile,
            maxMessageBytes: inbound.maxMessageBytes, maxRecipients: inbound.maxRecipients,
            requireAuth: inbound.requireAuth, trustedNetworks: inbound.trustedNetworks,
            idleTimeout: .seconds(inbound.idleTimeoutSeconds), maxConnections: inbound.maxConnections,
            maxConnectionsPerAddress: inbound.maxConnectionsPerAddress)
    }

    /// Whether a client at `address` may send without AUTH.
    public func isTrusted(_ address: String) -> Bool {
        IPNetwork.loopbackV4.contains(address) || IPNetwork.loopbackV6.contains(address)
            || trustedNetworks.contains { $0.contains(address) }
    }
}
