import MailvoxCore

/// libFuzzer entry for what the web inbox reads from a browser before any session logic: the
/// `Range` header of every audio request (`ByteRangeRequest`) and the bodies of its forms
/// (`FormFields`, sign-in and the inbox's buttons). Byte 0 below 0x80 picks a range, its value
/// mod 6 how bytes 1–8 give the representation's length (empty, small, MP3-sized, near
/// `Int.max`), and the rest is the header. From 0x80 the rest is a form body. Refusals are
/// expected; crashes and broken invariants are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebRequest(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let mode = bytes.first else { return 0 }
    if mode >= 0x80 {
        checkForm(String(decoding: bytes.dropFirst(), as: UTF8.self))
        return 0
    }
    guard bytes.count >= 9 else { return 0 }
    var raw: UInt64 = 0
    for byte in bytes[1..<9].reversed() { raw = raw << 8 | UInt64(byte) }
    let length: Int =
        switch mode % 6 {
        case 0: 0
        case 1: Int(raw & 0xFF)
        case 2: Int(raw & 0xFFFF)
        case 3: Int(raw & 0x3FF_FFFF)
        case 4: Int.max - Int(raw & 0xFFFF)
        default: Int(raw & UInt64(Int.max))
        }
    checkRange(String(decoding: bytes[9...], as: UTF8.self), length: length)
    return 0
}

/// A partial answer lies inside `0..<length` and is non-empty; its `Content-Range` reads back
/// as the same bytes and length; asking again for exactly those bytes answers the same.
func checkRange(_ header: String, length: Int) {
    let answer = ByteRangeRequest(header: header, length: length)
    precondition(ByteRangeRequest(header: header, length: length) == answer, "not deterministic")
    precondition(ByteRangeRequest(header: nil, length: length) == .whole)
    switch answer {
    case .whole:
        precondition(answer.contentRange(length: length) == nil)
    case .unsatisfiable:
        precondition(answer.contentRange(length: length) == "bytes */\(length)")
    case .partial(let range):
        precondition(!range.isEmpty, "empty partial \(range) for \(header.debugDescription), length \(length)")
        precondition(
            range.lowerBound >= 0 && range.upperBound <= length,
            "partial \(range) outside 0..<\(length) for \(header.debugDescription)")
        let contentRange = answer.contentRange(length: length) ?? ""
        guard let read = readContentRange(contentRange) else {
            preconditionFailure("Content-Range \(contentRange.debugDescription) does not read back")
        }
        precondition(
            read.range == range && read.length == length,
            "Content-Range \(contentRange) reads back as \(read), not \(range)/\(length)")
        // The canonical request for the same bytes, as a player resuming would send it; the
        // reader takes positions of up to 18 digits (no overflow), so only those are asked again.
        if range.upperBound - 1 < 1_000_000_000_000_000_000 {
            let again = ByteRangeRequest(header: "bytes=\(range.lowerBound)-\(range.upperBound - 1)", length: length)
            precondition(again == answer, "asking for \(range) again gave \(again)")
        }
    }
}

/// `bytes FIRST-LAST/LENGTH` (RFC 9110 §14.4), read independently of the code under test.
func readContentRange(_ text: String) -> (range: Range<Int>, length: Int)? {
    guard text.hasPrefix("bytes ") else { return nil }
    let halves = text.dropFirst(6).split(separator: "/", omittingEmptySubsequences: false)
    guard halves.count == 2 else { return nil }
    let ends = halves[0].split(separator: "-", omittingEmptySubsequences: false)
    guard ends.count == 2, let first = Int(ends[0]), let last = Int(ends[1]), let length = Int(halves[1]),
        first <= last, last < Int.max
    else { return nil }
    return (first..<(last + 1), length)
}

/// The body as sent is read within `maxFields`; and its lines, taken as name, value, name, …
/// and encoded as a browser encodes a form, read back as exactly those fields (the first of
/// a repeated name, at most `maxFields`).
func checkForm(_ text: String) {
    let fields = FormFields.parse(text)
    precondition(fields.count <= FormFields.maxFields)
    precondition(FormFields.parse(text) == fields, "not deterministic")

    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var expected: [String: String] = [:]
    var pairs: [String] = []
    for index in stride(from: 0, to: lines.count - 1, by: 2) where pairs.count < FormFields.maxFields {
        let (name, value) = (lines[index], lines[index + 1])
        if expected[name] == nil { expected[name] = value }
        pairs.append(formEncoded(name) + "=" + formEncoded(value))
    }
    let read = FormFields.parse(pairs.joined(separator: "&"))
    precondition(read == expected, "form fields \(expected) were read back as \(read)")
}

/// WHATWG URL §5.2's application/x-www-form-urlencoded serializer: bytes outside
/// `*-._0-9A-Za-z` as `%XX`, a space as `+`.
func formEncoded(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: " "): out += "+"
        case UInt8(ascii: "*"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let hex = Array("0123456789ABCDEF".utf8)
            out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
        }
    }
    return out
}
