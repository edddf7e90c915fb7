/// A mailbox as SMTP carries it in `MAIL FROM` and `RCPT TO` (RFC 5321 §4.1.2): a local part
/// and a domain. Quoting and source routes are gone; the local part keeps its case (only the
/// receiving side may fold it), the domain is lower-cased.
public struct SMTPAddress: Sendable, Hashable, CustomStringConvertible {
    public var localPart: String
    public var domain: String

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain.lowercased()
    }

    public var description: String { domain.isEmpty ? localPart : "\(localPart)@\(domain)" }

    /// Parses a path's mailbox: `local@domain` with `local` a dot-string or quoted string and
    /// `domain` a name or an address literal. UTF-8 is allowed in both (RFC 6531). A local part
    /// alone (`postmaster`, or a bare mailbox id from `sendmail`) has an empty domain.
    public static func parse(_ text: Substring) -> SMTPAddress? {
        guard !text.isEmpty, text.utf8.count <= 320 else { return nil }
        var local = ""
        var rest = text[...]
        if rest.first == "\"" {
            // RFC 5321 quoted-string: `\` escapes any printable character.
            rest = rest.dropFirst()
            var closed = false
            while let character = rest.first {
                rest = rest.dropFirst()
                if character == "\\" {
                    guard let escaped = rest.first else { return nil }
                    local.append(escaped)
                    rest = rest.dropFirst()
                } else if character == "\"" {
                    closed = true
                    break
                } else {
                    local.append(character)
                }
            }
            guard closed, local.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else { return nil }
        } else {
            let end = rest.lastIndex(of: "@") ?? rest.endIndex
            local = String(rest[..<end])
            rest = rest[end...]
            guard !local.isEmpty, local.unicodeScalars.allSatisfy(Self.isAtomScalar),
                !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..")
            else { return nil }
        }
        guard local.utf8.count <= 64 || text.first == "\"" else { return nil }
        if rest.isEmpty { return SMTPAddress(localPart: local, domain: "") }
        guard rest.first == "@" else { return nil }
        let domain = rest.dropFirst()
        guard Self.isDomain(domain) else { return nil }
        return SMTPAddress(localPart: local, domain: String(domain))
    }

    /// atext of RFC 5322 plus `.`, and any non-ASCII scalar (RFC 6531 UTF8-non-ascii).
    static func isAtomScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value >= 0x80 { return true }
        return ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
            || "!#$%&'*+-/=?^_`{|}~.0123456789".unicodeScalars.contains(scalar)
    }

    /// A domain name of labels (letters, digits, hyphens, or UTF-8), or an address literal.
    static func isDomain(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 255 else { return false }
        if text.first == "[" {
            // `[]` names no address (RFC 5321 §4.1.3 address-literal).
            guard text.count > 2, text.last == "]" else { return false }
            return text.dropFirst().dropLast().unicodeScalars.allSatisfy {
                ("0"..."9").contains($0) || ".:".unicodeScalars.contains($0) || ("a"..."z").contains($0)
                    || ("A"..."Z").contains($0)
            }
        }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy {
                    $0.value >= 0x80 || $0 == "-" || ("a"..."z").contains($0) || ("A"..."Z").contains($0)
                        || ("0"..."9").contains($0)
                }
        }
    }
}
