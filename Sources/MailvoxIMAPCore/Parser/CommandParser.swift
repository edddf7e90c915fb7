import NIOCore

/// The incremental IMAP command parser: bytes in, typed commands out, in fixed memory.
///
/// Feed it whatever the socket delivered with `append`, then call `next()` until it returns
/// nil (more bytes needed). It first frames a command — lines joined by `{n}`/`{n+}` literals
/// — then parses the complete frame, so a command split anywhere yields the same events as
/// the command in one piece. Pull-based so that pipelined `IDLE\r\nDONE\r\n` is read in the
/// right `mode`: the session sets `mode` after handling each event, before the next `next()`.
public struct CommandParser: Sendable {
    /// How the next line is to be read.
    public enum Mode: Sendable, Equatable {
        case command
        /// Inside IDLE: only `DONE` is expected.
        case idle
        /// Inside AUTHENTICATE: a base64 line or `*`.
        case authentication
    }

    public var mode: Mode = .command
    /// Whether the client has logged in. Until it has, literals are held to
    /// `limits.maxLiteralSizeBeforeLogin` and commands to `maxCommandSizeBeforeLogin`: the
    /// session sets it after each event, as it sets `mode`, so the next command is framed
    /// under the limit of the state it will run in.
    public var loggedIn = false
    /// How the client writes mailbox names; the session sets it, as `mode`, once an ENABLE of
    /// UTF8=ACCEPT or IMAP4rev2 succeeded, so the next command's names are read as UTF-8.
    public var names: NameEncoding = .modifiedUTF7
    public let limits: ParserLimits

    private var buffer: ByteBuffer
    /// Offsets from the reader index (the frame's start): where the current line starts, how
    /// far it has been searched for LF, and where a pending literal's data ends.
    private var lineStart = 0
    private var scanned = 0
    private var literalEnd: Int?
    private var closed = false

    public init(limits: ParserLimits = ParserLimits()) {
        self.limits = limits
        self.buffer = ByteBufferAllocator().buffer(capacity: 1024)
    }

    /// Whether a `BYE` error has ended parsing; later input is ignored.
    public var isClosed: Bool { closed }

    /// Octets held: a complete frame is at most `maxCommandSize` plus what one read delivered.
    public var bufferedByteCount: Int { buffer.readableBytes }

    public mutating func append(_ bytes: ByteBuffer) {
        guard !closed else { return }
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        guard !closed else { return }
        buffer.writeBytes(bytes)
    }

