/// Fits an SMS text into one message's worth of characters: `[sms] max_length` GSM-7
/// septets (3GPP TS 23.038; characters of the extension table such as `€` or `[` take two),
/// or — when any character is outside GSM-7 and the text must go as UCS-2 — 70 UTF-16 units
/// per 160 configured. A text that is too long is cut at a whole character (never half a
/// surrogate pair, a combining sequence or an escape pair) and ends in an ellipsis.
public enum SMSText {
    /// The GSM 03.38 default alphabet (one septet each), ESC excluded.
    static let basic: Set<Character> = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
            + "abcdefghijklmnopqrstuvwxyzäöñüà")
    /// The extension table: ESC + one septet, so two each.
    static let extended: Set<Character> = Set("^{}\\[~]|€\u{0C}")

    public enum Encoding: Sendable, Equatable {
        case gsm7, ucs2
    }

    /// The encoding a gateway will need for `text`.
    public static func encoding(of text: String) -> Encoding {
        text.allSatisfy { basic.contains($0) || extended.contains($0) } ? .gsm7 : .ucs2
    }

    /// What `character` costs: septets in GSM-7, UTF-16 units in UCS-2.
    static func cost(_ character: Character, _ encoding: Encoding) -> Int {
        switch encoding {
        case .gsm7: extended.contains(character) ? 2 : 1
        case .ucs2: character.utf16.count
        }
    }

    /// The limit for `encoding` given `[sms] max_length` (160 → 70 for UCS-2).
    public static func limit(_ encoding: Encoding, maxLength: Int) -> Int {
        encoding == .gsm7 ? maxLength : max(70, maxLength * 70 / 160)
    }

    /// The length of `text` in its encoding's units.
    public static func length(_ text: String) -> Int {
        let encoding = encoding(of: text)
        return text.reduce(0) { $0 + cost($1, encoding) }
    }

    /// `text` with line breaks and runs of white space made single spaces, trimmed, and cut
    /// to fit (ellipsis `...` in GSM-7, `…` in UCS-2, which GSM-7 lacks).
    public static func fit(_ text: String, maxLength: Int) -> String {
        let collapsed = text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        let encoding = encoding(of: collapsed)
        let limit = limit(encoding, maxLength: maxLength)
        if collapsed.reduce(0, { $0 + cost($1, encoding) }) <= limit { return collapsed }
        let ellipsis = encoding == .gsm7 ? "..." : "…"
        let budget = limit - ellipsis.reduce(0) { $0 + cost($1, encoding) }
        var kept = ""
        var used = 0
        for character in collapsed {
            let price = cost(character, encoding)
            if used + price > budget { break }
            kept.append(character)
            used += price
        }
        while kept.last?.isWhitespace == true { kept.removeLast() }
        return kept + ellipsis
    }
}
