import Foundation
import MailvoxCore

/// RFC 5322 §3.4 address lists (with the obsolete forms of §4.4) read into ENVELOPE addresses
/// (RFC 3501 §7.4.2), as Dovecot reads them, which is what clients have been tested against:
///
/// - comments and folding white space are never part of a name or an address; an address
///   written without a display name takes its last comment as the name
///   (`user@domain (Real Name)`);
/// - a phrase is its words joined by one space, quoted strings unquoted, encoded-words left
///   encoded (the client decodes them); an empty phrase is NIL;
/// - a group is a start marker, its members and an end marker, even when it has none;
/// - a missing local part or domain is `MISSING_MAILBOX` / `MISSING_DOMAIN`; an address that
///   breaks off is kept with `SYNTAX_ERROR` for what could not be read, and the list ends there.
///
/// One pass over the bytes, no recursion: hostile values cost their length.
struct AddressParser {
    static let missingMailbox = "MISSING_MAILBOX"
    static let missingDomain = "MISSING_DOMAIN"
    static let syntaxError = "SYNTAX_ERROR"

    private let bytes: [UInt8]
    private var index = 0
    /// The last comment skipped, for an address without a phrase.
    private var lastComment: String?
    private var result: [Envelope.Address] = []

    private init(_ value: String) {
        bytes = Array(value.utf8)
    }

    /// The ENVELOPE addresses of one header value.
    static func addresses(_ value: String) -> [Envelope.Address] {
        var parser = AddressParser(value)
        parser.list()
        return parser.result
    }

    /// The addresses of one header value written as `name <mailbox@host>`, one to a line, the
    /// names RFC 2047-decoded: what SEARCH FROM/TO/CC/BCC compare, so that comments and white
    /// space in the header do not hide an address (`<user (c)@ (c) example.org>` is
    /// `user@example.org`).
    static func searchText(_ value: String) -> String {
        addresses(value).compactMap { address -> String? in
            guard let mailbox = address.mailbox, let host = address.host else { return address.mailbox }
            let spec = "\(mailbox)@\(host)"
            guard let name = address.name else { return spec }
            return "\(MIMEText.decodeHeader(name)) <\(spec)>"
        }.joined(separator: "\n")
    }

    // MARK: - Grammar

    private mutating func list() {
        while true {
            skipSeparators()
            guard index < bytes.count, address() else { return }
            skipCFWS()
            guard peek == UInt8(ascii: ",") else { return }
        }
    }

    /// `address = mailbox / group`; false when the list cannot go on.
    private mutating func address() -> Bool {
        let start = index
        lastComment = nil
        let name = phrase()
        skipCFWS()
        if let name, peek == UInt8(ascii: ":") {  // a group's name may be empty: `"": a@b;`
            index += 1
            return group(name)
        }
        index = start
        return mailbox()
    }

    /// A group's members up to its `;`, between start and end markers.
    private mutating func group(_ name: String) -> Bool {
        result.append(.groupStart(name))
        defer { result.append(.groupEnd) }
        while true {
            skipSeparators()
            if peek == UInt8(ascii: ";") {
                index += 1
                return true
            }
            guard index < bytes.count, mailbox() else { return false }
            skipCFWS()
            if peek == UInt8(ascii: ";") { continue }
            guard peek == UInt8(ascii: ",") else { return false }
        }
    }

    /// `mailbox = name-addr / addr-spec`.
    private mutating func mailbox() -> Bool {
        let start = index
        lastComment = nil
        let name = phrase()
        skipCFWS()
        if peek == UInt8(ascii: "<") {
            index += 1
            return angleAddress(name: name?.isEmpty == false ? name : nil)
        }
        let afterPhrase = index
        index = start
        lastComment = nil
        var address = Envelope.Address(mailbox: nil, host: nil)
        let complete = addressSpec(into: &address)
        skipCFWS()
        // Words that are no address (`From: Plain Name`): a name without mailbox or domain.
        if complete, let name, afterPhrase > index, peek != UInt8(ascii: ","), peek != UInt8(ascii: ";") {
            index = afterPhrase
            result.append(
                .init(name: name.isEmpty ? nil : name, mailbox: Self.missingMailbox, host: Self.missingDomain))
            return true
        }
        address.name = lastComment
        result.append(address)
        return complete
    }

    /// After `<`: an optional obsolete route, an addr-spec (or nothing, `<>`), and `>`.
    private mutating func angleAddress(name: String?) -> Bool {
        var address = Envelope.Address(name: name, mailbox: nil, host: nil)
        skipCFWS()
        if peek == UInt8(ascii: ">") {
            index += 1
            address.mailbox = Self.missingMailbox
            address.host = Self.missingDomain
            result.append(address)
            return true
        }
        if peek == UInt8(ascii: "@") {
            guard let route = route() else {
                address.mailbox = Self.missingMailbox
                address.host = Self.syntaxError
                result.append(address)
                return false
            }
            address.adl = route
        }
        var complete = addressSpec(into: &address)
        skipCFWS()
        if complete {
            if peek == UInt8(ascii: ">") { index += 1 } else { complete = false }
        }
        result.append(address)
        return complete
    }

