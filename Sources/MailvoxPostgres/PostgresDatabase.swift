import Foundation
import Logging
import MailvoxDatabase
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// The SQL seam over PostgreSQL: a bounded pool of postgres-nio connections used synchronously.
///
/// Every store call is synchronous and runs on the blocking pool or a dedicated thread, so
/// `read` and `write` lease a connection and wait for postgres-nio's futures on the calling
/// thread; that is allowed there and nowhere else, and an event-loop thread is refused (it
/// would deadlock waiting for itself). A connection that broke is dropped; the next lease opens
/// a new one, so a PostgreSQL restart costs the calls that were in flight and nothing more.
public final class PostgresDatabase: SQLDatabase, CustomReflectable, @unchecked Sendable {
    public let settings: PostgresSettings
    public var dialect: SQLDialect { .postgres }
    private let group: any EventLoopGroup
    private let logger: Logger
    private let configuration: PostgresConnection.Configuration
    /// Guards everything below.
    private let condition = NSCondition()
    /// Which type OIDs of this database are text by another name (`citext`); see `TextTypes`.
    private let textTypes = TextTypes()
    private var idle: [PostgresConnection] = []
    /// Connections idle, leased or being opened: never more than `settings.poolSize`.
    private var count = 0
    private var nextID = 0
    private var isClosed = false

    /// Opens the pool and one connection to prove the server can be reached with these settings.
    public init(
        settings: PostgresSettings, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "mailvox.postgres")
    ) throws {
        self.settings = settings
        self.group = eventLoopGroup
        self.logger = logger
        self.configuration = try Self.configuration(settings)
        Self.requireBlockingThread()
        let first = try lease()
        giveBack(first, broken: false)
    }

    /// `dump` shows the settings alone: the connection configuration holds the password.
    public var customMirror: Mirror { Mirror(self, children: ["settings": settings], displayStyle: .class) }

    /// Closes every idle connection; calls after this throw `closed`.
    public func close() {
        condition.lock()
        isClosed = true
        let closing = idle
        idle.removeAll()
        count -= closing.count
        condition.broadcast()
        condition.unlock()
        for connection in closing { try? connection.close().wait() }
    }

    deinit {
        for connection in idle { Self.closeInBackground(connection) }
    }

    /// Closes `connection` without waiting; it stays alive until closed (postgres-nio asserts that).
    private static func closeInBackground(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    public func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        // One snapshot for every statement of the body, as SQLite's read transactions give.
        try transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    @discardableResult
    public func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try transaction(begin: "BEGIN", body)
    }

    /// The body's one statement in autocommit: its own snapshot, one round trip instead of three.
    public func readStatement<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try transaction(begin: nil, body)
    }

    /// The body's one statement in autocommit: committed by itself, one round trip instead of
    /// three. Never run again on a lost connection (it may have committed).
    @discardableResult
    public func writeStatement<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try transaction(begin: nil, writes: true, body)
    }

    /// `body` between `begin` and COMMIT; with no `begin`, in autocommit (`readStatement`,
    /// `writeStatement`).
    private func transaction<T>(
        begin: String?, writes: Bool = false, _ body: (any SQLConnection) throws -> T
    ) throws -> T {
        Self.requireBlockingThread()
        var retries = 0
        while true {
            let connection = try lease()
            let handle = PostgresSQLConnection(
                connection: connection, logger: logger, target: settings.displayURL, textTypes: textTypes)
            do {
                if let begin { try handle.run(begin) }
            } catch {
                giveBack(connection, broken: true)
                // Nothing ran yet: a pooled connection the server closed (a restart) is replaced
                // and the transaction started again, at most once per pooled connection.
                if PostgresDatabaseError.isConnectionFailure(error) && retries <= settings.poolSize {
                    retries += 1
                    continue
                }
                throw error
            }
            let result: T
            do {
                result = try body(handle)
            } catch {
                if connection.isClosed || PostgresDatabaseError.isConnectionFailure(error) {
                    giveBack(connection, broken: true)
                    // A read in autocommit changed nothing: on a pooled connection the server
                    // closed, it is run again on another, as a transaction's BEGIN would be.
                    if begin == nil && !writes && retries <= settings.poolSize {
                        retries += 1
                        continue
                    }
                    // A write in autocommit may have committed before the connection went.
                    throw PostgresDatabaseError.connectionLost(target: settings.displayURL, atCommit: writes)
                }
                guard begin != nil else {
                    giveBack(connection, broken: false)
                    throw error
                }
                do {
                    try handle.run("ROLLBACK")
                    giveBack(connection, broken: false)
                } catch {
                    giveBack(connection, broken: true)
                }
                throw error
            }
            do {
                if begin != nil { try handle.run("COMMIT") }
            } catch {
                let broken = connection.isClosed || PostgresDatabaseError.isConnectionFailure(error)
                giveBack(connection, broken: broken)
                if broken { throw PostgresDatabaseError.connectionLost(target: settings.displayURL, atCommit: true) }
                throw error
            }
            giveBack(connection, broken: false)
            return result
        }
    }

    /// Waiting for a future on an event loop would wait for that loop itself: refused at once.
    private static func requireBlockingThread() {
        precondition(
            MultiThreadedEventLoopGroup.currentEventLoop == nil,
            "PostgresDatabase blocks: call it from the blocking pool, never from an event loop")
    }

    // MARK: The pool

    /// An idle connection, a new one while fewer than `poolSize` exist, or the next one given back.
    private func lease() throws -> PostgresConnection {
        condition.lock()
        while true {
            if isClosed {
                condition.unlock()
                throw PostgresDatabaseError.closed(target: settings.displayURL)
            }
            if let connection = idle.popLast() {
                if connection.isClosed {
                    count -= 1
                    continue
                }
                condition.unlock()
                return connection
            }
            if count < settings.poolSize {
                count += 1
                nextID += 1
                let id = nextID
                condition.unlock()
                do {
                    return try connect(id: id)
                } catch {
                    condition.lock()
                    count -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            condition.wait()
        }
    }

    private func giveBack(_ connection: PostgresConnection, broken: Bool) {
        condition.lock()
        let keep = !broken && !connection.isClosed && !isClosed
        if keep {
            idle.append(connection)
        } else {
            count -= 1
        }
        condition.signal()
        condition.unlock()
        if !keep { Self.closeInBackground(connection) }
    }

    private func connect(id: Int) throws -> PostgresConnection {
        do {
            return try PostgresConnection.connect(
                on: group.next(), configuration: configuration, id: id, logger: logger
            ).wait()
        } catch {
            throw PostgresDatabaseError.unreachable(
                target: settings.displayURL, reason: PostgresDatabaseError.reason(error))
        }
    }

    static func configuration(_ settings: PostgresSettings) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch settings.sslMode {
        case .disable:
            tls = .disable
        case .require:
            var client = TLSConfiguration.makeClientConfiguration()
            client.certificateVerification = .none
            tls = .require(try NIOSSLContext(configuration: client))
        case .verifyFull:
            tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration =
            settings.socketPath.map {
                PostgresConnection.Configuration(
                    unixSocketPath: $0, username: settings.user, password: settings.password,
                    database: settings.database)
            }
            ?? PostgresConnection.Configuration(
                host: settings.host, port: settings.port, username: settings.user, password: settings.password,
                database: settings.database, tls: tls)
        configuration.options.connectTimeout = .seconds(settings.connectTimeoutSeconds)
        if settings.sslMode == .verifyFull { configuration.options.tlsServerName = settings.host }
        return configuration
    }
}
