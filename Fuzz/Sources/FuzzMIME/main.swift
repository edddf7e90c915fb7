import MailvoxCore
import MailvoxMIME

/// libFuzzer entry: any bytes through the limits check, libetpan and the tree walk, then every
/// kind of section fetch over the result. A crash, leak or sanitizer report is a bug; a
/// `MessageParseError` is the expected answer to most inputs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIME(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    let limits = MessageLimits(maxBytes: 1 << 20, maxHeaderFields: 200, maxDepth: 16, maxParts: 200)
    guard let parsed = try? MessageParser.parse(bytes, limits: limits) else { return 0 }
    precondition(parsed.size == bytes.count)
    let sections = [
        "", "HEADER", "TEXT", "1", "1.MIME", "1.1", "2.HEADER", "2.TEXT", "1.2.MIME", "HEADER.FIELDS (From To)",
        "HEADER.FIELDS.NOT (Subject)", "2.1.HEADER.FIELDS (Subject)", "1<3.7>",
    ]
    for text in sections {
        guard let section = SectionSpecifier(text) else { preconditionFailure("bad section \(text)") }
        if let result = parsed.section(section, of: bytes) {
            precondition(section.partial == nil || result.count <= section.partial!.length)
        }
    }
    return 0
}
