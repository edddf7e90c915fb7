import MailvoxCore
import NIOCore
import Testing

@testable import MailvoxIMAP

@Suite struct HostileInputTests {
    let small = ParserLimits(maxLineLength: 100, maxLiteralSize: 1000, maxNestingDepth: 8)

    @Test func overlongLineIsByeLimitWithoutBufferingIt() {
        var parser = CommandParser(limits: small)
        parser.append(Array("a1 NOOP ".utf8))
        var result: ParserEvent?
        // A line that never ends: the parser must give up once it passes the limit, not keep buffering.
        for _ in 0..<100 {
            parser.append([UInt8](repeating: UInt8(ascii: "x"), count: 50))
            if let event = parser.next() {
                result = event
                break
            }
            #expect(parser.bufferedByteCount <= 200)
        }
        #expect(
            result
                == .error(ParseError(tag: "a1", disposition: .bye, code: .limit, text: "Line longer than 100 octets")))
        #expect(parser.isClosed)
        parser.append(Array("a2 NOOP\r\n".utf8))
        #expect(parser.next() == nil)
        #expect(parser.bufferedByteCount == 0)
    }

    @Test func completeOverlongLineIsByeToo() {
        let line = "a1 LOGIN " + String(repeating: "u", count: 200) + " p\r\n"
        #expect(error(of: events(line, limits: small))?.disposition == .bye)
    }

    @Test func hugeSynchronisingLiteralIsRefusedAndTheNextCommandStillParses() {
        let result = events("a1 APPEND INBOX {99999999999999999999999}\r\na2 NOOP\r\n", limits: small)
        #expect(
            result == [
                .error(
                    ParseError(
                        tag: "a1", disposition: .no, code: .tooBig, text: "Literal too large (limit 1000 octets)")),
                .command(TaggedCommand(tag: "a2", command: .noop)),
            ])
        #expect(error(of: events("a1 APPEND INBOX {1001}\r\n", limits: small))?.code == .tooBig)
    }

    @Test func hugeNonSynchronisingLiteralIsByeTooBig() {
        let result = events("a1 APPEND INBOX {5000+}\r\nxxxxxx", limits: small)
        #expect(result.count == 1)
        #expect(error(of: result)?.disposition == .bye)
        #expect(error(of: result)?.code == .tooBig)
    }

    @Test func manyLiteralsCannotExceedTheCommandSize() {
        let limits = ParserLimits(maxLineLength: 100, maxLiteralSize: 1000, maxCommandSize: 2500)
        var text = "a1 SEARCH"
        for _ in 0..<5 { text += " TEXT {900+}\r\n" + String(repeating: "z", count: 900) }
        let result = events(text + "\r\n", limits: limits)
        #expect(error(of: result)?.code == .tooBig)
        #expect(error(of: result)?.disposition == .bye)
    }

    @Test func deepNestingIsBadLimit() {
        let deep = "a1 SEARCH " + String(repeating: "(", count: 20) + "ALL" + String(repeating: ")", count: 20) + "\r\n"
        let result = events(deep + "a2 NOOP\r\n", limits: small)
        #expect(result.count == 2)
        #expect(error(of: result)?.code == .limit)
        #expect(error(of: result)?.tag == "a1")
        let nots = "a1 SEARCH " + String(repeating: "NOT ", count: 50) + "SEEN\r\n"
        #expect(error(of: events(nots, limits: small))?.code == .limit)
        let within = "a1 SEARCH " + String(repeating: "(", count: 7) + "ALL" + String(repeating: ")", count: 7) + "\r\n"
        guard case .command = events(within, limits: small).first else {
            Issue.record("nesting within the limit must parse")
            return
        }
    }

    @Test func randomBytesNeverCrashAndStayBounded() {
        var generator = SplitMix64(seed: 0x5EED)
        let alphabet = Array(
            "a1 UID FETCH SEARCH (){}[]<>+-*:,.\"\\\r\n 0123456789 NOT OR BODY.PEEK HEADER\u{0}\u{FF}".utf8)
        for _ in 0..<2000 {
            let count = Int(generator.next() % 300)
            var bytes: [UInt8] = []
            for _ in 0..<count {
                bytes.append(
                    generator.next() % 4 == 0
                        ? UInt8(truncatingIfNeeded: generator.next())
                        : alphabet[Int(generator.next() % UInt64(alphabet.count))])
            }
            let whole = events(bytes, limits: small)
            #expect(events(bytes, chunk: 7, limits: small) == whole)
        }
    }

    @Test func truncatedInputYieldsNothingUntilComplete() {
        let input = Array("a1 LOGIN {3+}\r\nbob {6+}\r\nsecret\r\n".utf8)
        for cut in 0..<(input.count - 1) {
            #expect(events(Array(input[..<cut])).isEmpty, "cut \(cut)")
        }
    }
}

/// A small deterministic generator so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
