/// One SEARCH criterion (RFC 3501 §6.4.4, plus MODSEQ of RFC 7162 §3.1.5), nested with
/// AND (a parenthesised list), OR and NOT.
public indirect enum SearchKey: Sendable, Hashable {
    case all
    case answered, deleted, draft, flagged, new, old, recent, seen
    case unanswered, undeleted, undraft, unflagged, unseen
    case keyword(String)
    case unkeyword(String)
    case bcc(String), body(String), cc(String), from(String), subject(String), text(String), to(String)
    /// HEADER field-name string.
    case header(String, String)
    /// Internal date before/on/since the day (time and zone ignored).
    case before(IMAPDate), on(IMAPDate), since(IMAPDate)
    /// The Date: header before/on/since the day.
    case sentBefore(IMAPDate), sentOn(IMAPDate), sentSince(IMAPDate)
    case larger(UInt32), smaller(UInt32)
    case uid(SequenceSet)
    case sequenceNumbers(SequenceSet)
    case not(SearchKey)
    case or(SearchKey, SearchKey)
    /// A parenthesised list: every key must match.
    case and([SearchKey])
    /// MODSEQ [entry-name entry-type] value: messages whose mod-sequence is at least `value`.
    case modSeq(UInt64, entry: ModSeqEntry?)
}

/// The optional `"/flags/\Seen" priv` part of a SEARCH MODSEQ key (RFC 7162 §3.1.5).
public struct ModSeqEntry: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case priv, shared, all
    }

    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

/// RETURN options of an extended SEARCH (RFC 4731 §3.1) or SORT (RFC 5267 §3.1).
public enum SearchReturnOption: String, Sendable, Hashable, CaseIterable {
    case min = "MIN"
    case max = "MAX"
    case all = "ALL"
    case count = "COUNT"
    /// RFC 5182 §2.1: keep the result as `$` for later commands.
    case save = "SAVE"
}
