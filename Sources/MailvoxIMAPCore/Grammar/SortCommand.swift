/// SORT / UID SORT (RFC 5256 §3) with ESORT's RETURN options (RFC 5267 §3) and the DISPLAY keys
/// (RFC 5957).
public struct SortCommand: Sendable, Equatable {
    public var byUID: Bool
    /// Nil when the command had no RETURN; `[]` for `RETURN ()`, which means ALL.
    public var returnOptions: [SearchReturnOption]?
    /// Never empty.
    public var criteria: [SortCriterion]
    /// The mandatory charset argument, upper-cased.
    public var charset: String
    public var key: SearchKey

    public init(
        byUID: Bool = false, returnOptions: [SearchReturnOption]? = nil, criteria: [SortCriterion], charset: String,
        key: SearchKey
    ) {
        self.byUID = byUID
        self.returnOptions = returnOptions
        self.criteria = criteria
        self.charset = charset
        self.key = key
    }
}

/// One `[REVERSE] sort-key` of a SORT's criteria.
public struct SortCriterion: Sendable, Hashable {
    public var key: SortKey
    public var reverse: Bool

    public init(_ key: SortKey, reverse: Bool = false) {
        self.key = key
        self.reverse = reverse
    }
}

/// What SORT orders by (RFC 5256 §3, RFC 5957 §3).
public enum SortKey: String, Sendable, Hashable, CaseIterable {
    /// INTERNALDATE.
    case arrival = "ARRIVAL"
    /// The first Cc address's mailbox (local part).
    case cc = "CC"
    /// The Date: header, INTERNALDATE when absent or unreadable.
    case date = "DATE"
    /// The first From address's mailbox (local part).
    case from = "FROM"
    /// RFC822.SIZE.
    case size = "SIZE"
    /// The base subject (RFC 5256 §2.1).
    case subject = "SUBJECT"
    /// The first To address's mailbox (local part).
    case to = "TO"
    /// The first From address's display name, decoded, else its addr-spec (RFC 5957).
    case displayFrom = "DISPLAYFROM"
    /// The first To address's display name, decoded, else its addr-spec (RFC 5957).
    case displayTo = "DISPLAYTO"
}
