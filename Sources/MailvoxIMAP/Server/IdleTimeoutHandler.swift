import MailvoxIMAPCore
import NIOConcurrencyHelpers
import NIOCore

/// Ends a connection whose time is up, as its `ConnectionClock` decides: before login a
/// deadline from connect that reads do not move, after login an idle timer that every read
/// restarts. It says why first, in `* BYE` (RFC 3501 §7.1.5: the server is about to close;
/// §5.4: autologout). Sits after any TLS handler, so the BYE is encrypted like the rest.
final class IdleTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let clock: ConnectionClock
    /// Octets read before any TLS handler that is added later (STARTTLS injection check).
    let bytesRead: NIOLockedValueBox<Int>
    private var connected: NIODeadline?
    private var lastRead = NIODeadline.now()
    private var scheduled: Scheduled<Void>?

    init(clock: ConnectionClock, bytesRead: NIOLockedValueBox<Int>) {
        self.clock = clock
        self.bytesRead = bytesRead
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        scheduled?.cancel()
        scheduled = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        bytesRead.withLockedValue { $0 += buffer.readableBytes }
        // Only noted: the timer compares when it fires, so a read costs no rescheduling, and
        // before login a read moves nothing at all.
        lastRead = .now()
        context.fireChannelRead(data)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard connected == nil else { return }
        let now = NIODeadline.now()
        connected = now
        lastRead = now
        schedule(context, at: now + clock.beforeLogin)
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        scheduled?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        scheduled = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.fire(context)
        }
    }

    private func fire(_ context: ChannelHandlerContext) {
        scheduled = nil
        guard let connected, context.channel.isActive else { return }
        switch clock.verdict(connected: connected, lastRead: lastRead, now: .now()) {
        case .wait(let deadline):
            schedule(context, at: deadline)
        case .none:
            break
        case .close(let reason):
            // Written and flushed before the close, so it leaves with the socket's last bytes;
            // a client that stopped reading just misses it.
            let bye = ResponseEncoder.encode(.untagged(.condition(StatusResponse(.bye, text: reason))))
            context.writeAndFlush(wrapOutboundOut(bye), promise: nil)
            context.close(promise: nil)
        }
    }
}
