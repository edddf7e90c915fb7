/// A FETCH `BODY[section]<partial>` address (RFC 3501 §6.4.5), parsed once into a value.
///
/// `1.2` is a part's body, `1.2.MIME` its MIME header, `HEADER`, `HEADER.FIELDS (…)`,
/// `HEADER.FIELDS.NOT (…)` and `TEXT` the header or body of the message (or of the
/// `message/rfc822` part the numbers lead to); an empty section is the whole message.
public struct SectionSpecifier: Sendable, Hashable, CustomStringConvertible {
    /// What of the addressed entity is wanted.
    public enum Text: Sendable, Hashable {
        /// The entity's body (for the top level: the whole message).
        case whole
        case header
        /// Only these header fields (names compared case-insensitively).
        case headerFields([String])
        /// Every header field but these.
        case headerFieldsNot([String])
        case text
        /// The part's own MIME header; needs a part number.
        case mime
    }

    /// `<offset.length>`: the octets wanted of the section (RFC 3501 §6.4.5).
    public struct Partial: Sendable, Hashable {
        public var offset: Int
        public var length: Int

        public init(offset: Int, length: Int) {
            self.offset = offset
            self.length = length
        }
    }

    /// Part numbers, 1-based, outermost first; empty for the message itself.
    public var part: [Int]
    public var text: Text
    public var partial: Partial?

    public init(part: [Int] = [], text: Text = .whole, partial: Partial? = nil) {
        self.part = part
        self.text = text
        self.partial = partial
    }

    /// Parses the text between `[` and `]`, optionally followed by `<offset.length>`, e.g.
    /// `1.2.MIME`, `HEADER.FIELDS (From Subject)<0.100>`; nil when it is not a section.
    public init?(_ specifier: String) {
        var rest = Substring(specifier)
        var partial: Partial?
        if rest.hasSuffix(">"), let open = rest.lastIndex(of: "<") {
            let numbers = rest[rest.index(after: open)..<rest.index(before: rest.endIndex)].split(
                separator: ".", omittingEmptySubsequences: false)
            guard numbers.count == 2, let offset = Self.number(numbers[0]), let length = Self.number(numbers[1]),
                length > 0
            else { return nil }
            partial = Partial(offset: offset, length: length)
            rest = rest[..<open]
        }
        var part: [Int] = []
        while true {
            let end = rest.firstIndex(of: ".") ?? rest.endIndex
            let token = rest[..<end]
            guard !token.isEmpty, token.allSatisfy({ $0.isASCII && $0.isNumber }) else { break }
            guard let number = Self.number(token), number > 0 else { return nil }
            part.append(number)
            if end == rest.endIndex {
                rest = rest[end...]
                break
            }
            rest = rest[rest.index(after: end)...]
            // "1." names nothing.
            if rest.isEmpty { return nil }
        }
        let upper = rest.uppercased()
        let text: Text
        switch upper {
        case "": text = .whole
        case "HEADER": text = .header
        case "TEXT": text = .text
        case "MIME":
            guard !part.isEmpty else { return nil }
            text = .mime
        default:
            if let names = Self.fieldNames(upper, rest, prefix: "HEADER.FIELDS.NOT") {
                text = .headerFieldsNot(names)
            } else if let names = Self.fieldNames(upper, rest, prefix: "HEADER.FIELDS") {
                text = .headerFields(names)
            } else {
                return nil
            }
        }
        self.init(part: part, text: text, partial: partial)
    }

    public var description: String {
        var result = part.map(String.init).joined(separator: ".")
        let suffix: String
        switch text {
        case .whole: suffix = ""
        case .header: suffix = "HEADER"
        case .text: suffix = "TEXT"
        case .mime: suffix = "MIME"
        case .headerFields(let names): suffix = "HEADER.FIELDS (\(names.joined(separator: " ")))"
        case .headerFieldsNot(let names): suffix = "HEADER.FIELDS.NOT (\(names.joined(separator: " ")))"
        }
        if !suffix.isEmpty { result += result.isEmpty ? suffix : "." + suffix }
        if let partial { result += "<\(partial.offset).\(partial.length)>" }
        return result
    }

    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 9, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    /// `PREFIX (name name …)`: the field names (RFC 3501 header-fld-name, astrings; quoted ones unquoted).
    private static func fieldNames(_ upper: String, _ original: Substring, prefix: String) -> [String]? {
        guard upper.hasPrefix(prefix + " (") || upper.hasPrefix(prefix + "("), upper.hasSuffix(")") else {
            return nil
        }
        let inner = original.dropFirst(prefix.count).drop(while: { $0 == " " }).dropFirst().dropLast()
        var names: [String] = []
        for token in inner.split(separator: " ") {
            var name = Substring(token)
            if name.count >= 2, name.first == "\"", name.last == "\"" { name = name.dropFirst().dropLast() }
            // RFC 5322 §3.6.8: a field name is printable ASCII except the colon.
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ (33...126).contains($0.value) && $0 != ":" }) else {
                return nil
            }
            names.append(String(name))
        }
        return names.isEmpty ? nil : names
    }
}
