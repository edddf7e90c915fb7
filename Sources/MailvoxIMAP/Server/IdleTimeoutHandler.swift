import NIOConcurrencyHelpers
import NIOCore

/// Closes a connection that has sent nothing for the current timeout. The session lengthens
/// the timeout after login through the shared box; the new value counts from the next read.
final class IdleTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let timeout: NIOLockedValueBox<TimeAmount>
    /// Octets read before any TLS handler that is added later (STARTTLS injection check).
    let bytesRead: NIOLockedValueBox<Int>
    private var scheduled: Scheduled<Void>?

    init(timeout: NIOLockedValueBox<TimeAmount>, bytesRead: NIOLockedValueBox<Int>) {
        self.timeout = timeout
        self.bytesRead = bytesRead
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { schedule(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        schedule(context)
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
        schedule(context)
        context.fireChannelRead(data)
    }

    private func schedule(_ context: ChannelHandlerContext) {
        scheduled?.cancel()
        let delay = timeout.withLockedValue { $0 }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        scheduled = context.eventLoop.scheduleTask(in: delay) {
            loopBound.value.close(promise: nil)
        }
    }
}
