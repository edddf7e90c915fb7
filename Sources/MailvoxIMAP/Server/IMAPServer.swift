import Logging
import MailvoxCore
import MailvoxIMAPCore
import MailvoxTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// The IMAP service: a STARTTLS listener and an implicit-TLS listener on SwiftNIO, each
/// connection an `IMAPSession` logging in through the `Authenticator` and then seeing only
/// its own mailbox's `MailStore`. `MailvoxServer` runs it as a service until shutdown.
public struct IMAPServer: Sendable {
    public let configuration: IMAPServerConfiguration
    let authenticator: any Authenticator
    let logger: Logger
    /// What every session of this server shares (encoded structures, recent claims).
    let caches = SessionCaches()

    /// Where the listeners are bound (a port 0 in the configuration becomes the real port).
    public struct BoundAddresses: Sendable {
        public var startTLS: SocketAddress?
        public var implicitTLS: SocketAddress?
    }

    public init(configuration: IMAPServerConfiguration, authenticator: any Authenticator, logger: Logger) {
        self.configuration = configuration
        self.authenticator = authenticator
        self.logger = logger
    }

    /// The TLS context of `[tls]`'s PEM files, under the policy every listener shares.
    func makeSSLContext() throws -> NIOSSLContext {
        try ServerTLS.context(
            certificateFile: configuration.certificateFile, privateKeyFile: configuration.privateKeyFile)
    }

    /// Binds the listeners, reports where, and serves until the task is cancelled.
    public func run(onBound: @Sendable (BoundAddresses) -> Void = { _ in }) async throws {
        let sslContext = try makeSSLContext()
        var listeners: [(NIOAsyncChannel<IMAPChannel, Never>, Bool)] = []
        var bound = BoundAddresses()
        if let listen = configuration.listen {
            let listener = try await bind(listen, implicitTLS: false, sslContext: sslContext)
            bound.startTLS = listener.channel.localAddress
            listeners.append((listener, false))
        }
        if let listen = configuration.listenTLS {
            let listener = try await bind(listen, implicitTLS: true, sslContext: sslContext)
            bound.implicitTLS = listener.channel.localAddress
            listeners.append((listener, true))
        }
        logger.info(
            "IMAP listening",
            metadata: [
                "starttls": "\(bound.startTLS.map { "\($0)" } ?? "off")",
                "tls": "\(bound.implicitTLS.map { "\($0)" } ?? "off")",
            ])
        onBound(bound)
        try await withThrowingDiscardingTaskGroup { group in
            for (listener, implicitTLS) in listeners {
                group.addTask {
                    try await listener.executeThenClose { inbound in
                        try await withThrowingDiscardingTaskGroup { connections in
                            for try await accepted in inbound {
                                connections.addTask {
                                    await IMAPConnection(
                                        connection: accepted.channel, configuration: configuration,
                                        implicitTLS: implicitTLS, sslContext: sslContext, authenticator: authenticator,
                                        clock: accepted.clock, bytesRead: accepted.bytesRead, logger: logger,
                                        caches: caches
                                    ).run()
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A freshly accepted connection and the values its handlers share with the session.
    struct IMAPChannel: Sendable {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        let clock: ConnectionClock
        let bytesRead: NIOLockedValueBox<Int>
    }

    private func bind(
        _ address: HostPort, implicitTLS: Bool, sslContext: NIOSSLContext
    ) async throws
        -> NIOAsyncChannel<IMAPChannel, Never>
    {
        let before = TimeAmount(configuration.idleTimeoutBeforeLogin)
        let after = TimeAmount(configuration.idleTimeoutAfterLogin)
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .bind(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let clock = ConnectionClock(beforeLogin: before, afterLogin: after)
                    let bytesRead = NIOLockedValueBox(0)
                    if implicitTLS {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        IdleTimeoutHandler(clock: clock, bytesRead: bytesRead))
                    let wrapped = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(backPressureStrategy: .init(lowWatermark: 1, highWatermark: 2)))
                    return IMAPChannel(channel: wrapped, clock: clock, bytesRead: bytesRead)
                }
            }
    }
}
