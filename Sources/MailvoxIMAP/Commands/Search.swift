import MailvoxCore
import MailvoxIMAPCore

extension IMAPSession {
    /// SEARCH and UID SEARCH (RFC 3501 §6.4.4) with ESEARCH results (RFC 4731), MODSEQ
    /// (RFC 7162 §3.1.5) and SAVE (RFC 5182). Keys become a `SearchCriterion` over UIDs; the
    /// store evaluates it.
    mutating func search(_ command: SearchCommand, tag: String) async throws {
        guard let folder = state.selected else { return }
        // RFC 9051 §6.4.4: an IMAP4rev2 session gets ESEARCH for every SEARCH, `RETURN ()` or not.
        let returnOptions = command.returnOptions ?? (state.imap4rev2 ? [] : nil)
        guard
            let matches = try await matchingUIDs(
                command.key, charset: command.charset, returnOptions: returnOptions, tag: tag)
        else { return }
        try await answer(
            matches.sorted(), returnOptions: returnOptions, byUID: command.byUID,
            usesModSeq: command.key.usesModSeq, tag: tag, folder: folder
        ) { .search($0, modSeq: $1) }
        // RFC 3501 §7.4.1: no EXPUNGE while answering SEARCH; UID SEARCH names no numbers.
        await ok(tag, "SEARCH completed", allowExpunge: command.byUID)
    }

    /// The visible messages `key` matches, as UIDs; nil (the command answered NO) for a charset
    /// other than US-ASCII and UTF-8. A command that SAVEs empties `$` first, so that a failure
    /// leaves it empty (RFC 5182 §2.1); `key` reads the old `$` before that.
    mutating func matchingUIDs(
        _ key: SearchKey, charset: String?, returnOptions: [SearchReturnOption]?, tag: String
    ) async throws -> [UInt32]? {
        guard let store = state.store, let folder = state.selected else { return nil }
        let criterion = Self.criterion(key, tracker: folder.tracker)
        if returnOptions?.contains(.save) == true { state.updateSelected { $0.tracker.savedResult = [] } }
        // RFC 6855 §3: after ENABLE UTF8=ACCEPT, every string is UTF-8; another label conflicts.
        if let charset, state.utf8Accept, charset != "UTF-8" {
            bad(tag, "Only UTF-8 once UTF8=ACCEPT is enabled")
            return nil
        }
        if let charset, !["US-ASCII", "UTF-8"].contains(charset) {
            no(tag, code: .badCharset(["US-ASCII", "UTF-8"]), "Unsupported charset")
            return nil
        }
        if key.usesModSeq { state.condStoreUsed() }
        let found = try await store.search(in: folder.name, criterion)
        return found.filter { folder.tracker.sequenceNumber(of: $0) != nil }
    }

    /// Answers SEARCH or SORT once the matches are known, `ordered` being their UIDs in the
    /// order to report them (ascending for SEARCH): MIN and MAX are the first and last of it
    /// (RFC 5267 §3.1 for SORT), ALL keeps its order. SAVE keeps the result as `$`, only MIN
    /// and/or MAX when those are all it asks for (RFC 5182 §2.4); SAVE alone sends no ESEARCH.
    mutating func answer(
        _ ordered: [UInt32], returnOptions: [SearchReturnOption]?, byUID: Bool, usesModSeq: Bool, tag: String,
        folder: SelectedFolder, plain: ([UInt32], UInt64?) -> UntaggedResponse
    ) async throws {
        let wanted = returnOptions.map { $0.isEmpty ? [.all] : $0 } ?? [.all]
        // The messages the answer names: only the first and last for RETURN (MIN) / (MAX).
        var named = ordered
        if !wanted.contains(.all) && !wanted.contains(.count) {
            named = []
            if wanted.contains(.min), let first = ordered.first { named.append(first) }
            if wanted.contains(.max), let last = ordered.last, last != ordered.first { named.append(last) }
        }
        if wanted.contains(.save) {
            let saved = wanted.contains(.min) || wanted.contains(.max) ? named : ordered
            state.updateSelected { $0.tracker.savedResult = saved.sorted() }
        }
        var highestModseq: UInt64?
        if usesModSeq, !named.isEmpty, let store = state.store {
            // RFC 4731 §3.2 / RFC 7162 §3.1.5: the highest modseq of the messages the answer names.
            highestModseq = try await store.summaries(in: folder.name, uids: named).map(\.modseq).max()
        }
        let numbers = byUID ? ordered : ordered.compactMap { folder.tracker.sequenceNumber(of: $0) }
        guard returnOptions != nil else {
            send(plain(numbers, highestModseq))
            return
        }
        guard wanted.contains(where: { $0 != .save }) else { return }
        var result = ESearchResponse(tag: tag, byUID: byUID, modSeq: highestModseq)
        if wanted.contains(.min) { result.min = numbers.first }
        if wanted.contains(.max) { result.max = numbers.last }
        if wanted.contains(.count) { result.count = numbers.count }
        if wanted.contains(.all) { result.all = SequenceSet(inOrder: numbers) }
        send(.esearch(result))
    }

