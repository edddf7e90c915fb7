import Foundation

/// Undoes a Content-Transfer-Encoding (RFC 2045 §6), for IMAP BINARY (RFC 3516): the bytes a
/// client gets instead of base64 text a third larger.
///
/// In MailvoxCore, beside the `ParsedMessage` layout it works on, so the IMAP layer needs no C
/// MIME library. Decoding is lenient, as RFC 2045 asks of a decoder: characters outside the
/// base64 alphabet are ignored and a broken `=` escape in quoted-printable is kept as it is.
public enum TransferDecoding {
    /// The encodings whose decoding is the identity (RFC 2045 §6.2), the only ones a multipart
    /// or message/rfc822 entity may have (§6.4).
    public static let identityEncodings: Set<String> = ["7bit", "8bit", "binary"]

    /// Whether `encoding` (as BODYSTRUCTURE names it, lower-cased) can be decoded.
    public static func canDecode(_ encoding: String) -> Bool {
        identityEncodings.contains(encoding) || encoding == "base64" || encoding == "quoted-printable"
    }

    /// `body` with `encoding` undone; nil when the encoding is not one this knows (the caller
    /// answers `NO [UNKNOWN-CTE]`).
    public static func decode(_ body: ArraySlice<UInt8>, encoding: String) -> [UInt8]? {
        switch encoding {
        case _ where identityEncodings.contains(encoding): Array(body)
        case "base64": base64(body)
        case "quoted-printable": quotedPrintable(body)
        default: nil
        }
    }

    private static let base64Values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(index)
        }
        return table
    }()

    /// RFC 2045 §6.8: line breaks and other characters outside the alphabet are ignored; `=`
    /// ends the data. A final group of two or three characters still yields its one or two octets.
    /// Whole, padded base64 — nearly every body — goes through Foundation's decoder, several
    /// times faster than the loop below, which takes what it refuses (a voicemail email's
    /// audio is most of the cost of taking it).
    static func base64(_ body: ArraySlice<UInt8>) -> [UInt8] {
        if let decoded = Data(base64Encoded: Data(body), options: .ignoreUnknownCharacters) { return Array(decoded) }
        var output: [UInt8] = []
        output.reserveCapacity(body.count / 4 * 3)
        var bits: UInt32 = 0
        var count = 0
        for byte in body {
            let value = base64Values[Int(byte)]
            if value == 0xFF {
                if byte == UInt8(ascii: "=") { break }
                continue
            }
            bits = bits << 6 | UInt32(value)
            count += 1
            if count == 4 {
                output.append(UInt8(truncatingIfNeeded: bits >> 16))
                output.append(UInt8(truncatingIfNeeded: bits >> 8))
                output.append(UInt8(truncatingIfNeeded: bits))
                bits = 0
                count = 0
            }
        }
        switch count {
        case 2: output.append(UInt8(truncatingIfNeeded: bits >> 4))
        case 3:
            output.append(UInt8(truncatingIfNeeded: bits >> 10))
            output.append(UInt8(truncatingIfNeeded: bits >> 2))
        default: break
        }
        return output
    }

    /// RFC 2045 §6.7: `=XY` is the octet XY, `=` at the end of a line is a soft line break,
    /// white space at the end of a line was added in transport and is dropped; a hard line
    /// break is CRLF (also when the stored line ended in a bare LF).
    static func quotedPrintable(_ body: ArraySlice<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(body.count)
        var lineStart = body.startIndex
        while lineStart < body.endIndex {
            let newline = body[lineStart...].firstIndex(of: 0x0A)
            var lineEnd = newline ?? body.endIndex
            if lineEnd > lineStart, body[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            while lineEnd > lineStart, body[lineEnd - 1] == 0x20 || body[lineEnd - 1] == 0x09 { lineEnd -= 1 }
            var soft = false
            if lineEnd > lineStart, body[lineEnd - 1] == UInt8(ascii: "=") {
                soft = true
                lineEnd -= 1
            }
            var index = lineStart
            while index < lineEnd {
                let byte = body[index]
                if byte == UInt8(ascii: "="), index + 2 < lineEnd,
                    let high = hexValue(body[index + 1]), let low = hexValue(body[index + 2])
                {
                    output.append(high << 4 | low)
                    index += 3
                } else {
                    output.append(byte)
                    index += 1
                }
            }
            guard let newline else { break }
            if !soft { output.append(contentsOf: [0x0D, 0x0A]) }
            lineStart = newline + 1
        }
        return output
    }

    /// A hexadecimal digit's value (quoted-printable here, RFC 2047's Q encoding too).
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// Line breaks made CRLF: RFC 3516 §4.3 wants textual sections sent with IMAP's line
    /// ending whatever the stored form.
    public static func canonicalLineBreaks(_ bytes: [UInt8]) -> [UInt8] {
        var bare = false
        for index in bytes.indices where bytes[index] == 0x0A && (index == 0 || bytes[index - 1] != 0x0D) {
            bare = true
            break
        }
        guard bare else { return bytes }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + bytes.count / 32)
        for index in bytes.indices {
            if bytes[index] == 0x0A && (index == 0 || bytes[index - 1] != 0x0D) { output.append(0x0D) }
            output.append(bytes[index])
        }
        return output
    }
}