    /// The next event, or nil when more input is needed (or the parser is closed).
    public mutating func next() -> ParserEvent? {
        guard !closed else { return nil }
        while true {
            if let end = literalEnd {
                guard buffer.readableBytes >= end else { return nil }
                literalEnd = nil
                lineStart = end
                scanned = end
            }
            let view = buffer.readableBytesView
            let base = view.startIndex
            guard let lf = view[(base + scanned)...].firstIndex(of: UInt8(ascii: "\n")) else {
                scanned = view.count
                if scanned - lineStart > limits.maxLineLength + 1 {
                    return fail(.bye, .limit, "Line longer than \(limits.maxLineLength) octets")
                }
                return nil
            }
            let lfOffset = lf - base
            var contentEnd = lfOffset
            if contentEnd > lineStart, view[base + contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
            if contentEnd - lineStart > limits.maxLineLength {
                return fail(.bye, .limit, "Line longer than \(limits.maxLineLength) octets")
            }
            if mode != .command {
                let line = Array(view[(base + lineStart)..<(base + contentEnd)])
                consume(lfOffset + 1)
                return continuationLine(line)
            }
            if let announcement = literalAnnouncement(view, base: base, end: contentEnd) {
                let (size, synchronising) = announcement
                let dataEnd = lfOffset + 1 &+ size
                let literalLimit = loggedIn ? limits.maxLiteralSize : limits.maxLiteralSizeBeforeLogin
                let commandLimit = loggedIn ? limits.maxCommandSize : limits.maxCommandSizeBeforeLogin
                let when = loggedIn ? "" : " before login"
                guard size <= literalLimit, dataEnd <= commandLimit, dataEnd > lfOffset else {
                    if synchronising {
                        // RFC 7888 §4 / RFC 3501 §7.5: refusing the continuation aborts the command;
                        // the client sends neither the data nor the rest of the line, so the
                        // whole frame so far is dropped and the next line is a new command.
                        let tag = frameTag()
                        consume(lfOffset + 1)
                        return .error(
                            ParseError(
                                tag: tag, disposition: .no, code: .tooBig,
                                text: "Literal too large\(when) (limit \(literalLimit) octets)"))
                    }
                    // RFC 7888 §4: the data of a `{n+}` is already on its way and cannot be
                    // skipped safely, so the server may (and here does) close the connection.
                    return fail(.bye, .tooBig, "Non-synchronising literal too large\(when)")
                }
                literalEnd = dataEnd
                scanned = lfOffset + 1
                if synchronising { return .continuationRequest }
                continue
            }
            let frame = buffer.getSlice(at: buffer.readerIndex, length: lfOffset + 1)!
            consume(lfOffset + 1)
            var parser = GrammarParser(frame: frame, maxDepth: limits.maxNestingDepth, names: names)
            do {
                return .command(try parser.taggedCommand())
            } catch let error as GrammarError {
                return .error(ParseError(tag: parser.tag, disposition: .bad, code: error.code, text: error.text))
            } catch {
                return .error(ParseError(tag: parser.tag, disposition: .bad, text: "Invalid command"))
            }
        }
    }

    private mutating func continuationLine(_ line: [UInt8]) -> ParserEvent {
        let wasMode = mode
        mode = .command
        switch wasMode {
        case .idle:
            if line.count == 4, String(decoding: line, as: UTF8.self).uppercased() == "DONE" { return .idleDone }
            return .error(ParseError(tag: nil, disposition: .bad, text: "Expected DONE"))
        case .authentication:
            if line == [UInt8(ascii: "*")] { return .authenticationResponse(nil) }
            guard let decoded = Base64.decode(line[...]) else {
                return .error(ParseError(tag: nil, disposition: .bad, text: "Invalid base64 in SASL response"))
            }
            return .authenticationResponse(decoded)
        case .command:
            preconditionFailure("continuationLine is only for IDLE and AUTHENTICATE")
        }
    }

    /// `{123}` or `{123+}` at the end of a line: the literal's size and whether it is synchronising.
    /// A size too long to represent comes back as `Int.max`, to be refused as too large.
    private func literalAnnouncement(_ view: ByteBufferView, base: Int, end: Int) -> (Int, Bool)? {
        var index = end - 1
        guard index > lineStart, view[base + index] == UInt8(ascii: "}") else { return nil }
        index -= 1
        var synchronising = true
        if view[base + index] == UInt8(ascii: "+") {
            synchronising = false
            index -= 1
        }
        let digitsEnd = index + 1
        while index >= lineStart, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(view[base + index]) { index -= 1 }
        guard index >= lineStart, index < digitsEnd - 1, view[base + index] == UInt8(ascii: "{") else { return nil }
        var size = 0
        for offset in (index + 1)..<digitsEnd {
            let (product, overflow1) = size.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = product.addingReportingOverflow(Int(view[base + offset] - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return (Int.max, synchronising) }
            size = sum
        }
        return (size, synchronising)
    }

    /// The tag at the start of the current frame, if it looks like one.
    private func frameTag() -> String? {
        let view = buffer.readableBytesView
        let prefix = view.prefix(64)
        guard let space = prefix.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        let tag = prefix[..<space]
        guard !tag.isEmpty, tag.allSatisfy(GrammarParser.isTagChar) else { return nil }
        return String(decoding: tag, as: UTF8.self)
    }

    private mutating func fail(
        _ disposition: ParseError.Disposition, _ code: ResponseCode, _ text: String
    )
        -> ParserEvent
    {
        let tag = frameTag()
        closed = true
        buffer = ByteBufferAllocator().buffer(capacity: 0)
        return .error(ParseError(tag: tag, disposition: disposition, code: code, text: text))
    }

    private mutating func consume(_ count: Int) {
        buffer.moveReaderIndex(forwardBy: count)
        lineStart = 0
        scanned = 0
        literalEnd = nil
        // Compact once the consumed prefix outweighs what is left, so copying stays amortised O(1).
        if buffer.readerIndex > 4096, buffer.readerIndex > buffer.readableBytes { buffer.discardReadBytes() }
    }
}

/// Standard base64 (RFC 4648 §4), as SASL uses it; nil on any invalid character or length.
package enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
        return table
    }()

    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count / 4 * 3)
        var bits: UInt32 = 0
        var count = 0
        var padding = 0
        for (offset, character) in text.enumerated() {
            if character == UInt8(ascii: "=") {
                // Padding only in the last two positions.
                guard offset >= text.count - 2 else { return nil }
                padding += 1
                bits <<= 6
            } else {
                guard padding == 0 else { return nil }
                let value = values[Int(character)]
                guard value != 0xFF else { return nil }
                bits = bits << 6 | UInt32(value)
            }
            count += 1
            if count == 4 {
                output.append(UInt8(truncatingIfNeeded: bits >> 16))
                output.append(UInt8(truncatingIfNeeded: bits >> 8))
                output.append(UInt8(truncatingIfNeeded: bits))
                bits = 0
                count = 0
            }
        }
        output.removeLast(padding)
        return output
    }

    package static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let remaining = bytes.count - index
            let b0 = bytes[index]
            let b1 = remaining > 1 ? bytes[index + 1] : 0
            let b2 = remaining > 2 ? bytes[index + 2] : 0
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            output.append(remaining > 1 ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            output.append(remaining > 2 ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
