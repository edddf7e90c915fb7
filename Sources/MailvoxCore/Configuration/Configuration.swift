/// Mailvox's whole configuration, as `MailvoxConfig` reads it from TOML and `MAILVOX_*` variables.
///
/// Every default here is the documented default of `Config/mailvox.example.toml`; paths are
/// absolute once loaded (relative ones resolve against the config file's directory).
public struct Configuration: Sendable, Equatable {
    /// The config file this was read from (absolute), named in every error about it.
    public var file: String
    public var server = Server()
    public var imap = IMAP()
    public var http = HTTP()
    public var web = Web()
    public var tls = TLS()
    public var crypto = Crypto()
    public var auth = Auth()
    public var audio = Audio()
    public var intake = Intake()
    public var inbound = Inbound()
    public var quota = Quota()
    public var queue = Queue()
    public var templates = Templates()
    public var smtp = SMTP()
    public var sms = SMS()
    public var backup = Backup()
    public var retention = Retention()
    public var audit = Audit()
    public var storage = Storage()
    public var postgres = Postgres()
    public var blobs = Blobs()

    /// A configuration with every default (paths still relative, as the loader resolves them).
    public init(file: String) {
        self.file = file
    }

    public struct Server: Sendable, Equatable {
        public var dataDir = "."
        public var hostname = "localhost"
        /// Deliver workers; 0 means one per core.
        public var workers = 0
        /// False: this node answers doors and clients and leaves deliveries and alerts to the
        /// other nodes sharing its database (docs/SCALE-OUT.md).
        public var runJobs = true
        /// Threads for blocking calls of sessions and handlers (SQLite, files, scrypt); 0 means
        /// `Offload.defaultThreads` (four per core, at least eight).
        public var blockingThreads = 0
        /// Linux nice value of deliver workers, the drop folder and intake (0–19; 0 = no change).
        public var backgroundNice = 10
        public var defaultTimezone = "UTC"
        public var minFreeBytes = 104_857_600
        public var logLevel = LogLevel.info
    }

    /// Log verbosity; `debug` may show caller data, `info` and above never do.
    public enum LogLevel: String, Sendable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    public struct IMAP: Sendable, Equatable {
        /// STARTTLS listener; nil disables it.
        public var listen: HostPort? = HostPort(host: "127.0.0.1", port: 1143)
        /// Implicit-TLS listener; nil disables it.
        public var listenTLS: HostPort? = HostPort(host: "127.0.0.1", port: 1993)
        public var allowPlaintextAuth = false
        public var maxMessageBytes = 52_428_800
    }

    public struct HTTP: Sendable, Equatable {
        public var listen: HostPort? = HostPort(host: "127.0.0.1", port: 8080)
        public var tls = true
        public var maxBodyBytes = 52_428_800
        /// From connect (or the last response) until a request's head has arrived, TLS
        /// handshake included; past it the connection is closed.
        public var headerTimeoutSeconds = 30
    }

    /// Where users reach the web inbox, without a trailing slash; nil when it is off or no
    /// HTTP listener serves it.
    public var webBaseURL: String? {
        guard web.enabled, let listen = http.listen else { return nil }
        if !web.baseURL.isEmpty { return web.baseURL.hasSuffix("/") ? String(web.baseURL.dropLast()) : web.baseURL }
        let host = server.hostname.contains(":") ? "[\(server.hostname)]" : server.hostname
        return "\(http.tls ? "https" : "http")://\(host):\(listen.port)"
    }

    /// The web inbox's link to one voicemail, by its deposit id (no caller data in it), for
    /// alert mails; nil when `[web] alert_links` is off.
    public func webLink(deposit: String) -> String? {
        guard web.alertLinks, let base = webBaseURL else { return nil }
        return base + "/voicemail/" + deposit
    }

    /// The web inbox (docs/WEB.md), served by the HTTP listener.
    public struct Web: Sendable, Equatable {
        public var enabled = true
        /// Where users reach the web inbox, for links in alert mails (`https://voicemail.example.com`);
        /// "" means `https://[server] hostname:[http] listen's port`.
        public var baseURL = ""
        /// A session unused this long ends.
        public var idleTimeoutSeconds = 1800
        /// A session ends this long after sign-in, however busy.
        public var maxSessionSeconds = 43_200
        /// Alert mails link to the voicemail in the web inbox.
        public var alertLinks = true
    }

    public struct TLS: Sendable, Equatable {
        public var certificateFile = "tls/cert.pem"
        public var privateKeyFile = "tls/key.pem"
    }

    public struct Crypto: Sendable, Equatable {
        public var masterKeyFile = "keys/master.key"
    }

    public struct Auth: Sendable, Equatable {
        /// Failures (finished or in flight) per (mailbox, client address) before it is locked.
        public var maxFailures = 5
        /// Failures per client address across all mailboxes: much higher, because one address
        /// can be a whole office or PBX behind NAT, and one wrong client must not lock out the rest.
        public var maxFailuresPerAddress = 50
        public var lockoutSeconds = 300

