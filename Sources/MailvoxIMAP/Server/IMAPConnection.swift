import Logging
import MailvoxCore
import MailvoxIMAPCore
import MailvoxTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// Writes a session's responses to the channel; each write is awaited, so a slow client
/// slows the session down instead of filling memory.
struct ChannelSink: ResponseSink {
    let channel: Channel

    func write(_ bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(bytes).get()
    }
}

/// One client connection: reads bytes into the parser, hands events to the session, performs
/// the session's actions (TLS, close), and wakes an IDLE session when its folder changes.
struct IMAPConnection {
    enum Event {
        case bytes(ByteBuffer)
        case changes
        case closed
    }

    let connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    let configuration: IMAPServerConfiguration
    let implicitTLS: Bool
    let sslContext: NIOSSLContext?
    let authenticator: any Authenticator
    let clock: ConnectionClock
    let bytesRead: NIOLockedValueBox<Int>
    let logger: Logger
    let caches: SessionCaches

    func run() async {
        let channel = connection.channel
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        var session = IMAPSession(
            configuration: SessionConfiguration(
                allowPlaintextAuth: configuration.allowPlaintextAuth,
                startTLSAvailable: !implicitTLS && sslContext != nil, isTLS: implicitTLS,
                maxCommandsBeforeLogin: configuration.maxCommandsBeforeLogin,
                maxMessageBytes: configuration.maxMessageBytes, clientAddress: ClientAddress(address)),
            authenticator: authenticator, sink: ChannelSink(channel: channel), logger: logger,
            caches: caches)
        var parser = CommandParser(limits: configuration.parserLimits)
        let (events, eventSink) = AsyncStream<Event>.makeStream()
        let (acks, ackSink) = AsyncStream<Void>.makeStream()
        do {
            try await connection.executeThenClose { inbound, _ in
                // Reads one chunk at a time: the next is read only once the session took this
                // one, so a flooding client fills the socket, not memory.
                let reader = Task {
                    var ackIterator = acks.makeAsyncIterator()
                    do {
                        for try await buffer in inbound {
                            eventSink.yield(.bytes(buffer))
                            if await ackIterator.next() == nil { break }
                        }
                    } catch {
                        logger.debug("IMAP read ended: \(error)", metadata: ["client": "\(address)"])
                    }
                    eventSink.yield(.closed)
                }
                defer {
                    reader.cancel()
                    ackSink.finish()
                    eventSink.finish()
                }
                try await session.greet()
                var received = 0
                var watchedInbox: ChangeInbox?
                loop: for await event in events {
                    switch event {
                    case .closed:
                        break loop
                    case .changes:
                        if try await session.changesArrived() == .close { break loop }
                    case .bytes(let buffer):
                        received += buffer.readableBytes
                        parser.append(buffer)
                        while let parsed = parser.next() {
                            // The pre-login deadline waits for a login being checked, so a
                            // refused login is answered after its delay (ConnectionClock).
                            let checking = session.checksCredentials(parsed)
                            if checking { clock.beginCheck() }
                            var action = try await session.handle(parsed)
                            if checking, clock.endCheck(loggedIn: session.isLoggedIn) {
                                try await session.autologout(ConnectionClock.loginDeadlineReason)
                                action = .close
                            }
                            parser.mode = session.parserMode
                            parser.loggedIn = session.isLoggedIn
                            parser.names = session.names
                            switch action {
                            case .proceed:
                                break
                            case .close:
                                break loop
                            case .startTLS:
                                guard try await startTLS(&session, channel: channel, parser: parser, received: received)
                                else { break loop }
                                parser = CommandParser(limits: configuration.parserLimits)
                            case .startCompression:
                                guard
                                    try await startCompression(
                                        &session, channel: channel, parser: parser, received: received)
                                else { break loop }
                            }
                        }
                        if parser.isClosed { break loop }
                        ackSink.yield()
                    }
                    if session.isLoggedIn { clock.didLogIn() }
                    if session.inbox !== watchedInbox {
                        watchedInbox = session.inbox
                        watchedInbox?.setOnChange { eventSink.yield(.changes) }
                    }
                }
                session.close()
            }
        } catch {
            logger.debug("IMAP connection ended: \(error)", metadata: ["client": "\(address)"])
            session.close()
        }
    }

    /// STARTTLS: the OK goes out and TLS is put first in the pipeline in the same event-loop
    /// turn, so no byte the client sends after reading the OK is taken as plaintext. A client
    /// that pipelined anything after STARTTLS (RFC 2595 §3.1 forbids it; CVE-2011-0411) is
    /// disconnected rather than having those bytes run as commands under TLS.
    private func startTLS(
        _ session: inout IMAPSession, channel: Channel, parser: CommandParser, received: Int
    ) async throws -> Bool {
        guard let sslContext else { return false }
        let plaintextRead = try await ServerTLS.startTLS(
            on: channel, reply: session.takeOutput(), context: sslContext, bytesRead: bytesRead)
        guard parser.bufferedByteCount == 0, plaintextRead == received else {
            logger.notice(
                "IMAP client sent data after STARTTLS; disconnected",
                metadata: [
                    "buffered": "\(parser.bufferedByteCount)", "read": "\(plaintextRead)", "received": "\(received)",
                ])
            return false
        }
        session.didStartTLS()
        return true
    }

    /// COMPRESS DEFLATE: as STARTTLS, the OK goes out uncompressed and the deflate layer is in
    /// place in the same event-loop turn. RFC 4978 §3 has the client wait for the OK; one that
    /// sent more before it is disconnected, since those octets may be compressed or not.
    private func startCompression(
        _ session: inout IMAPSession, channel: Channel, parser: CommandParser, received: Int
    ) async throws -> Bool {
        let readBefore = try await CompressionHandler.start(
            on: channel, reply: session.takeOutput(), bytesRead: bytesRead)
        guard parser.bufferedByteCount == 0, readBefore == received else {
            logger.notice(
                "IMAP client sent data after COMPRESS before its OK; disconnected",
                metadata: [
                    "buffered": "\(parser.bufferedByteCount)", "read": "\(readBefore)", "received": "\(received)",
                ])
            return false
        }
        session.didStartCompression()
        return true
    }
}
