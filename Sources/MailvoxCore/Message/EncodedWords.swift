import Foundation

/// RFC 2047 encoded-words (`=?UTF-8?Q?J=C3=BCrgen?=`) decoded to text, for the IMAP layer's
/// SORT keys, which read the ENVELOPE's raw header text and cannot reach the MIME library.
public enum EncodedWords {
    /// `text` with every encoded-word it can decode replaced by its text; white space between two
    /// adjacent encoded-words is dropped (RFC 2047 §6.2). A word in an unknown charset, or not
    /// well formed, stays as written.
    public static func decode(_ text: String) -> String {
        guard text.contains("=?") else { return text }
        var result = ""
        var pendingSpace = ""
        var previousWasEncoded = false
        var rest = Substring(text)
        while !rest.isEmpty {
            if rest.hasPrefix("=?"), let (decoded, after) = word(at: rest) {
                // RFC 2047 §6.2: linear white space between adjacent encoded-words is ignored.
                if !previousWasEncoded { result += pendingSpace }
                pendingSpace = ""
                result += decoded
                previousWasEncoded = true
                rest = after
                continue
            }
            let first = rest.removeFirst()
            if first == " " || first == "\t" {
                pendingSpace.append(first)
                continue
            }
            result += pendingSpace
            pendingSpace = ""
            result.append(first)
            previousWasEncoded = false
        }
        return result + pendingSpace
    }

    /// The encoded-word at the start of `text` and what follows it, or nil when it is not one.
    private static func word(at text: Substring) -> (String, Substring)? {
        let body = text.dropFirst(2)
        guard let charsetEnd = body.firstIndex(of: "?") else { return nil }
        // RFC 2231 §5: `charset*language`.
        let charset = body[..<charsetEnd].split(separator: "*", omittingEmptySubsequences: false).first ?? ""
        let afterCharset = body[body.index(after: charsetEnd)...]
        guard let encoding = afterCharset.first, afterCharset.dropFirst().first == "?" else { return nil }
        let payloadStart = afterCharset.dropFirst(2)
        guard let close = payloadStart.range(of: "?=") else { return nil }
        let payload = payloadStart[..<close.lowerBound]
        guard !payload.contains(" "), let bytes = decodePayload(payload, encoding: encoding),
            let decoded = Self.text(bytes, charset: String(charset))
        else { return nil }
        return (decoded, payloadStart[close.upperBound...])
    }

    private static func decodePayload(_ payload: Substring, encoding: Character) -> [UInt8]? {
        switch encoding {
        case "B", "b":
            return TransferDecoding.base64(Array(payload.utf8)[...])
        case "Q", "q":
            var bytes: [UInt8] = []
            let utf8 = Array(payload.utf8)
            var index = 0
            while index < utf8.count {
                let byte = utf8[index]
                if byte == UInt8(ascii: "_") {
                    bytes.append(0x20)
                } else if byte == UInt8(ascii: "="), index + 2 < utf8.count,
                    let high = TransferDecoding.hexValue(utf8[index + 1]),
                    let low = TransferDecoding.hexValue(utf8[index + 2])
                {
                    bytes.append(high << 4 | low)
                    index += 2
                } else {
                    bytes.append(byte)
                }
                index += 1
            }
            return bytes
        default:
            return nil
        }
    }

    /// The charsets voicemail headers use; anything else is left encoded.
    private static func text(_ bytes: [UInt8], charset: String) -> String? {
        switch charset.lowercased() {
        case "utf-8", "utf8", "us-ascii", "ascii": String(decoding: bytes, as: UTF8.self)
        case "iso-8859-1", "latin1", "iso_8859-1": String(bytes: bytes, encoding: .isoLatin1)
        case "windows-1252", "cp1252": String(bytes: bytes, encoding: .windowsCP1252)
        case "iso-8859-2", "latin2": String(bytes: bytes, encoding: .isoLatin2)
        case "utf-16", "utf-16be": String(bytes: bytes, encoding: .utf16BigEndian)
        case "utf-16le": String(bytes: bytes, encoding: .utf16LittleEndian)
        default: nil
        }
    }
}
