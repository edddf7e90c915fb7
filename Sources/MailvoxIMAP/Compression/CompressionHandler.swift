import MailvoxIMAPCore
import NIOConcurrencyHelpers
import NIOCore

/// COMPRESS=DEFLATE's layer of one connection (RFC 4978), between TLS and the IMAP handlers:
/// inflates what the client sends and deflates every response, with a sync flush wherever the
/// server flushes, so no response is held back in the compressor.
///
/// Memory is bounded: zlib's state is fixed per direction (`ZlibStream`), and inflated input is
/// handed on in pieces of at most `inflateChunk` octets, the next only when the handlers after
/// this one ask to read again, so a small deflate bomb cannot grow into a big buffer. The
/// inflated commands then meet the parser's line and literal limits like any others.
///
/// The layer is the same on both ends of the connection, so it is public for IMAPBench's client.
public final class CompressionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// The most inflated octets handed on at once.
    static let inflateChunk = 16 * 1024

    private let deflater: ZlibStream
    private let inflater: ZlibStream
    /// Compressed input not inflated yet: at most what one read brought.
    private var compressed = ByteBuffer()
    /// The last inflate filled its piece: zlib may hold more output without more input.
    private var inflaterFull = false
    /// Octets written since the last flush.
    private var unflushed = false
    /// The promises of writes whose octets leave with the next flush, chained.
    private var pendingWrite: EventLoopPromise<Void>?
    private var failed = false

    public init() throws(CompressionError) {
        deflater = try ZlibStream(.deflate)
        inflater = try ZlibStream(.inflate)
    }

    /// What zlib holds for this connection now, both directions.
    var allocatedBytes: Int { deflater.allocatedBytes + inflater.allocatedBytes }

    /// COMPRESS (RFC 4978 §3): writes `reply` — the tagged OK, the last uncompressed octets — and
    /// puts the deflate layer in front of the IMAP handlers in the same event-loop turn, so the
    /// client's first compressed octet meets the inflater. Returns the octets `bytesRead` had
    /// counted by then; if that is more than the caller handled, the client sent more before
    /// seeing the OK, which §3 forbids, and the caller ends the connection.
    static func start(
        on channel: Channel, reply: ByteBuffer, bytesRead: NIOLockedValueBox<Int>
    ) async throws -> Int {
        try await channel.eventLoop.flatSubmit {
            channel.writeAndFlush(reply).flatMapThrowing {
                let pipeline = channel.pipeline.syncOperations
                let idle = try pipeline.handler(type: IdleTimeoutHandler.self)
                try pipeline.addHandler(CompressionHandler(), position: .before(idle))
                return bytesRead.withLockedValue { $0 }
            }
        }.get()
    }

    // MARK: From the client

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var buffer = unwrapInboundIn(data)
        if compressed.readableBytes == 0 {
            compressed = buffer
        } else {
            compressed.writeBuffer(&buffer)
        }
        _ = inflateChunk(context)
    }

    /// A read asked for by the handlers after this one: served from what is already here while
    /// there is some, from the socket otherwise.
    public func read(context: ChannelHandlerContext) {
        guard !failed else { return }
        guard compressed.readableBytes > 0 || inflaterFull, inflateChunk(context) else {
            if !failed { context.read() }
            return
        }
        context.fireChannelReadComplete()
        // As autoRead does after a socket read: ask again, through the handlers after this one,
        // which hold the read back while their buffer is full.
        let channel = context.channel
        context.eventLoop.execute { channel.read() }
    }

    /// Hands on one piece of inflated input; false when there was none.
    private func inflateChunk(_ context: ChannelHandlerContext) -> Bool {
        var output = context.channel.allocator.buffer(capacity: 0)
        do {
            inflaterFull = try inflater.inflate(&compressed, upTo: Self.inflateChunk, into: &output)
        } catch {
            fail(context, error)
            return false
        }
        // Nothing left: drop the read's buffer rather than keep its capacity while idle.
        if compressed.readableBytes == 0 { compressed = ByteBuffer() }
        guard output.readableBytes > 0 else { return false }
        context.fireChannelRead(wrapInboundOut(output))
        return true
    }

    /// The client's stream cannot be inflated: say so (compressed, since the client reads
    /// compressed now) and close.
    private func fail(_ context: ChannelHandlerContext, _ error: CompressionError) {
        failed = true
        compressed = ByteBuffer()
        inflaterFull = false
        let bye = ResponseEncoder.encode(
            .untagged(.condition(StatusResponse(.bye, text: "Invalid compressed data"))))
        var output = context.channel.allocator.buffer(capacity: 0)
        if (try? deflater.deflate(bye, flush: true, into: &output)) != nil {
            context.writeAndFlush(wrapOutboundOut(output), promise: nil)
        }
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    // MARK: To the client

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var output = context.channel.allocator.buffer(capacity: 0)
        do {
            try deflater.deflate(unwrapOutboundIn(data), flush: false, into: &output)
        } catch {
            promise?.fail(error)
            context.close(promise: nil)
            return
        }
        unflushed = true
        if output.readableBytes > 0 { context.write(wrapOutboundOut(output), promise: nil) }
        // The write is done when the flush that ends its octets is.
        if let promise {
            if let pendingWrite { pendingWrite.futureResult.cascade(to: promise) } else { pendingWrite = promise }
        }
    }

    public func flush(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            var output = context.channel.allocator.buffer(capacity: 0)
            do {
                try deflater.deflate(ByteBuffer(), flush: true, into: &output)
            } catch {
                pendingWrite?.fail(error)
                pendingWrite = nil
                context.close(promise: nil)
                return
            }
            let promise = pendingWrite
            pendingWrite = nil
            context.write(wrapOutboundOut(output), promise: promise)
        }
        context.flush()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        pendingWrite?.fail(ChannelError.ioOnClosedChannel)
        pendingWrite = nil
    }
}