    /// The store's criterion for a key. Session state becomes UIDs through the tracker:
    /// sequence numbers, and `\Recent` (RECENT; NEW is recent and unseen, OLD not recent).
    static func criterion(_ key: SearchKey, tracker: MessageTracker) -> SearchCriterion {
        let none = SearchCriterion.not(.all)
        switch key {
        case .all: return .all
        case .recent: return tracker.recentCriterion
        case .new: return .and([tracker.recentCriterion, .unflagged(.seen)])
        case .old: return .not(tracker.recentCriterion)
        case .answered: return .flagged(.answered)
        case .deleted: return .flagged(.deleted)
        case .draft: return .flagged(.draft)
        case .flagged: return .flagged(.flagged)
        case .seen: return .flagged(.seen)
        case .unanswered: return .unflagged(.answered)
        case .undeleted: return .unflagged(.deleted)
        case .undraft: return .unflagged(.draft)
        case .unflagged: return .unflagged(.flagged)
        case .unseen: return .unflagged(.seen)
        case .keyword(let keyword): return .keyword(keyword)
        case .unkeyword(let keyword): return .unkeyword(keyword)
        case .bcc(let text): return .header(field: "Bcc", contains: text)
        case .cc(let text): return .header(field: "Cc", contains: text)
        case .from(let text): return .header(field: "From", contains: text)
        case .to(let text): return .header(field: "To", contains: text)
        case .subject(let text): return .header(field: "Subject", contains: text)
        case .header(let field, let text): return .header(field: field, contains: text)
        case .body(let text): return .body(text)
        case .text(let text): return .text(text)
        case .before(let date): return .received(.before, SearchDay(date))
        case .on(let date): return .received(.on, SearchDay(date))
        case .since(let date): return .received(.since, SearchDay(date))
        case .sentBefore(let date): return .sent(.before, SearchDay(date))
        case .sentOn(let date): return .sent(.on, SearchDay(date))
        case .sentSince(let date): return .sent(.since, SearchDay(date))
        case .larger(let size): return .larger(Int(size))
        case .smaller(let size): return .smaller(Int(size))
        case .uid(let set) where set.isSavedResult, .sequenceNumbers(let set) where set.isSavedResult:
            // RFC 5182 §2.1: `$` is the same messages as a UID or a sequence-number key.
            guard let saved = SequenceSet(numbers: tracker.savedResult) else { return none }
            return .uids(saved.ranges.map { $0.resolved(last: 0) })
        case .uid(let set):
            // `*` is the highest UID in use; in an empty folder nothing matches.
            guard let last = tracker.uids.last else { return none }
            return .uids(set.ranges.map { $0.resolved(last: last) })
        case .sequenceNumbers(let set):
            let count = UInt32(tracker.count)
            guard count > 0 else { return none }
            var uids: [UInt32] = []
            for range in set.ranges {
                let resolved = range.resolved(last: count)
                guard resolved.lowerBound <= count else { continue }
                for seq in resolved.lowerBound...min(resolved.upperBound, count) {
                    if let uid = tracker.uid(at: seq) { uids.append(uid) }
                }
            }
            guard let set = SequenceSet(numbers: uids) else { return none }
            return .uids(set.ranges.map { $0.resolved(last: 0) })
        case .modSeq(let value, _): return .modseq(atLeast: value)
        case .not(let inner): return .not(criterion(inner, tracker: tracker))
        case .or(let a, let b): return .or(criterion(a, tracker: tracker), criterion(b, tracker: tracker))
        case .and(let keys): return .and(keys.map { criterion($0, tracker: tracker) })
        }
    }
}

extension SearchDay {
    init(_ date: IMAPDate) { self.init(year: date.year, month: date.month, day: date.day) }
}

extension SearchKey {
    var usesModSeq: Bool {
        switch self {
        case .modSeq: true
        case .not(let inner): inner.usesModSeq
        case .or(let a, let b): a.usesModSeq || b.usesModSeq
        case .and(let keys): keys.contains(where: \.usesModSeq)
        default: false
        }
    }
}
