import Foundation
import MailvoxCore
import MailvoxIMAPCore

extension IMAPSession {
    /// SORT and UID SORT (RFC 5256 §3) with ESORT's RETURN (RFC 5267), DISPLAYFROM/DISPLAYTO
    /// (RFC 5957) and SAVE (RFC 5182). The search is SEARCH's; the keys are read from the
    /// summaries (ARRIVAL, SIZE) and the cached ENVELOPE (the rest), never the message bodies.
    mutating func sort(_ command: SortCommand, tag: String) async throws {
        guard let store = state.store, let folder = state.selected else { return }
        guard
            let matches = try await matchingUIDs(
                command.key, charset: command.charset, returnOptions: command.returnOptions, tag: tag)
        else { return }
        let needsEnvelope = command.criteria.contains { $0.key != .arrival && $0.key != .size }
        let summaries = try await store.summaries(in: folder.name, uids: matches)
        let envelopes = needsEnvelope ? try await store.structures(in: folder.name, uids: matches) : [:]
        var messages: [SortableMessage] = []
        for summary in summaries {
            guard let seq = folder.tracker.sequenceNumber(of: summary.uid) else { continue }
            let envelope = envelopes[summary.uid]?.envelope ?? Envelope()
            messages.append(
                SortableMessage(seq: seq, uid: summary.uid, criteria: command.criteria) { key in
                    SortValue(key, summary: summary, envelope: envelope)
                })
        }
        let ordered = SortableMessage.ordered(messages, by: command.criteria)
        try await answer(
            ordered, returnOptions: command.returnOptions, byUID: command.byUID,
            usesModSeq: command.key.usesModSeq, tag: tag, folder: folder
        ) { .sort($0, modSeq: $1) }
        // RFC 3501 §7.4.1, as for SEARCH.
        await ok(tag, "SORT completed", allowExpunge: command.byUID)
    }
}

/// One message's values for each sort criterion, worked out once before sorting.
struct SortableMessage {
    var seq: UInt32
    var uid: UInt32
    var values: [SortValue]

    init(seq: UInt32, uid: UInt32, criteria: [SortCriterion], value: (SortKey) -> SortValue) {
        self.seq = seq
        self.uid = uid
        self.values = criteria.map { value($0.key) }
    }

    /// The UIDs in criteria order; messages equal under every criterion keep sequence order
    /// (RFC 5256 §3: "sorted according to the order in which they appear in the mailbox").
    static func ordered(_ messages: [SortableMessage], by criteria: [SortCriterion]) -> [UInt32] {
        messages.sorted { a, b in
            for (index, criterion) in criteria.enumerated() where a.values[index] != b.values[index] {
                return criterion.reverse ? b.values[index] < a.values[index] : a.values[index] < b.values[index]
            }
            return a.seq < b.seq
        }.map(\.uid)
    }
}

/// A sort key's value for one message: a number (dates as seconds, sizes) or text folded for
/// comparison.
enum SortValue: Comparable {
    case number(Double)
    /// UTF-8 of the folded text, compared octet by octet.
    case text([UInt8])

    init(_ key: SortKey, summary: MessageSummary, envelope: Envelope) {
        switch key {
        case .arrival: self = .number(summary.internalDate.timeIntervalSince1970)
        case .size: self = .number(Double(summary.size))
        case .date:
            // RFC 5256 §3: a missing or unparsable Date: sorts by the INTERNALDATE instead.
            let sent = envelope.date.flatMap(MessageDate.parse) ?? summary.internalDate
            self = .number(sent.timeIntervalSince1970)
        case .subject: self = .folded(Self.baseSubject(envelope.subject ?? ""))
        case .from: self = .folded(Self.first(envelope.from)?.mailbox ?? "")
        case .to: self = .folded(Self.first(envelope.to)?.mailbox ?? "")
        case .cc: self = .folded(Self.first(envelope.cc)?.mailbox ?? "")
        case .displayFrom: self = .folded(Self.displayName(envelope.from))
        case .displayTo: self = .folded(Self.displayName(envelope.to))
        }
    }

    static func < (lhs: SortValue, rhs: SortValue) -> Bool {
        switch (lhs, rhs) {
        case (.number(let a), .number(let b)): a < b
        case (.text(let a), .text(let b)): a.lexicographicallyPrecedes(b)
        case (.number, .text): true
        case (.text, .number): false
        }
    }

