import MailvoxCore
import NIOCore
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

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

    /// Before login a literal is held to 8 KiB, whatever `max_message_bytes` is: a `{n}` over it
    /// is refused without `+` and the next line is a new command; a `{n+}` over it is BYE.
    @Test func literalsBeforeLoginAreSmall() {
        let limit = ParserLimits.literalLimitBeforeLogin
        #expect(limit == 8192)
        let refused = events("a LOGIN {\(limit + 1)}\r\nb NOOP\r\n", loggedIn: false)
        #expect(
            refused == [
                .error(
                    ParseError(
                        tag: "a", disposition: .no, code: .tooBig,
                        text: "Literal too large before login (limit 8192 octets)")),
                .command(TaggedCommand(tag: "b", command: .noop)),
            ])
        let huge = events("a LOGIN {52428800}\r\n", loggedIn: false)
        #expect(error(of: huge)?.disposition == .no)
        #expect(!huge.contains(.continuationRequest))
        // Up to the limit it is a literal like any other.
        #expect(events("a LOGIN {\(limit)}\r\n", loggedIn: false) == [.continuationRequest])
        let password = String(repeating: "p", count: 5000)
        #expect(
            events("a LOGIN bob {5000+}\r\n\(password)\r\n", loggedIn: false) == [
                .command(TaggedCommand(tag: "a", command: .login(username: "bob", password: password)))
            ])
        // After login the configured limit applies again (APPEND's message is a literal).
        #expect(events("a APPEND INBOX {52428800}\r\n", loggedIn: true) == [.continuationRequest])
    }

    @Test func nonSynchronisingLiteralBeforeLoginIsByeAndNothingIsBuffered() {
        var parser = CommandParser()
        parser.append(Array("a LOGIN bob {1000000+}\r\n".utf8))
        let result = parser.next()
        guard case .error(let failure) = result else {
            Issue.record("expected an error, got \(String(describing: result))")
            return
        }
        #expect(failure.disposition == .bye)
        #expect(failure.code == .tooBig)
        #expect(failure.response == .untagged(.condition(StatusResponse(.bye, code: .tooBig, text: failure.text))))
        #expect(parser.isClosed)
        parser.append([UInt8](repeating: UInt8(ascii: "x"), count: 100_000))
        #expect(parser.bufferedByteCount == 0)
    }

    /// Many literals each under the pre-login limit cannot add up to a big command either.
    @Test func commandsBeforeLoginAreSmallToo() {
        var text = "a LOGIN"
        for _ in 0..<64 { text += " {8000+}\r\n" + String(repeating: "z", count: 8000) }
        let result = events(text + "\r\n", loggedIn: false)
        #expect(error(of: result)?.code == .tooBig)
        #expect(error(of: result)?.disposition == .bye)
        #expect(ParserLimits().maxCommandSizeBeforeLogin < 300_000)
    }

    /// The parser of a session that logs in switches to the configured limit for the next command.
    @Test func loggingInRaisesTheLimitForTheNextCommand() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        var harness = SessionHarness(authenticator: authenticator)
        _ = try await harness.greet()
        let before = try await harness.send("a LOGIN {9000}")
        #expect(before.lines == ["a NO [TOOBIG] Literal too large before login (limit 8192 octets)"])
        try await harness.send("b LOGIN 1000 secret")
        #expect(try await harness.send("c APPEND INBOX {9000}").lines == ["+ Ready for literal data"])
    }

    @Test func truncatedInputYieldsNothingUntilComplete() {
        let input = Array("a1 LOGIN {3+}\r\nbob {6+}\r\nsecret\r\n".utf8)
        for cut in 0..<(input.count - 1) {
            #expect(events(Array(input[..<cut])).isEmpty, "cut \(cut)")
        }
    }
}
