import MailvoxCore

/// One data item a FETCH asks for (RFC 3501 §6.4.5, MODSEQ of RFC 7162, BINARY of RFC 3516). The
/// macros ALL, FAST and FULL are expanded by the parser into the items they stand for.
public enum FetchAttribute: Sendable, Hashable {
    case envelope
    case flags
    case internalDate
    case uid
    /// RFC822: the whole message; sets \Seen like BODY[].
    case rfc822
    case rfc822Header
    case rfc822Size
    case rfc822Text
    /// BODY (no extension data) when false, BODYSTRUCTURE when true.
    case bodyStructure(extensions: Bool)
    /// BODY[section]<partial> or, with `peek`, BODY.PEEK[…], which leaves \Seen alone.
    case section(SectionSpecifier, peek: Bool)
    case modSeq
    /// BINARY[part]<partial> or, with `peek`, BINARY.PEEK[…] (RFC 3516 §4.2): the part with its
    /// Content-Transfer-Encoding undone; the partial counts decoded octets. Empty `part` is the
    /// whole message.
    case binary(part: [Int], partial: SectionSpecifier.Partial?, peek: Bool)
    /// BINARY.SIZE[part] (RFC 3516 §4.2): the octet count BINARY[part] would send.
    case binarySize(part: [Int])

    /// `FAST`: (FLAGS INTERNALDATE RFC822.SIZE).
    public static let fast: [FetchAttribute] = [.flags, .internalDate, .rfc822Size]
    /// `ALL`: (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE).
    public static let all: [FetchAttribute] = fast + [.envelope]
    /// `FULL`: (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY).
    public static let full: [FetchAttribute] = all + [.bodyStructure(extensions: false)]

    /// Whether fetching this item sets \Seen on a read-write mailbox (RFC 3501 §6.4.5).
    public var setsSeen: Bool {
        switch self {
        case .rfc822, .rfc822Text: true
        case .section(_, let peek): !peek
        case .binary(_, _, let peek): !peek
        default: false
        }
    }
}

/// A FETCH modifier (RFC 4466 fetch-modifier).
public enum FetchModifier: Sendable, Hashable {
    /// CHANGEDSINCE n (RFC 7162 §3.1.4): only messages whose mod-sequence is above n.
    case changedSince(UInt64)
    /// VANISHED (RFC 7162 §3.2.6), with CHANGEDSINCE in a UID FETCH once QRESYNC is enabled.
    case vanished
}
