import Foundation

/// A SEARCH condition over UIDs (RFC 3501 §6.4.4, RFC 7162 MODSEQ), as the store evaluates
/// it. The IMAP layer turns sequence numbers into UIDs and session state (RECENT, NEW) into
/// these before asking.
public indirect enum SearchCriterion: Sendable, Hashable {
    case all
    /// UIDs within any of these ranges.
    case uids([ClosedRange<UInt32>])
    /// Every flag in the set is present (`SEEN`, `FLAGGED`…).
    case flagged(SystemFlags)
    /// None of the flags in the set is present (`UNSEEN`…).
    case unflagged(SystemFlags)
    case keyword(String)
    case unkeyword(String)
    /// INTERNALDATE compared by calendar day, time and zone disregarded (RFC 3501 §6.4.4).
    case received(DayComparison, SearchDay)
    /// The Date: header's day.
    case sent(DayComparison, SearchDay)
    case larger(Int)
    case smaller(Int)
    /// The field exists and its decoded value contains the text (case-insensitive); an
    /// empty text matches any message with the field.
    case header(field: String, contains: String)
    /// The decoded text of the body.
    case body(String)
    /// Header or body.
    case text(String)
    /// MODSEQ at least this (RFC 7162 §3.1.5).
    case modseq(atLeast: UInt64)
    case not(SearchCriterion)
    case or(SearchCriterion, SearchCriterion)
    case and([SearchCriterion])

    /// How a date key compares a message's day with its argument.
    public enum DayComparison: Sendable, Hashable {
        case before, on, since
    }

    /// Whether answering needs more than the index's clear columns.
    public var needsHeaders: Bool {
        switch self {
        case .sent, .header, .text: true
        case .body: false
        case .not(let inner): inner.needsHeaders
        case .or(let a, let b): a.needsHeaders || b.needsHeaders
        case .and(let all): all.contains(where: \.needsHeaders)
        default: false
        }
    }

    /// Whether answering needs the message body decrypted.
    public var needsBody: Bool {
        switch self {
        case .body, .text: true
        case .not(let inner): inner.needsBody
        case .or(let a, let b): a.needsBody || b.needsBody
        case .and(let all): all.contains(where: \.needsBody)
        default: false
        }
    }

    /// Evaluates the condition; header and body text are asked for only when a key needs them.
    public func matches(_ message: some SearchCandidate) throws -> Bool {
        let summary = message.summary
        switch self {
        case .all:
            return true
        case .uids(let ranges):
            return ranges.contains { $0.contains(summary.uid) }
        case .flagged(let flags):
            return summary.flags.system.isSuperset(of: flags)
        case .unflagged(let flags):
            return summary.flags.system.isDisjoint(with: flags)
        case .keyword(let keyword):
            return summary.flags.keywords.contains { $0.caseInsensitiveEquals(keyword) }
        case .unkeyword(let keyword):
            return !summary.flags.keywords.contains { $0.caseInsensitiveEquals(keyword) }
        case .received(let comparison, let day):
            return comparison.holds(SearchDay(summary.internalDate), day)
        case .sent(let comparison, let day):
            guard let sent = try message.sentDay() else { return false }
            return comparison.holds(sent, day)
        case .larger(let size):
            return summary.size > size
        case .smaller(let size):
            return summary.size < size
        case .header(let field, let text):
            return try message.headerValues(field).contains { text.isEmpty || $0.containsIgnoringCase(text) }
        case .body(let text):
            return try message.bodyText().containsIgnoringCase(text)
        case .text(let text):
            return try message.headerText().containsIgnoringCase(text) || message.bodyText().containsIgnoringCase(text)
        case .modseq(let modseq):
            return summary.modseq >= modseq
        case .not(let inner):
            return try !inner.matches(message)
        case .or(let a, let b):
            return try a.matches(message) || b.matches(message)
        case .and(let all):
            for criterion in all where try !criterion.matches(message) { return false }
            return true
        }
    }
}

/// One message as SEARCH sees it. The summary is at hand; the rest is read (and decrypted)
/// on demand, once.
public protocol SearchCandidate {
    var summary: MessageSummary { get }
    /// Values of every field named `name` (case-insensitive), unfolded and RFC 2047-decoded.
    func headerValues(_ name: String) throws -> [String]
    /// The whole header block, decoded.
    func headerText() throws -> String
    /// The date part of the Date: header as written — its own day, whatever its time and zone
    /// (RFC 3501 §6.4.4: SENT* disregard both); nil when absent or unreadable.
    func sentDay() throws -> SearchDay?
    /// The text of the body's textual parts, transfer-decoded and in UTF-8.
    func bodyText() throws -> String
}

/// A calendar day (RFC 3501 `date`), compared without time or zone.
public struct SearchDay: Sendable, Hashable, Comparable {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The UTC day of `date`.
    public init(_ date: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        self.init(year: parts.year!, month: parts.month!, day: parts.day!)
    }

    public static func < (lhs: SearchDay, rhs: SearchDay) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}

extension SearchCriterion.DayComparison {
    func holds(_ day: SearchDay, _ argument: SearchDay) -> Bool {
        switch self {
        case .before: day < argument
        case .on: day == argument
        case .since: day >= argument
        }
    }
}

extension String {
    /// RFC 3501 §6.4.4: "case-insensitive" substring matching.
    func containsIgnoringCase(_ other: String) -> Bool {
        range(of: other, options: [.caseInsensitive]) != nil
    }
}
