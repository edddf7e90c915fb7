import MailvoxCore

/// libFuzzer entry for the web inbox's `Range` reader (`ByteRangeRequest`), which every audio
/// request of a browser goes through. Byte 0 picks how the representation's length is read
/// from bytes 1–8 (empty, small, MP3-sized, near `Int.max`); the rest is the header's value.
/// A partial answer must lie inside `0..<length` and be non-empty; its `Content-Range` must
/// read back as the same bytes and length; asking again for exactly those bytes must give the
/// same answer. The `application/x-www-form-urlencoded` reader (`FormFields`) is internal to
/// MailvoxWeb, which this package does not compile, so it is not fuzzed here.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebRange(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard bytes.count >= 9 else { return 0 }
    var raw: UInt64 = 0
    for byte in bytes[1..<9].reversed() { raw = raw << 8 | UInt64(byte) }
    let length: Int =
        switch bytes[0] % 6 {
        case 0: 0
        case 1: Int(raw & 0xFF)
        case 2: Int(raw & 0xFFFF)
        case 3: Int(raw & 0x3FF_FFFF)
        case 4: Int.max - Int(raw & 0xFFFF)
        default: Int(raw & UInt64(Int.max))
        }
    let header = String(decoding: bytes[9...], as: UTF8.self)
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
    return 0
}

/// `bytes FIRST-LAST/LENGTH` (RFC 9110 §14.4), read independently of the code under test.
func readContentRange(_ text: String) -> (range: Range<Int>, length: Int)? {
    guard text.hasPrefix("bytes ") else { return nil }
    let rest = text.dropFirst(6)
    let halves = rest.split(separator: "/", omittingEmptySubsequences: false)
    guard halves.count == 2 else { return nil }
    let ends = halves[0].split(separator: "-", omittingEmptySubsequences: false)
    guard ends.count == 2, let first = Int(ends[0]), let last = Int(ends[1]), let length = Int(halves[1]),
        first <= last, last < Int.max
    else { return nil }
    return (first..<(last + 1), length)
}
