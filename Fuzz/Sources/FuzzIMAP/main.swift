import MailvoxIMAPCore
import MailvoxIMAPTesting
import NIOCore

/// libFuzzer entry: any bytes through the IMAP command parser, whole and split in two at a point
/// the input chooses, in a mode the input chooses. The two must agree; every command parsed must
/// survive `parse(encode(command)) == command`; the parser's buffer must stay within its limits.
/// A `ParseError` is the expected answer to most inputs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIMAP(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let control = bytes.first else { return 0 }
    let input = Array(bytes.dropFirst())
    let limits = ParserLimits(maxLineLength: 512, maxLiteralSize: 4096, maxNestingDepth: 12)
    let split = input.isEmpty ? 0 : Int(control) % (input.count + 1)

    /// Each event with the name encoding its command was read in.
    func run(_ chunks: [ArraySlice<UInt8>]) -> [(ParserEvent, NameEncoding)] {
        var parser = CommandParser(limits: limits)
        var events: [(ParserEvent, NameEncoding)] = []
        for chunk in chunks {
            parser.append(chunk)
            while let event = parser.next() {
                events.append((event, parser.names))
                // Let the input exercise IDLE and AUTHENTICATE continuation lines too, and UTF-8
                // names after an ENABLE that turns them on, as the session does.
                if case .command(let tagged) = event {
                    if tagged.command == .idle { parser.mode = .idle }
                    if case .authenticate(_, nil) = tagged.command { parser.mode = .authentication }
                    if case .enable(let capabilities) = tagged.command,
                        capabilities.contains(where: { ["UTF8=ACCEPT", "IMAP4REV2"].contains($0.uppercased()) })
                    {
                        parser.names = .utf8
                    }
                }
            }
            precondition(parser.bufferedByteCount <= limits.maxCommandSize + chunk.count + 2)
        }
        return events
    }

    let whole = run([input[...]])
    let parts = run([input[..<split], input[split...]])
    precondition(whole.map(\.0) == parts.map(\.0), "split at \(split) changed the events")

    for case (.command(let tagged), let names) in whole {
        for style in [CommandEncoder.LiteralStyle.nonSynchronising, .synchronising] {
            let encoded = Array(CommandEncoder.encode(tagged, literals: style, names: names).readableBytesView)
            var parser = CommandParser(limits: ParserLimits(maxLineLength: 1 << 20, maxLiteralSize: 1 << 20))
            parser.names = names
            parser.append(encoded)
            var reparsed: ParserEvent? = parser.next()
            while reparsed == .continuationRequest { reparsed = parser.next() }
            precondition(reparsed == .command(tagged), "round trip failed: \(String(decoding: encoded, as: UTF8.self))")
        }
    }
    return 0
}
