import MailvoxCore

/// The bytes a client sends, cut into what the session acts on: command lines, a DATA
/// message, BDAT chunks (RFC 5321 §2.3.8, §4.5.2; RFC 3030).
///
/// Memory is bounded whatever the client sends: a command line longer than `maxLineLength`
/// is skipped to its end and reported, and message data past `maxMessageBytes` is counted
/// but not kept, so an over-size message costs time, not memory, and is answered 552 at its
/// end (RFC 5321 §4.5.3.1.10 lets a server read on to the end instead of closing).
///
/// DATA ends only at `<CRLF>.<CRLF>`: a `.` line after a bare LF is message text. That is the
/// fix for SMTP smuggling (CVE-2023-51766 class): no second message can hide behind an end of
/// data that a relay in front did not see as one. Bare LFs inside the message are stored as
/// CRLF, the line ending a message must have.
public struct SMTPInput: Sendable {
    public enum Mode: Sendable, Equatable {
        case command
        /// DATA: dot-stuffed lines until `<CRLF>.<CRLF>`.
        case data
        /// BDAT: exactly this many octets more.
        case chunk(remaining: Int)
    }

    public enum Event: Sendable, Equatable {
        /// A command line, CRLF removed.
        case line([UInt8])
        /// A command line ended with a bare LF; its text is dropped.
        case bareLineFeed
        /// A command line was longer than `maxLineLength`; it is dropped.
        case lineTooLong
        /// DATA's end was seen. The message is in `message` unless `overLimit`.
        case dataEnd(overLimit: Bool)
        /// A BDAT chunk is complete.
        case chunkEnd(overLimit: Bool)
    }

    public var mode: Mode = .command
    public let maxLineLength: Int
    public let maxMessageBytes: Int
    /// The message of the transaction so far (DATA content unstuffed, or BDAT chunks joined).
    public private(set) var message: [UInt8] = []
    /// Octets of message data received, kept or not.
    public private(set) var messageBytesSeen = 0

    private var buffer: [UInt8] = []
    private var start = 0
    // Command mode: the line being skipped because it is too long.
    private var skippingLongLine = false
    // DATA mode: whether the next octet starts a line, and whether the last line ended in CRLF.
    private var atLineStart = true
    private var lastLineEndedCRLF = true
    private var lastWasCR = false

    public init(maxLineLength: Int = 4096, maxMessageBytes: Int) {
        self.maxLineLength = maxLineLength
        self.maxMessageBytes = maxMessageBytes
    }

    /// Octets received and not yet taken by an event: what a client pipelined.
    public var bufferedByteCount: Int { buffer.count - start }

    public var isOverLimit: Bool { messageBytesSeen > maxMessageBytes }

    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Starts a new transaction's message (after RSET, MAIL, or a finished one).
    public mutating func resetMessage() {
        message = []
        messageBytesSeen = 0
    }

    /// Switches to DATA content (after the 354 reply).
    public mutating func beginData() {
        mode = .data
        atLineStart = true
        lastLineEndedCRLF = true
        lastWasCR = false
    }

    /// The next event, or nil when more bytes are needed.
    public mutating func next() -> Event? {
        switch mode {
        case .command: return nextLine()
        case .data: return nextData()
        case .chunk(let remaining): return nextChunk(remaining)
        }
    }

    private mutating func nextLine() -> Event? {
        while start < buffer.count {
            guard let newline = buffer[start...].firstIndex(of: 0x0A) else {
                // `maxLineLength` octets and the CR may wait for their LF: a line is judged
                // the same whether its end arrives in this read or the next.
                if buffer.count - start > maxLineLength + 1 {
                    // Keep nothing of a line that is already too long; report it at its end.
                    skippingLongLine = true
                    start = buffer.count
                }
                return nil
            }
            let line = Array(buffer[start..<newline])
            start = newline + 1
            if skippingLongLine || line.count > maxLineLength + 1 {
                skippingLongLine = false
                return .lineTooLong
            }
            guard line.last == 0x0D else { return .bareLineFeed }
            return .line(Array(line.dropLast()))
        }
        return nil
    }

    private mutating func keep(_ bytes: ArraySlice<UInt8>) {
        messageBytesSeen += bytes.count
        if messageBytesSeen <= maxMessageBytes { message.append(contentsOf: bytes) }
    }

    private mutating func nextData() -> Event? {
        while start < buffer.count {
            if atLineStart && buffer[start] == UInt8(ascii: ".") {
                // Up to three octets decide: `.\r\n` ends, anything else is a stuffed dot.
                let available = buffer.count - start
                if available < 2 || (available < 3 && buffer[start + 1] == 0x0D) { return nil }
                if buffer[start + 1] == 0x0D && buffer[start + 2] == 0x0A && lastLineEndedCRLF {
                    start += 3
                    mode = .command
                    return .dataEnd(overLimit: isOverLimit)
                }
                start += 1  // RFC 5321 §4.5.2: drop the first dot of the line
            }
            atLineStart = false
            let newline = buffer.withUnsafeBufferPointer { $0.lineFeed(from: start, before: $0.count) }
            if newline < buffer.count {
                let crBefore = newline > start ? buffer[newline - 1] == 0x0D : lastWasCR
                if crBefore {
                    keep(buffer[start...newline])
                } else {
                    keep(buffer[start..<newline])
                    keep([0x0D, 0x0A])
                }
                start = newline + 1
                atLineStart = true
                lastLineEndedCRLF = crBefore
                lastWasCR = false
            } else {
                lastWasCR = buffer[buffer.count - 1] == 0x0D
                keep(buffer[start...])
                start = buffer.count
            }
        }
        return nil
    }

    private mutating func nextChunk(_ remaining: Int) -> Event? {
        let take = min(remaining, buffer.count - start)
        if take > 0 {
            keep(buffer[start..<(start + take)])
            start += take
        }
        let left = remaining - take
        if left > 0 {
            mode = .chunk(remaining: left)
            return nil
        }
        mode = .command
        return .chunkEnd(overLimit: isOverLimit)
    }
}