    /// RFC 5256 §2 collates with i;unicode-casemap (RFC 5051): case folded, then compatibility
    /// decomposed, compared as octets. Upper case stands in for RFC 5051's title case.
    static func folded(_ text: String) -> SortValue {
        .text(Array(text.uppercased().decomposedStringWithCompatibilityMapping.utf8))
    }

    /// The first real address of a list (group markers have no host).
    static func first(_ addresses: [Envelope.Address]) -> Envelope.Address? {
        addresses.first { $0.mailbox != nil && $0.host != nil }
    }

    /// RFC 5957 §3: the first address's display name, RFC 2047-decoded; its addr-spec when it
    /// has none; empty when there is no address.
    static func displayName(_ addresses: [Envelope.Address]) -> String {
        guard let address = first(addresses) else { return "" }
        let name = EncodedWords.decode(address.name ?? "").trimmingCharacters(in: .whitespaces)
        if !name.isEmpty { return name }
        return "\(address.mailbox ?? "")@\(address.host ?? "")"
    }

    /// The base subject of RFC 5256 §2.1: encoded-words decoded, white space collapsed, then
    /// `Re:`/`Fw:`/`Fwd:` leaders, `[blob]`s, `(fwd)` trailers and `[fwd: …]` wrappers removed.
    static func baseSubject(_ raw: String) -> String {
        // (1) Decode, and turn every run of white space into one space.
        var text: [Character] = []
        for character in EncodedWords.decode(raw) {
            let isSpace = character == " " || character == "\t" || character == "\r" || character == "\n"
            if isSpace {
                if text.last != " " { text.append(" ") }
            } else {
                text.append(character)
            }
        }
        while true {
            // (2) Trailers: white space and "(fwd)".
            while true {
                if text.last == " " {
                    text.removeLast()
                } else if text.count >= 5, String(text.suffix(5)).lowercased() == "(fwd)" {
                    text.removeLast(5)
                } else {
                    break
                }
            }
            // (3)–(5) Leaders and blobs, until neither is left.
            while true {
                if let end = leaderEnd(text) {
                    text.removeFirst(end)
                } else if let end = blobEnd(text, from: 0), text[end...].contains(where: { $0 != " " }) {
                    text.removeFirst(end)
                } else {
                    break
                }
            }
            // (6) "[fwd: subject]" is the subject inside.
            guard text.count >= 6, String(text.prefix(5)).lowercased() == "[fwd:", text.last == "]" else { break }
            text = Array(text.dropFirst(5).dropLast())
        }
        return String(text)
    }

    /// Where a subj-leader at the start ends: `*subj-blob subj-refwd`, or one WSP.
    private static func leaderEnd(_ text: [Character]) -> Int? {
        var index = 0
        while let end = blobEnd(text, from: index) { index = end }
        if let end = refwdEnd(text, from: index) { return end }
        return text.first == " " ? 1 : nil
    }

    /// subj-refwd: `("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`, case-insensitive.
    private static func refwdEnd(_ text: [Character], from start: Int) -> Int? {
        func lower(_ at: Int) -> Character? { at < text.count ? Character(text[at].lowercased()) : nil }
        var index = start
        if lower(index) == "r", lower(index + 1) == "e" {
            index += 2
        } else if lower(index) == "f", lower(index + 1) == "w" {
            index += 2
            if lower(index) == "d" { index += 1 }
        } else {
            return nil
        }
        while index < text.count, text[index] == " " { index += 1 }
        if let end = blobEnd(text, from: index) { index = end }
        guard index < text.count, text[index] == ":" else { return nil }
        return index + 1
    }

    /// subj-blob: `"[" *BLOBCHAR "]" *WSP` at `start`; where it ends.
    private static func blobEnd(_ text: [Character], from start: Int) -> Int? {
        guard start < text.count, text[start] == "[" else { return nil }
        var index = start + 1
        while index < text.count, text[index] != "]" {
            if text[index] == "[" { return nil }
            index += 1
        }
        guard index < text.count else { return nil }
        index += 1
        while index < text.count, text[index] == " " { index += 1 }
        return index
    }
}