    /// `obs-route = obs-domain-list ":"`, kept as written without white space:
    /// `@a.example,@b.example`.
    private mutating func route() -> String? {
        var domains: [String] = []
        while true {
            skipCFWS()
            if peek == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if peek == UInt8(ascii: ":"), !domains.isEmpty {
                index += 1
                return domains.joined(separator: ",")
            }
            guard peek == UInt8(ascii: "@") else { return nil }
            index += 1
            guard let domain = domain() else { return nil }
            domains.append("@" + domain)
        }
    }

    /// `addr-spec = local-part "@" domain`, into `address`; a missing part is named, and false
    /// says the address broke off.
    private mutating func addressSpec(into address: inout Envelope.Address) -> Bool {
        guard let local = dotted(allowQuoted: true) else {
            address.mailbox = Self.missingMailbox
            address.host = Self.syntaxError
            return false
        }
        address.mailbox = local
        skipCFWS()
        guard peek == UInt8(ascii: "@") else {
            address.host = Self.missingDomain
            return true
        }
        index += 1
        guard let domain = domain() else {
            address.host = Self.syntaxError
            return false
        }
        address.host = domain
        return true
    }

    /// `domain = dot-atom / domain-literal` (CFWS around the dots allowed, §4.4).
    private mutating func domain() -> String? {
        skipCFWS()
        guard peek == UInt8(ascii: "[") else { return dotted(allowQuoted: false) }
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "]") {
            index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
        }
        guard index < bytes.count else { return nil }
        index += 1
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// Words joined by dots, CFWS allowed around each (obs-local-part, obs-domain).
    private mutating func dotted(allowQuoted: Bool) -> String? {
        var parts: [String] = []
        while true {
            skipCFWS()
            if let atom = atom(dots: false) {
                parts.append(atom)
            } else if allowQuoted, let quoted = quotedString() {
                parts.append(quoted)
            } else {
                return nil
            }
            let afterWord = index
            skipCFWS()
            guard peek == UInt8(ascii: ".") else {
                index = afterWord
                return parts.joined(separator: ".")
            }
            index += 1
        }
    }

    /// `phrase = 1*word / obs-phrase`: words (and the dots of obs-phrase) joined by one space,
    /// quoted strings unquoted; nil when there is no word (`""` is a word, and an empty phrase).
    private mutating func phrase() -> String? {
        var words: [String] = []
        while true {
            skipCFWS()
            if let atom = atom(dots: true) {
                words.append(atom)
            } else if let quoted = quotedString() {
                words.append(quoted)
            } else {
                break
            }
        }
        return words.isEmpty ? nil : words.joined(separator: " ")
    }

    private mutating func atom(dots: Bool) -> String? {
        let start = index
        while index < bytes.count, Self.isAtomText(bytes[index]) || (dots && bytes[index] == UInt8(ascii: ".")) {
            index += 1
        }
        return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
    }

    /// A quoted string's content with its quoted-pairs resolved; nil when none starts here or
    /// it never closes (then nothing is consumed).
    private mutating func quotedString() -> String? {
        guard peek == UInt8(ascii: "\"") else { return nil }
        var content: [UInt8] = []
        var cursor = index + 1
        while cursor < bytes.count {
            switch bytes[cursor] {
            case UInt8(ascii: "\""):
                index = cursor + 1
                return String(decoding: content, as: UTF8.self)
            case UInt8(ascii: "\\") where cursor + 1 < bytes.count:
                content.append(bytes[cursor + 1])
                cursor += 2
            case 0x0D, 0x0A:
                cursor += 1
            default:
                content.append(bytes[cursor])
                cursor += 1
            }
        }
        return nil
    }

    /// White space and comments (nested, with quoted-pairs); the last comment's text is kept.
    /// An unclosed comment runs to the end.
    private mutating func skipCFWS() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0D, 0x0A:
                index += 1
            case UInt8(ascii: "("):
                var depth = 0
                let start = index + 1
                var end = start
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "\\") {
                        index += 2
                        continue
                    }
                    if byte == UInt8(ascii: "(") { depth += 1 }
                    if byte == UInt8(ascii: ")") {
                        depth -= 1
                        if depth == 0 {
                            end = index
                            index += 1
                            break
                        }
                    }
                    index += 1
                    end = index
                }
                index = min(index, bytes.count)
                lastComment = Self.commentText(bytes[start..<min(end, bytes.count)])
            default:
                return
            }
        }
    }

    /// Commas between addresses, with the white space and comments around them (obs-addr-list).
    private mutating func skipSeparators() {
        skipCFWS()
        while peek == UInt8(ascii: ",") {
            index += 1
            skipCFWS()
        }
    }

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private static func commentText(_ slice: ArraySlice<UInt8>) -> String? {
        var text: [UInt8] = []
        var escaped = false
        for byte in slice {
            if !escaped, byte == UInt8(ascii: "\\") {
                escaped = true
                continue
            }
            escaped = false
            text.append(byte)
        }
        let trimmed = String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// RFC 5322 atext, and any octet of UTF-8 (RFC 6532).
    private static func isAtomText(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), 0x80...0xFF:
            return true
        default:
            return "!#$%&'*+-/=?^_`{|}~".utf8.contains(byte)
        }
    }
}