        public init(maxFailures: Int = 5, maxFailuresPerAddress: Int = 50, lockoutSeconds: Int = 300) {
            self.maxFailures = maxFailures
            self.maxFailuresPerAddress = maxFailuresPerAddress
            self.lockoutSeconds = lockoutSeconds
        }

        /// The per-address limit in force: never below `maxFailures`, so the per-address key
        /// can never lock before the per-(mailbox, address) one would.
        public var effectiveMaxFailuresPerAddress: Int { max(maxFailuresPerAddress, maxFailures) }
    }

    public struct Audio: Sendable, Equatable {
        public var formats: [AudioFormat] = [.mp3]
        public var mp3BitrateKbps = 32
        public var opusBitrateKbps = 24
        /// Loudness normalisation target in LUFS; nil when set to "off".
        public var loudnessTargetLUFS: Double? = -16.0
        public var trimSilence = true
        public var minSeconds = 1.0
        public var maxSeconds = 600.0
        public var tooLong = TooLong.truncate
    }

    /// An attachment format of the voice message.
    public enum AudioFormat: String, Sendable, CaseIterable {
        case mp3, wav, opus, flac
    }

    /// What to do with a recording longer than `max_seconds`.
    public enum TooLong: String, Sendable, CaseIterable {
        case truncate, reject
    }

    public struct Intake: Sendable, Equatable {
        /// The drop folder; nil disables it.
        public var dropDir: String? = nil
        public var keepProcessed = false
    }

    /// The SMTP and LMTP door (docs/DESIGN.md §3.9); every listener is off until configured.
    /// `[quota]`: limits for mailboxes that set none of their own (`mailbox set --quota-mb`).
    public struct Quota: Sendable, Equatable {
        /// MiB per mailbox; 0 is no limit.
        public var defaultMB = 0
        /// Messages per mailbox; 0 is no limit.
        public var defaultMessages = 0
        /// The share of a limit at which the owner is warned, once per crossing.
        public var warnPercent = 90

        public init(defaultMB: Int = 0, defaultMessages: Int = 0, warnPercent: Int = 90) {
            self.defaultMB = defaultMB
            self.defaultMessages = defaultMessages
            self.warnPercent = warnPercent
        }
    }

    public struct Inbound: Sendable, Equatable {
        /// SMTP with STARTTLS; nil disables it.
        public var smtpListen: HostPort? = nil
        /// SMTP in implicit TLS; nil disables it.
        public var smtpsListen: HostPort? = nil
        /// LMTP on a TCP address or a Unix socket; nil disables it.
        public var lmtpListen: Listen? = nil
        /// Recipient domains; empty means `[server] hostname` alone.
        public var domains: [String] = []
        public var maxMessageBytes = 52_428_800
        public var requireAuth = true
        public var trustedNetworks: [IPNetwork] = []
        public var maxRecipients = 100
        public var idleTimeoutSeconds = 300
        public var maxConnections = 200
        public var maxConnectionsPerAddress = 20
        /// Subject patterns that find the caller, tried before the built-in ones.
        public var callerPatterns: [CallerPattern] = []
    }

    /// A listener on TCP or on a Unix socket (a path).
    public enum Listen: Sendable, Equatable, CustomStringConvertible {
        case tcp(HostPort)
        case unix(path: String)

        public var description: String {
            switch self {
            case .tcp(let address): address.description
            case .unix(let path): path
            }
        }
    }

    /// `"SENDER REGEX"` of `[inbound] caller_patterns`: for mail from SENDER (`*`, `@domain` or an
    /// address), REGEX applied to the Subject gives the caller in its `number` (and `name`) group.
    public struct CallerPattern: Sendable, Equatable {
        public var sender: String
        public var pattern: String

        public init(sender: String, pattern: String) {
            self.sender = sender.lowercased()
            self.pattern = pattern
        }

        /// Whether mail from `address` (lower-cased, or nil for `<>`) uses this pattern.
        public func applies(to address: String?) -> Bool {
            if sender == "*" { return true }
            guard let address else { return false }
            return sender.hasPrefix("@") ? address.hasSuffix(sender) : address == sender
        }
    }

    public struct Queue: Sendable, Equatable {
        public var maxAttempts = 8
        public var backoffInitialSeconds = 5
        public var backoffMaxSeconds = 3600
        public var idempotencyDays = 7
    }

    public struct Templates: Sendable, Equatable {
        /// A folder whose files override the built-in templates; nil uses the search order alone.
        public var dir: String? = nil
    }

