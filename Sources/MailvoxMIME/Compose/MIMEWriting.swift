import Foundation

/// The byte-level encodings of a composed message: RFC 2047 encoded-words, RFC 2231
/// parameters, quoted-printable and base64 bodies, header folding. CRLF everywhere.
enum MIMEWriting {
    static let crlf = "\r\n"

    /// Drops every control character (CR and LF included), so no caller-supplied text can
    /// start a header of its own.
    static func sanitized(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }))
    }

    static func isPlainASCII(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) }
    }

    /// RFC 2047 §2: encoded-words of at most 75 characters, never splitting a character.
    /// `firstLineUsed` is how much of the first line the field name already takes, so that
    /// line too stays within 76 characters.
    static func encodedWords(_ text: String, firstLineUsed: Int = 0) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        // 45 octets make 60 base64 characters; with "=?utf-8?B?" and "?=" that is 72.
        let firstLimit = max(3, (76 - firstLineUsed - 12) / 4 * 3)
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > (words.isEmpty ? min(45, firstLimit) : 45), !chunk.isEmpty {
                words.append("=?utf-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?utf-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words
    }

    /// A header field with an unstructured value (Subject, names in X- headers): kept as it is
    /// when it is printable ASCII, folded at spaces; otherwise RFC 2047 encoded-words.
    static func unstructuredField(_ name: String, _ value: String) -> String {
        let value = sanitized(value)
        if isPlainASCII(value), !value.contains("=?") {
            return fold(name + ": " + value)
        }
        return name + ": " + encodedWords(value, firstLineUsed: name.utf8.count + 2).joined(separator: crlf + " ")
            + crlf
    }

    /// A display name for an address (RFC 5322 phrase): a quoted-string when ASCII, else encoded-words.
    static func phrase(_ name: String) -> String {
        let name = sanitized(name)
        if isPlainASCII(name), !name.contains("=?") {
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"" + escaped + "\""
        }
        return encodedWords(name).joined(separator: crlf + " ")
    }

    /// Folds an ASCII field at spaces so lines stay within 78 characters where the text allows
    /// (RFC 5322 §2.1.1); returns the field with its CRLF.
    static func fold(_ line: String) -> String {
        guard line.utf8.count > 78 else { return line + crlf }
        var result = ""
        var current = ""
        for (index, word) in line.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            if index == 0 {
                current = String(word)
            } else if current.utf8.count + 1 + word.utf8.count > 78,
                !current.trimmingCharacters(in: .whitespaces).isEmpty
            {
                result += current + crlf
                current = " " + word
            } else {
                current += " " + word
            }
        }
        return result + current + crlf
    }

    /// A Content-Type or Content-Disposition parameter: quoted when ASCII, RFC 2231
    /// (`name*=utf-8''…`, continued as `name*0*`, `name*1*` past 60 octets) otherwise.
    static func parameter(_ name: String, _ value: String) -> String {
        let value = sanitized(value)
        if isPlainASCII(value), value.utf8.count <= 60 {
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
                of: "\"", with: "\\\"")
            return "\(name)=\"\(escaped)\""
        }
        // RFC 2231 §7: attribute-char excludes "*", "'", "%" and tspecials.
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&+-.^_`|~".utf8)
        var pieces: [String] = []
        var piece = ""
        for byte in value.utf8 {
            let encoded = allowed.contains(byte) ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
            if piece.utf8.count + encoded.utf8.count > 60 {
                pieces.append(piece)
                piece = ""
            }
            piece += encoded
        }
        pieces.append(piece)
        if pieces.count == 1 { return "\(name)*=utf-8''\(pieces[0])" }
        return pieces.enumerated().map { index, text in
            index == 0 ? "\(name)*0*=utf-8''\(text)" : "\(name)*\(index)*=\(text)"
        }.joined(separator: ";" + crlf + " ")
    }

    /// Base64 in lines of 76 characters (RFC 2045 §6.8), each ended by CRLF.
    ///
    /// Encoded straight into the string's storage: a voicemail's attachment is 100–500 KB, and
    /// going through `Data.base64EncodedString()` and one small string per line cost about a
    /// millisecond per message, as much as sealing it.
    static func base64Lines(_ bytes: [UInt8]) -> String {
        let groups = (bytes.count + 2) / 3
        let characters = groups * 4
        let lines = (characters + 75) / 76
        return String(unsafeUninitializedCapacity: characters + lines * 2) { output in
            bytes.withUnsafeBufferPointer { input in
                base64Alphabet.withUnsafeBufferPointer { alphabet in
                    var out = 0
                    var column = 0
                    var index = 0
                    while index < input.count {
                        let remaining = input.count - index
                        let group =
                            UInt32(input[index]) << 16 | (remaining > 1 ? UInt32(input[index + 1]) << 8 : 0)
                            | (remaining > 2 ? UInt32(input[index + 2]) : 0)
                        output[out] = alphabet[Int(group >> 18 & 0x3F)]
                        output[out + 1] = alphabet[Int(group >> 12 & 0x3F)]
                        output[out + 2] = remaining > 1 ? alphabet[Int(group >> 6 & 0x3F)] : UInt8(ascii: "=")
                        output[out + 3] = remaining > 2 ? alphabet[Int(group & 0x3F)] : UInt8(ascii: "=")
                        out += 4
                        index += 3
                        column += 4
                        if column == 76 || index >= input.count {
                            output[out] = 0x0D
                            output[out + 1] = 0x0A
                            out += 2
                            column = 0
                        }
                    }
                    return out
                }
            }
        }
    }

    private static let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Quoted-printable (RFC 2045 §6.7) of UTF-8 text with its line breaks made CRLF; every
    /// line at most 76 characters, trailing white space encoded. Ends with CRLF.
    static func quotedPrintable(_ text: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var lines = normalized.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var result = ""
        for line in lines {
            let bytes = Array(line.utf8)
            var output = ""
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                let literal =
                    (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "="))
                    || ((byte == 0x20 || byte == 0x09) && !isLast)
                let token = literal ? String(UnicodeScalar(byte)) : String(format: "=%02X", byte)
                // Leave room for the soft line break "=".
                if output.utf8.count + token.utf8.count > 75 {
                    result += output + "=" + crlf
                    output = ""
                }
                output += token
            }
            result += output + crlf
        }
        return result
    }

    /// RFC 5322 §3.3 date-time in the given zone, e.g. `Fri, 05 Jan 2024 14:32:00 +0100`.
    static func dateTime(_ date: Date, in zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let offset = zone.secondsFromGMT(for: date) / 60
        let sign = offset < 0 ? "-" : "+"
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let year = String(repeating: "0", count: max(0, 4 - String(parts.year!).count)) + String(parts.year!)
        return "\(days[parts.weekday! - 1]), \(two(parts.day!)) \(months[parts.month! - 1]) \(year) "
            + "\(two(parts.hour!)):\(two(parts.minute!)):\(two(parts.second!)) "
            + "\(sign)\(two(abs(offset) / 60))\(two(abs(offset) % 60))"
    }
}
