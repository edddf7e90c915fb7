/// The bounds that keep one connection's parser in fixed memory whatever a client sends.
public struct ParserLimits: Sendable, Equatable {
    /// Octets of one line, CRLF excluded, not counting literal data. Past it: `* BYE [LIMIT]`.
    public var maxLineLength: Int
    /// Octets of one literal; the configured `max_message_bytes`, since APPEND's message is a
    /// literal. Past it: tagged `NO [TOOBIG]` for `{n}` (the client never sends the data),
    /// `* BYE [TOOBIG]` for `{n+}` (the data is already on its way).
    public var maxLiteralSize: Int
    /// Octets of one whole command, lines and literals together. Past it: as for `maxLiteralSize`.
    public var maxCommandSize: Int
    /// Depth of nested search keys (parentheses, NOT, OR). Past it: tagged `BAD [LIMIT]`.
    public var maxNestingDepth: Int
    /// Octets of one literal before login, when the parser's `loggedIn` is false. Answered as
    /// for `maxLiteralSize`, so an anonymous client cannot make the server hold
    /// `max_message_bytes` per connection.
    public var maxLiteralSizeBeforeLogin: Int
    /// Octets of one whole command before login, lines and literals together.
    public var maxCommandSizeBeforeLogin: Int

    /// The pre-login literal limit: a LOGIN's mailbox id and password, or anything else a
    /// client may say before it has logged in, fit in far less. 8 KiB leaves room for long
    /// passphrases and costs 40 connections at most a few hundred KiB.
    public static let literalLimitBeforeLogin = 8 * 1024

    public init(
        maxLineLength: Int = 65_536, maxLiteralSize: Int = 50 << 20, maxCommandSize: Int? = nil,
        maxNestingDepth: Int = 32, maxLiteralSizeBeforeLogin: Int = ParserLimits.literalLimitBeforeLogin
    ) {
        self.maxLineLength = maxLineLength
        self.maxLiteralSize = maxLiteralSize
        self.maxCommandSize = maxCommandSize ?? (maxLiteralSize + 4 * maxLineLength)
        self.maxNestingDepth = maxNestingDepth
        self.maxLiteralSizeBeforeLogin = min(maxLiteralSizeBeforeLogin, maxLiteralSize)
        self.maxCommandSizeBeforeLogin = min(
            self.maxLiteralSizeBeforeLogin + 4 * maxLineLength, self.maxCommandSize)
    }
}

/// What the parser could not accept, and how the server must answer it.
public struct ParseError: Error, Sendable, Equatable {
    /// The answer RFC 3501 calls for.
    public enum Disposition: Sendable, Equatable {
        /// Tagged BAD (untagged when `tag` is nil); the connection continues with the next command.
        case bad
        /// Tagged NO; the connection continues (a refused synchronising literal).
        case no
        /// `* BYE`, then close: the stream can no longer be followed safely.
        case bye
    }

    /// The command's tag when it could be read.
    public var tag: String?
    public var disposition: Disposition
    public var code: ResponseCode?
    /// Human-readable text for the response.
    public var text: String

    public init(tag: String?, disposition: Disposition, code: ResponseCode? = nil, text: String) {
        self.tag = tag
        self.disposition = disposition
        self.code = code
        self.text = text
    }

    /// The response to send for this error.
    public var response: Response {
        let status = StatusResponse(disposition == .no ? .no : .bad, code: code, text: text)
        switch disposition {
        case .bye: return .untagged(.condition(StatusResponse(.bye, code: code, text: text)))
        case .bad, .no:
            if let tag { return .tagged(tag: tag, status) }
            return .untagged(.condition(status))
        }
    }
}

/// What the parser hands the session, one at a time from `CommandParser.next()`.
public enum ParserEvent: Sendable, Equatable {
    case command(TaggedCommand)
    /// A synchronising literal was announced and accepted: send `+ …` now (RFC 3501 §7.5).
    case continuationRequest
    /// The `DONE` that ends IDLE (RFC 2177), read in `.idle` mode.
    case idleDone
    /// A SASL client response line, base64-decoded, read in `.authentication` mode; nil when the
    /// client cancelled with `*` (RFC 3501 §6.2.2).
    case authenticationResponse([UInt8]?)
    case error(ParseError)
}
