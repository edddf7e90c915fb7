/// The bounds a message must stay within before any parser sees it (docs/DESIGN.md §2: a C
/// library's recursion never sees hostile depth). Past one, parsing fails with
/// `MessageParseError`, never a crash.
public struct MessageLimits: Sendable, Hashable {
    /// The whole message, in octets; the default matches `[imap] max_message_bytes`.
    public var maxBytes: Int
    /// Header fields in any one header block (the message's or a part's).
    public var maxHeaderFields: Int
    /// Octets of any one header block, the blank line included.
    public var maxHeaderBytes: Int
    /// Octets of one header field, folded lines included.
    public var maxFieldBytes: Int
    /// Multipart and `message/rfc822` levels below the top.
    public var maxDepth: Int
    /// Body parts in the whole tree, multiparts included.
    public var maxParts: Int

    public init(
        maxBytes: Int = 52_428_800, maxHeaderFields: Int = 1000, maxHeaderBytes: Int = 262_144,
        maxFieldBytes: Int = 65_536, maxDepth: Int = 32, maxParts: Int = 1000
    ) {
        self.maxBytes = maxBytes
        self.maxHeaderFields = maxHeaderFields
        self.maxHeaderBytes = maxHeaderBytes
        self.maxFieldBytes = maxFieldBytes
        self.maxDepth = maxDepth
        self.maxParts = maxParts
    }

    public static let `default` = MessageLimits()
}

/// Why a message could not be parsed: always one of Mailvox's limits, or bytes libetpan refused.
public enum MessageParseError: MailvoxFailure, Equatable {
    case tooLarge(bytes: Int, limit: Int)
    case tooManyHeaderFields(count: Int, limit: Int)
    case headerTooLarge(bytes: Int, limit: Int)
    case fieldTooLarge(bytes: Int, limit: Int)
    case tooDeep(depth: Int, limit: Int)
    case tooManyParts(count: Int, limit: Int)
    /// The MIME parser gave up; the text says where.
    case malformed(String)

    public var kind: FailureKind { .input }

    public var description: String {
        switch self {
        case .tooLarge(let bytes, let limit): "message of \(bytes) octets is over the limit of \(limit)"
        case .tooManyHeaderFields(let count, let limit):
            "a header block has \(count) fields, over the limit of \(limit)"
        case .headerTooLarge(let bytes, let limit): "a header block of \(bytes) octets is over the limit of \(limit)"
        case .fieldTooLarge(let bytes, let limit): "a header field of \(bytes) octets is over the limit of \(limit)"
        case .tooDeep(let depth, let limit): "MIME nesting depth \(depth) is over the limit of \(limit)"
        case .tooManyParts(let count, let limit): "message has \(count) MIME parts, over the limit of \(limit)"
        case .malformed(let why): "malformed message: \(why)"
        }
    }
}
