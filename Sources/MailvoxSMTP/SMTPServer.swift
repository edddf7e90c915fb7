import Foundation
import Logging
import MailvoxCore
import MailvoxSMTPCore
import MailvoxTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// The SMTP/LMTP door (docs/DESIGN.md §3.9): up to three listeners on SwiftNIO — SMTP with
/// STARTTLS, SMTP in implicit TLS, and LMTP on TCP or a Unix socket — each connection an
/// `SMTPSession` handing finished messages to the `SMTPBackend`.
public struct SMTPServer: Sendable {
    public let configuration: SMTPServerConfiguration
    let backend: any SMTPBackend
    let logger: Logger
    let limiter: ConnectionLimiter

    /// Where the listeners are bound.
    public struct BoundAddresses: Sendable {
        public var smtp: SocketAddress?
        public var smtps: SocketAddress?
        public var lmtp: SocketAddress?
    }

    public init(configuration: SMTPServerConfiguration, backend: any SMTPBackend, logger: Logger) {
        self.configuration = configuration
        self.backend = backend
        self.logger = logger
        self.limiter = ConnectionLimiter(
            total: configuration.maxConnections, perAddress: configuration.maxConnectionsPerAddress)
    }

    /// Whether any listener is configured.
    public var isEnabled: Bool { configuration.smtp != nil || configuration.smtps != nil || configuration.lmtp != nil }

    func makeSSLContext() throws -> NIOSSLContext {
        try ServerTLS.context(
            certificateFile: configuration.certificateFile, privateKeyFile: configuration.privateKeyFile)
    }

    private enum Kind: Sendable {
        case smtp, smtps, lmtp
    }

    /// Binds the listeners, reports where, and serves until the task is cancelled.
    public func run(onBound: @Sendable (BoundAddresses) -> Void = { _ in }) async throws {
        let sslContext = try makeSSLContext()
        var listeners: [(NIOAsyncChannel<Accepted, Never>, Kind)] = []
        var bound = BoundAddresses()
        if let address = configuration.smtp {
            let listener = try await bind(.tcp(address), kind: .smtp, sslContext: sslContext)
            bound.smtp = listener.channel.localAddress
            listeners.append((listener, .smtp))
        }
        if let address = configuration.smtps {
            let listener = try await bind(.tcp(address), kind: .smtps, sslContext: sslContext)
            bound.smtps = listener.channel.localAddress
            listeners.append((listener, .smtps))
        }
        if let endpoint = configuration.lmtp {
            let listener = try await bind(endpoint, kind: .lmtp, sslContext: sslContext)
            bound.lmtp = listener.channel.localAddress
            listeners.append((listener, .lmtp))
            if case .unix(let path) = endpoint {
                // The MTA in front runs as a user of its own (Postfix: postfix). Who may connect
                // is decided by the permissions of the folder the socket is in.
                chmod(path, 0o666)
            }
        }
        logger.info(
            "SMTP listening",
            metadata: [
                "smtp": "\(bound.smtp.map { "\($0)" } ?? "off")", "smtps": "\(bound.smtps.map { "\($0)" } ?? "off")",
                "lmtp": "\(configuration.lmtp.map { "\($0)" } ?? "off")",
            ])
        onBound(bound)
        try await withThrowingDiscardingTaskGroup { group in
            for (listener, kind) in listeners {
                group.addTask {
                    try await listener.executeThenClose { inbound in
                        try await withThrowingDiscardingTaskGroup { connections in
                            for try await accepted in inbound {
                                connections.addTask { await serve(accepted, kind: kind, sslContext: sslContext) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A freshly accepted connection and its octet counter.
    struct Accepted: Sendable {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        let bytesRead: NIOLockedValueBox<Int>
        let pending: NIOLockedValueBox<Int>
    }

    private func serve(_ accepted: Accepted, kind: Kind, sslContext: NIOSSLContext) async {
        let remote = accepted.channel.channel.remoteAddress
        let isUnix = remote == nil || remote?.protocol == .unix
        let address = isUnix ? "local" : (remote?.ipAddress ?? "unknown")
        guard limiter.admit(address) else {
            logger.notice("smtp: too many connections", metadata: ["client": "\(address)"])
            let reply = SMTPReply(421, "4.7.0", "\(configuration.hostname) Too many connections; try again later")
            try? await accepted.channel.executeThenClose { _, outbound in
                try await outbound.write(ByteBuffer(bytes: reply.wire))
            }
            return
        }
        defer { limiter.release(address) }
        let session = SMTPSession(
            configuration: configuration, backend: backend, logger: logger, proto: kind == .lmtp ? .lmtp : .smtp,
            client: ClientAddress(address), trusted: isUnix || configuration.isTrusted(address),
            isTLS: kind == .smtps, startTLSAvailable: kind != .smtps)
        await SMTPConnection(
            connection: accepted.channel, session: session, sslContext: sslContext, bytesRead: accepted.bytesRead,
            pending: accepted.pending, logger: logger
        ).run()
    }

    private func bind(
        _ endpoint: Configuration.Listen, kind: Kind, sslContext: NIOSSLContext
    ) async throws -> NIOAsyncChannel<Accepted, Never> {
        let idle = TimeAmount(configuration.idleTimeout)
        let hostname = configuration.hostname
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 1)
        let initializer: @Sendable (Channel) -> EventLoopFuture<Accepted> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let bytesRead = NIOLockedValueBox(0)
                let pending = NIOLockedValueBox(0)
                let handlers = channel.pipeline.syncOperations
                if kind == .smtps { try handlers.addHandler(NIOSSLServerHandler(context: sslContext)) }
                try handlers.addHandler(ByteCounter(bytesRead, pending: pending))
                try handlers.addHandler(IdleStateHandler(readTimeout: idle))
                try handlers.addHandler(IdleCloser(hostname: hostname, pending: pending))
                let wrapped = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                    wrappingChannelSynchronously: channel,
                    configuration: .init(backPressureStrategy: .init(lowWatermark: 1, highWatermark: 2)))
                return Accepted(channel: wrapped, bytesRead: bytesRead, pending: pending)
            }
        }
        switch endpoint {
        case .tcp(let address):
            return try await bootstrap.bind(
                host: address.host, port: address.port, childChannelInitializer: initializer)
        case .unix(let path):
            return try await bootstrap.bind(
                unixDomainSocketPath: path, cleanupExistingSocketFile: true, childChannelInitializer: initializer)
        }
    }
}

/// Connections at once, in all and per client address.
final class ConnectionLimiter: Sendable {
    private let counts = NIOLockedValueBox<(total: Int, byAddress: [String: Int])>((0, [:]))
    let total: Int
    let perAddress: Int

    init(total: Int, perAddress: Int) {
        self.total = total
        self.perAddress = perAddress
    }

    func admit(_ address: String) -> Bool {
        counts.withLockedValue { counts in
            guard counts.total < total, counts.byAddress[address, default: 0] < perAddress else { return false }
            counts.total += 1
            counts.byAddress[address, default: 0] += 1
            return true
        }
    }

    func release(_ address: String) {
        counts.withLockedValue { counts in
            counts.total -= 1
            let left = counts.byAddress[address, default: 1] - 1
            counts.byAddress[address] = left > 0 ? left : nil
        }
    }
}
