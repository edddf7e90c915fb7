import MailvoxIMAP
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// Octets every client read off TLS (compressed, once COMPRESS is on): the wire cost of a run.
let wireOctets = NIOLockedValueBox(0)

/// Counts what TLS hands up, before any inflating.
final class WireCounter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = unwrapInboundIn(data).readableBytes
        wireOctets.withLockedValue { $0 += count }
        context.fireChannelRead(data)
    }
}

/// A minimal IMAP client for load: sends one tagged command at a time and waits for its
/// tagged completion, skipping literals by their announced size.
final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var buffer = ByteBuffer()
    private var literalRemaining = 0
    private var expected: (tag: String, promise: EventLoopPromise<String>)?
    private var untagged: (prefix: String, promise: EventLoopPromise<String>)?
    /// Untagged lines that arrived before anyone asked for them (a greeting can beat the
    /// caller's `expectLine`); the last few are kept so the race loses nothing.
    private var unclaimed: [String] = []
    /// Called with every untagged line as it arrives (the EXISTS latency probe).
    var watcher: ((String) -> Void)?

    func expect(tag: String, promise: EventLoopPromise<String>) { expected = (tag, promise) }
    /// The next line starting with `prefix` (the greeting, IDLE's continuation).
    func expectLine(prefix: String, promise: EventLoopPromise<String>) {
        if let index = unclaimed.firstIndex(where: { $0.hasPrefix(prefix) }) {
            promise.succeed(unclaimed.remove(at: index))
            return
        }
        untagged = (prefix, promise)
        process()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        process()
    }

    func channelInactive(context: ChannelHandlerContext) {
        expected?.promise.fail(ChannelError.eof)
        untagged?.promise.fail(ChannelError.eof)
        expected = nil
        untagged = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        expected?.promise.fail(error)
        untagged?.promise.fail(error)
        expected = nil
        untagged = nil
        context.close(promise: nil)
    }

    private func process() {
        while true {
            if literalRemaining > 0 {
                let skip = min(literalRemaining, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: skip)
                literalRemaining -= skip
                if literalRemaining > 0 { break }
            }
            guard let lf = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { break }
            let length = lf - buffer.readerIndex + 1
            let line = buffer.readString(length: length)!
            if line.hasSuffix("}\r\n"), let open = line.lastIndex(of: "{") {
                let digits = line[line.index(after: open)..<line.index(line.endIndex, offsetBy: -3)]
                literalRemaining = Int(digits.filter(\.isNumber)) ?? 0
            }
            watcher?(line)
            if let untagged, line.hasPrefix(untagged.prefix) {
                self.untagged = nil
                untagged.promise.succeed(line)
            } else if let expected, line.hasPrefix(expected.tag + " ") {
                self.expected = nil
                expected.promise.succeed(line)
            } else if line.hasPrefix("* ") || line.hasPrefix("+") {
                unclaimed.append(line)
                if unclaimed.count > 8 { unclaimed.removeFirst() }
            }
        }
        buffer.discardReadBytes()
    }
}

/// One connection of the load generator.
final class IMAPClient: Sendable {
    let channel: Channel
    let handler: NIOLoopBound<ClientHandler>
    private let counter = NIOLockedValueBox(0)

    init(channel: Channel, handler: NIOLoopBound<ClientHandler>) {
        self.channel = channel
        self.handler = handler
    }

    static func connect(port: Int, sslContext: NIOSSLContext) async throws -> IMAPClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: sslContext, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(WireCounter())
                    try channel.pipeline.syncOperations.addHandler(ClientHandler())
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: ClientHandler.self), eventLoop: channel.eventLoop)
        }.get()
        let client = IMAPClient(channel: channel, handler: handler)
        _ = try await client.nextLine(prefix: "* OK")  // greeting
        return client
    }

    func nextLine(prefix: String) async throws -> String {
        let handler = self.handler
        let channel = self.channel
        return try await channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: String.self)
            handler.value.expectLine(prefix: prefix, promise: promise)
            return promise.futureResult
        }.get()
    }

    /// Sends `command` with a fresh tag; returns the tagged completion line.
    @discardableResult
    func run(_ command: String) async throws -> String {
        let tag =
            "t"
            + String(
                counter.withLockedValue {
                    $0 += 1; return $0
                })
        let handler = self.handler
        let channel = self.channel
        let line = try await channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: String.self)
            handler.value.expect(tag: tag, promise: promise)
            channel.writeAndFlush(ByteBuffer(string: "\(tag) \(command)\r\n"), promise: nil)
            return promise.futureResult
        }.get()
        guard line.hasPrefix("\(tag) OK") else { throw BenchError.commandFailed(command, line) }
        return line
    }

    /// COMPRESS DEFLATE (RFC 4978) with Mailvox's own deflate layer on the client's side, put in
    /// place once the OK is read (the server sends nothing more until the next command).
    func compress() async throws {
        try await run("COMPRESS DEFLATE")
        let channel = self.channel
        try await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(CompressionHandler(), position: .before(pipeline.handler(type: ClientHandler.self)))
        }.get()
    }

    /// Starts IDLE and waits for the continuation.
    func idle() async throws {
        let handler = self.handler
        let channel = self.channel
        _ = try await channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: String.self)
            handler.value.expectLine(prefix: "+", promise: promise)
            channel.writeAndFlush(ByteBuffer(string: "i IDLE\r\n"), promise: nil)
            return promise.futureResult
        }.get()
    }

    /// Calls `record` with the count and arrival time of every `* n EXISTS` from now on.
    func watchExists(_ record: @escaping @Sendable (Int, Double) -> Void) async throws {
        let handler = self.handler
        try await channel.eventLoop.submit {
            handler.value.watcher = { line in
                let parts = line.split(separator: " ")
                if parts.count >= 3, parts[2].hasPrefix("EXISTS"), let count = Int(parts[1]) { record(count, now()) }
            }
        }.get()
    }

    func close() async {
        try? await channel.close()
    }
}

enum BenchError: Error, CustomStringConvertible {
    case commandFailed(String, String)
    case setup(String)

    var description: String {
        switch self {
        case .commandFailed(let command, let line): "\(command) → \(line)"
        case .setup(let what): what
        }
    }
}