    public struct SMTP: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 587
        public var security = SMTPSecurity.starttls
        /// CA bundle to verify the relay with; nil uses the system trust store.
        public var caFile: String? = nil
        public var username = ""
        /// File holding the relay password; nil when the relay needs none.
        public var passwordFile: String? = nil
        public var from = "Voicemail <voicemail@localhost>"
    }

    public enum SMTPSecurity: String, Sendable, CaseIterable {
        case tls, starttls, none
    }

    public struct SMS: Sendable, Equatable {
        public var provider = SMSProvider.none
        public var maxLength = 160
        public var webhookURL = ""
        public var webhookSecretFile: String? = nil
        public var twilioBaseURL = "https://api.twilio.com"
        public var twilioAccountSID = ""
        public var twilioAuthTokenFile: String? = nil
        public var twilioFrom = ""
        public var emailGatewayDomain = ""
    }

    public enum SMSProvider: String, Sendable, CaseIterable {
        case none, webhook, twilio, email
    }

    /// `[backup]`: what `mailvox doctor` expects of `mailvox backup` (docs/OPERATIONS.md).
    public struct Backup: Sendable, Equatable {
        /// Doctor warns when no successful backup is younger than this many days; 0 never warns.
        public var warnAfterDays = 7

        public init(warnAfterDays: Int = 7) { self.warnAfterDays = warnAfterDays }
    }

    /// `[retention]` (docs/OPERATIONS.md): how long an expunged message stays recoverable, and the
    /// folder aging rules the maintenance service applies. Days; 0 turns a folder's rule off.
    /// A mailbox's own `mailbox set --trash-days …` overrides the folder rules; a held mailbox
    /// (`mailbox hold`) is never purged by any of them.
    public struct Retention: Sendable, Equatable {
        /// Expunged messages stay in "Recently Deleted" this long, then are purged.
        public var deletedDays = 30
        /// Messages in Trash longer than this (since they were filed there) are expunged.
        public var trashDays = 30
        public var inboxDays = 0
        public var savedDays = 0

        public init(deletedDays: Int = 30, trashDays: Int = 30, inboxDays: Int = 0, savedDays: Int = 0) {
            self.deletedDays = deletedDays
            self.trashDays = trashDays
            self.inboxDays = inboxDays
            self.savedDays = savedDays
        }
    }

    /// `[audit]` (docs/OPERATIONS.md): how long a mailbox's audit log keeps an entry.
    public struct Audit: Sendable, Equatable {
        /// Entries older than this are purged by the maintenance service (a held mailbox keeps them).
        public var days = 90

        public init(days: Int = 90) { self.days = days }
    }

    /// `[storage]` (docs/SCALE-OUT.md): where the index, directory and queue live.
    public struct Storage: Sendable, Equatable {
        /// `embedded`: SQLite in the data dir (one node, the default); `postgres`: the
        /// `[postgres]` server, shared by every node.
        public var backend = StorageBackend.embedded

        public init(backend: StorageBackend = .embedded) { self.backend = backend }
    }

    public enum StorageBackend: String, Sendable, CaseIterable {
        case embedded, postgres
    }

    /// `[postgres]`: the PostgreSQL server of `storage.backend = "postgres"`.
    public struct Postgres: Sendable, Equatable {
        /// `postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full`; no password in it.
        public var url = ""
        /// The password, alone in a file (mode 600); nil for trust or peer authentication.
        public var passwordFile: String? = nil
        /// Connections each node keeps open at most.
        public var poolSize = 8

        public init(url: String = "", passwordFile: String? = nil, poolSize: Int = 8) {
            self.url = url
            self.passwordFile = passwordFile
            self.poolSize = poolSize
        }
    }

    /// `[blobs]` (docs/SCALE-OUT.md): where sealed messages, deposits and alert copies live.
    public struct Blobs: Sendable, Equatable {
        /// `filesystem`: files in the data dir (the default); `s3`: an S3-compatible bucket.
        public var backend = BlobBackend.filesystem
        /// The S3 service's base URL (`https://s3.eu-central-1.amazonaws.com`).
        public var endpoint = ""
        public var bucket = ""
        public var region = "us-east-1"
        /// The access key id and the secret key, each alone in a file (mode 600).
        public var accessKeyFile: String? = nil
        public var secretKeyFile: String? = nil
        /// Path-style addressing (`ENDPOINT/BUCKET/KEY`), as most self-hosted services want;
        /// otherwise virtual-hosted (`BUCKET.ENDPOINT/KEY`).
        public var pathStyle = false
        /// MiB of sealed messages each node keeps in memory after writing or reading them from
        /// the bucket (`MessageStore`'s `rememberingObjects`); 0 keeps none.
        public var cacheMB = 64

        public init() {}
    }

    public enum BlobBackend: String, Sendable, CaseIterable {
        case filesystem, s3
    }
}

extension Configuration {
    /// The data dir's fixed layout (docs/DESIGN.md §5.1).
    public var databasePath: String { server.dataDir + "/mailvox.sqlite" }
    public var spoolDir: String { server.dataDir + "/spool" }
    public var queueDir: String { server.dataDir + "/queue" }
    public var serveLockPath: String { server.dataDir + "/serve.lock" }
    /// The recipient domains the SMTP/LMTP door accepts, lower-cased.
    public var inboundDomains: [String] {
        (inbound.domains.isEmpty ? [server.hostname] : inbound.domains).map { $0.lowercased() }
    }
}
