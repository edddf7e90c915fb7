/// An owner's email address, where alerts go: an RFC 5321 mailbox (`local@domain`).
///
/// Deliberately strict: dot-atom local parts and a dotted or bracketed domain, ASCII only,
/// at most 254 octets. Quoted local parts are legal but so rare for alert targets that a
/// typo is the likelier reading.
public struct EmailAddress: ValidatedString {
    public let rawValue: String

    public init?(_ text: String) {
        guard text.utf8.count <= 254, let at = text.lastIndex(of: "@") else { return nil }
        let local = text[..<at]
        let domain = text[text.index(after: at)...]
        guard Self.isDotAtom(local, extra: "!#$%&'*+/=?^_`{|}~-"), local.utf8.count <= 64,
            Self.isDomain(domain)
        else { return nil }
        self.rawValue = text
    }

    public static let kindName = "email"

    private static func isDotAtom(_ text: Substring, extra: String) -> Bool {
        guard !text.isEmpty, text.first != ".", text.last != ".", !text.contains("..") else { return false }
        return text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "."
                    || extra.unicodeScalars.contains(scalar))
        }
    }

    private static func isDomain(_ text: Substring) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 || text == "localhost", text.utf8.count <= 253 else { return false }
        return labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy {
                    $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")
                }
        }
    }
}

/// A phone number that can receive SMS: E.164, a `+` and 8–15 digits (docs/DESIGN.md §3.2).
public struct PhoneNumber: ValidatedString {
    public let rawValue: String

    public init?(_ text: String) {
        guard text.first == "+" else { return nil }
        let digits = text.dropFirst()
        guard (8...15).contains(digits.count), digits.first != "0",
            digits.allSatisfy({ ("0"..."9").contains($0) })
        else { return nil }
        self.rawValue = text
    }

    public static let kindName = "number"

}
