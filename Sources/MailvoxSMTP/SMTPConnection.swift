import Logging
import MailvoxCore
import MailvoxSMTPCore
import MailvoxTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// One client connection: reads bytes into the session's `SMTPInput`, answers each event,
/// writes the replies once the client's pipelined commands are all answered (RFC 2920 §3),
/// and performs STARTTLS and close.
struct SMTPConnection {
    let connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    let session: SMTPSession
    let sslContext: NIOSSLContext?
    /// Octets the channel has read, counted on the event loop (for the STARTTLS check).
    let bytesRead: NIOLockedValueBox<Int>
    /// Reads not yet answered: `ByteCounter` counts each read as it arrives, the connection
    /// counts it off once every event in it is answered. While any is pending the server works
    /// on what the client sent (a recipient lookup, a deposit, a busy machine's scheduling): the
    /// client is waiting, and `IdleCloser` must not take that silence for its own. A count, not
    /// a flag: a read that arrives while the one before is being finished stays pending.
    let pending: NIOLockedValueBox<Int>
    let logger: Logger

    func run() async {
        var session = self.session
        let channel = connection.channel
        do {
            try await connection.executeThenClose { inbound, outbound in
                session.greet()
                try await outbound.write(ByteBuffer(bytes: session.takeOutput()))
                var received = 0
                loop: for try await buffer in inbound {
                    received += buffer.readableBytes
                    session.input.append(buffer.readableBytesView)
                    while let event = session.input.next() {
                        switch await session.handle(event) {
                        case .proceed:
                            continue
                        case .close:
                            try await outbound.write(ByteBuffer(bytes: session.takeOutput()))
                            break loop
                        case .startTLS:
                            guard try await startTLS(&session, channel: channel, received: received) else { break loop }
                        }
                    }
                    let output = session.takeOutput()
                    if !output.isEmpty { try await outbound.write(ByteBuffer(bytes: output)) }
                    // This read is answered; once all are, silence is the client's own.
                    pending.withLockedValue { $0 -= 1 }
                }
            }
        } catch {
            logger.debug("smtp connection ended: \(error)", metadata: ["client": "\(session.client)"])
        }
    }

    /// STARTTLS (RFC 3207 §4): the 220 goes out and TLS is put first in the pipeline in the same
    /// event-loop turn, so no byte the client sends after the 220 is read as plaintext. A client
    /// that pipelined anything after STARTTLS is disconnected rather than having those bytes run
    /// as commands under TLS (CVE-2011-0411).
    private func startTLS(_ session: inout SMTPSession, channel: Channel, received: Int) async throws -> Bool {
        guard let sslContext else { return false }
        let reply = ByteBuffer(bytes: session.takeOutput())
        // Bytes already here came with the STARTTLS itself: the client pipelined behind it. They
        // are neither run nor handed to TLS as a handshake; the connection ends after the 220.
        guard session.input.bufferedByteCount == 0 else {
            logger.notice(
                "smtp client sent data after STARTTLS; disconnected", metadata: ["client": "\(session.client)"])
            try await channel.writeAndFlush(reply).get()
            return false
        }
        let plaintextRead = try await ServerTLS.startTLS(
            on: channel, reply: reply, context: sslContext, bytesRead: bytesRead)
        // Bytes read between the command and TLS taking over were sent before the 220 too.
        guard plaintextRead == received else {
            logger.notice(
                "smtp client sent data after STARTTLS; disconnected", metadata: ["client": "\(session.client)"])
            return false
        }
        session.didStartTLS()
        return true
    }
}

/// Counts the octets a channel reads, and each read as pending until the session has answered
/// it. It sits after TLS (implicit TLS, or once STARTTLS put TLS first), so it sees the reads the
/// connection receives, one for one.
final class ByteCounter: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let count: NIOLockedValueBox<Int>
    let pending: NIOLockedValueBox<Int>

    init(_ count: NIOLockedValueBox<Int>, pending: NIOLockedValueBox<Int>) {
        self.count = count
        self.pending = pending
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).readableBytes
        count.withLockedValue { $0 += bytes }
        pending.withLockedValue { $0 += 1 }
        context.fireChannelRead(data)
    }
}

/// Ends a connection whose client sent nothing for the idle timeout (RFC 5321 §4.5.3.2: the
/// server may close after a timeout with 421), whether it stalls in a command, in DATA, or in
/// the TLS handshake.
final class IdleCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let hostname: String
    let pending: NIOLockedValueBox<Int>

    init(hostname: String, pending: NIOLockedValueBox<Int>) {
        self.hostname = hostname
        self.pending = pending
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // The server is making the client's message durable: the silence is ours. The handler
        // fires again a timeout later and looks again.
        if pending.withLockedValue({ $0 > 0 }) { return }
        let reply = SMTPReply(421, "4.4.2", "\(hostname) Timeout; closing connection")
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(NIOAny(ByteBuffer(bytes: reply.wire))).whenComplete { _ in
            bound.value.close(promise: nil)
        }
    }
}
