import Foundation
import MailvoxCore

/// Where and how to reach PostgreSQL (`[storage] backend = "postgres"`): `url`, `password_file`,
/// `pool_size`. The password comes only from its file and is never printed: `description`
/// and every error show `displayURL`, which has none.
public struct PostgresSettings: Sendable, CustomStringConvertible, CustomReflectable {
    /// How the connection is protected, as libpq's `sslmode` names it.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP (loopback or a private network only).
        case disable
        /// TLS, the server's certificate not checked (protects against listening, not against impersonation).
        case require
        /// TLS with the certificate checked against the system's trust roots and the host name.
        case verifyFull = "verify-full"
    }

    /// The server's host name or address; empty when it is reached over a Unix socket.
    public var host: String
    /// The directory of the server's Unix socket (libpq's `?host=/var/run/postgresql`), or nil
    /// for TCP. The socket is `<directory>/.s.PGSQL.<port>`, as PostgreSQL names it.
    public var socketDirectory: String?
    public var port: Int
    public var user: String
    public var database: String
    public var sslMode: SSLMode
    /// Connections held at most; each `read` or `write` leases one.
    public var poolSize: Int
    /// How long opening one connection may take before the call fails.
    public var connectTimeoutSeconds: Int64
    /// Read from `password_file` by the caller (MailvoxServer's `Backends`, through the config's
    /// checked secret reader); nil when the server needs none (trust or peer authentication).
    let password: String?

    public static let defaultPoolSize = 8

    /// Parses `url` (`postgres://user@host:port/database?sslmode=disable|require|verify-full`,
    /// or over a Unix socket `postgres://user@/database?host=/var/run/postgresql`, libpq's form)
    /// with `password` as read from `password_file`.
    public init(
        url: String, password: String? = nil, poolSize: Int = PostgresSettings.defaultPoolSize,
        connectTimeoutSeconds: Int64 = 10
    ) throws {
        let shown = Self.redacted(url)
        func refuse(_ reason: String) -> PostgresSettingsError { .malformedURL(url: shown, reason: reason) }
        guard let components = URLComponents(string: url) else {
            throw refuse("not a URL of the form postgres://user@host:port/database")
        }
        guard components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw refuse("the scheme must be postgres://")
        }
        if components.password != nil {
            throw refuse("it holds a password; put the password in password_file instead")
        }
        guard let user = components.user, !user.isEmpty else { throw refuse("no user (postgres://USER@host/database)") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw refuse("no database name (postgres://user@host/DATABASE)")
        }
        var mode = SSLMode.disable
        var socketDirectory: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "host":
                guard let value = item.value, value.hasPrefix("/"), !value.contains("\0") else {
                    throw refuse("host \"\(item.value ?? "")\" is not the absolute path of a socket's directory")
                }
                socketDirectory = value
            case "sslmode":
                guard let value = item.value, let known = SSLMode(rawValue: value) else {
                    throw refuse(
                        "sslmode \"\(item.value ?? "")\" is not one of "
                            + SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
                }
                mode = known
            default:
                throw refuse("unknown parameter \"\(item.name)\" (only sslmode and host are read)")
            }
        }
        let host = components.host ?? ""
        if socketDirectory == nil && host.isEmpty { throw refuse("no host") }
        if socketDirectory != nil && !host.isEmpty {
            throw refuse("both a host and a socket directory (?host=); give one")
        }
        if socketDirectory != nil && mode != .disable {
            throw refuse("sslmode \(mode.rawValue) over a Unix socket: PostgreSQL speaks no TLS there")
        }
        guard (1...1024).contains(poolSize) else { throw PostgresSettingsError.poolSize(poolSize) }
        self.host = host
        self.socketDirectory = socketDirectory
        self.port = components.port ?? 5432
        self.user = user.removingPercentEncoding ?? user
        self.database = database.removingPercentEncoding ?? database
        self.sslMode = mode
        self.poolSize = poolSize
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.password = password
    }

    /// The URL as it may be shown: never a password.
    public var displayURL: String {
        if let socketDirectory { return "postgres://\(user)@:\(port)/\(database)?host=\(socketDirectory)" }
        let address = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(address):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
    }

    /// The server's socket file, for a URL that names a socket directory.
    public var socketPath: String? { socketDirectory.map { "\($0)/.s.PGSQL.\(port)" } }

    public var description: String { displayURL }

    /// What `dump` and debuggers show: the display URL and pool size, never the password.
    public var customMirror: Mirror {
        Mirror(self, children: ["url": displayURL, "poolSize": poolSize], displayStyle: .struct)
    }

    /// `url` as errors may show it, for a URL that may not even parse: anything between `user:`
    /// and `@` replaced, and the query's values too (`?password=…` is someone's mistake to expect).
    static func redacted(_ url: String) -> String {
        var shown = url
        if let question = shown.firstIndex(of: "?") {
            let query = shown[shown.index(after: question)...].split(separator: "&").map { item in
                item.hasPrefix("sslmode=") || item.hasPrefix("host=")
                    ? String(item) : String(item.prefix { $0 != "=" }) + "=***"
            }
            shown = String(shown[...question]) + query.joined(separator: "&")
        }
        guard let scheme = shown.range(of: "://") else { return shown }
        let rest = shown[scheme.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return shown }
        guard let colon = rest[..<at].firstIndex(of: ":") else { return shown }
        return String(shown[..<colon]) + ":***" + String(shown[at...])
    }
}

/// A `[storage]` PostgreSQL setting that cannot be used; never carries the password.
public enum PostgresSettingsError: MailvoxFailure, Equatable {
    case malformedURL(url: String, reason: String)
    case poolSize(Int)

    public var kind: FailureKind { .input }

    public var description: String {
        switch self {
        case .malformedURL(let url, let reason): "postgres.url \"\(url.logEscaped)\": \(reason)"
        case .poolSize(let size): "postgres.pool_size \(size) must be between 1 and 1024"
        }
    }
}
