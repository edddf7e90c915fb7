import Logging
import MailvoxCore
import MailvoxDatabase
import NIOCore
import NIOPosix
import PostgresNIO

/// A node's ear on the database's change notifications (docs/SCALE-OUT.md, "Changes reach
/// every node").
///
/// A writing transaction sends `NOTIFY` (`PostgresListener.notify`); PostgreSQL delivers it to
/// every listening connection at commit, and never for a rollback. The listener holds one
/// connection of its own, outside the pool (it must stay open and idle), and hands each
/// payload to its handler. While that connection is down nothing is heard, so every time it
/// listens again after a loss it says `.listening(resumed: true)`: the handler must then read
/// what changed from the database — IMAP sessions do so from their last MODSEQ — instead of
/// trusting that it heard everything.
public struct PostgresListener: Sendable {
    public enum Event: Sendable, Equatable {
        /// Listening; `resumed` is false the first time and true after a lost connection.
        case listening(resumed: Bool)
        case notification(String)
    }

    public let settings: PostgresSettings
    public let channel: String
    private let group: any EventLoopGroup
    private let logger: Logger

    /// `channel` is a plain SQL identifier (lower-case letters, digits, `_`), so it can be named
    /// in `LISTEN` unquoted; anything else is refused here, before it reaches SQL text.
    public init(
        settings: PostgresSettings, channel: String,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "mailvox.postgres.listen")
    ) throws {
        guard Self.isIdentifier(channel) else { throw PostgresListenerError.badChannel(channel) }
        self.settings = settings
        self.channel = channel
        self.group = eventLoopGroup
        self.logger = logger
    }

    /// Sends `payload` to every listener of `channel` when the transaction of `connection`
    /// commits. PostgreSQL limits a payload to 8000 bytes: a notification says what changed
    /// (ids and a MODSEQ), never the change itself.
    public static func notify(_ connection: any SQLConnection, channel: String, payload: String) throws {
        guard isIdentifier(channel) else { throw PostgresListenerError.badChannel(channel) }
        guard payload.utf8.count < 8000 else { throw PostgresListenerError.payloadTooLong(payload.utf8.count) }
        try connection.execute("SELECT pg_notify(?, ?)", [.text(channel), .text(payload)])
    }

    /// Listens until the task is cancelled, handing every event to `handle` in order. A lost
    /// or refused connection is retried after 0.1 s, doubling up to `maxBackoffSeconds`.
    public func run(maxBackoffSeconds: Double = 5, _ handle: @Sendable (Event) async -> Void) async {
        var listenedBefore = false
        var backoff = 0.1
        while !Task.isCancelled {
            do {
                let configuration = try PostgresDatabase.configuration(settings)
                let connection = try await PostgresConnection.connect(
                    on: group.next(), configuration: configuration, id: 0, logger: logger)
                defer { connection.close().whenComplete { _ in withExtendedLifetime(connection) {} } }
                try await connection.listen(on: channel) { notifications in
                    await handle(.listening(resumed: listenedBefore))
                    listenedBefore = true
                    backoff = 0.1
                    for try await notification in notifications {
                        await handle(.notification(notification.payload))
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "listening for changes at \(settings.displayURL) stopped: \(PostgresDatabaseError.reason(error)); trying again"
                )
            }
            try? await Task.sleep(for: .seconds(backoff))
            backoff = min(backoff * 2, maxBackoffSeconds)
        }
    }

    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, (0x61...0x7a).contains(first) || first == 0x5f, name.utf8.count <= 63
        else { return false }
        return name.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5f }
    }
}

public enum PostgresListenerError: Error, Equatable, CustomStringConvertible {
    case badChannel(String)
    case payloadTooLong(Int)

    public var description: String {
        switch self {
        case .badChannel(let name):
            "\"\(name.logEscaped)\" is not a notification channel name (lower-case letters, digits and _, at most 63)"
        case .payloadTooLong(let bytes): "a notification of \(bytes) bytes is too long (PostgreSQL takes under 8000)"
        }
    }
}
