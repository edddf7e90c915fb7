import Foundation
import MailvoxCore
import MailvoxIMAPTesting
import MailvoxStoreTesting
import NIOCore
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

/// BINARY (RFC 3516): a phone fetches a voicemail's audio as the bytes the pipeline stored, not
/// as base64 a third larger; BINARY.SIZE says how many; APPEND takes a literal8 with NULs.
@Suite struct BinaryTests {
    /// The audio of `Fixture.message`'s base64 part (an ID3 header: NULs among its octets).
    static let fixtureAudio = Array(
        Data(base64Encoded: "SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4LjI5LjEwMAAAAAAAAAAAAAAA")!)

    /// A voicemail as the pipeline writes one: text, then the audio base64 in 76-column lines.
    static func voicemail(audio: [UInt8], encoding: String = "base64", encodedAudio: String? = nil) -> [UInt8] {
        let body =
            encodedAudio
            ?? Data(audio).base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
        let text = """
            From: "Caller" <+4930123456@localhost>
            To: "Owner" <owner@example.com>
            Subject: Voicemail from +4930123456
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="b1"

            --b1
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: quoted-printable

            Caf=C3=A9 call, =
            3 seconds
            --b1
            Content-Type: audio/mpeg
            Content-Transfer-Encoding: \(encoding)
            Content-Disposition: attachment; filename="voicemail.mp3"

            \(body)
            --b1--

            """
        return Array(text.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: "\r\n").utf8)
    }

    /// Audio-like octets from a fixed seed, NULs among them.
    static func noise(_ count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { index in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return index % 97 == 0 ? 0 : UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    static func selected(with messages: [[UInt8]]) async throws -> (SessionHarness, InMemoryMailStore) {
        let (authenticator, store) = try await Fixture.setUp(messages: 0)
        for message in messages { try await store.deliver(message) }
        var harness = try await Fixture.loggedIn(authenticator)
        try await harness.send("b SELECT INBOX")
        return (harness, store)
    }

    // MARK: FETCH BINARY

    @Test func binaryOfTheBase64PartIsTheAudioAsALiteral8() async throws {
        var (harness, _) = try await Fixture.selected()
        let response = try await harness.sendBytes("c FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[2])")
        let audio = try #require(literal(after: "BINARY[2] ", in: response))
        #expect(audio.bytes == Self.fixtureAudio)
        #expect(audio.literal8, "audio holding NUL must be a literal8")
        #expect(String(decoding: response, as: UTF8.self).contains("BINARY.SIZE[2] \(Self.fixtureAudio.count) "))
        #expect(String(decoding: response, as: UTF8.self).hasSuffix("c OK FETCH completed\r\n"))
    }

    /// The issue's test: audio of real size, streamed in pieces, byte-identical to what was stored.
    @Test func voicemailAudioComesBackByteIdentical() async throws {
        let audio = Self.noise(300_000)
        var (harness, _) = try await Self.selected(with: [Self.voicemail(audio: audio)])
        let response = try await harness.sendBytes("c UID FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[2])")
        let fetched = try #require(literal(after: "BINARY[2] ", in: response))
        #expect(fetched.bytes == audio)
        #expect(fetched.literal8)
        #expect(String(decoding: response, as: UTF8.self).contains("BINARY.SIZE[2] 300000 "))
        // The base64 the message holds is a third larger than what BINARY sent.
        let encoded = try #require(
            literal(after: "BODY[2] ", in: try await harness.sendBytes("d FETCH 1 BODY.PEEK[2]")))
        #expect(encoded.bytes.count > audio.count * 4 / 3)
    }

    @Test func textWithoutNULIsAnOrdinaryLiteralAndQuotedPrintableIsDecoded() async throws {
        var (harness, _) = try await Self.selected(with: [Self.voicemail(audio: [1, 2, 3])])
        let response = try await harness.sendBytes("c FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])")
        let text = try #require(literal(after: "BINARY[1] ", in: response))
        #expect(!text.literal8)
        #expect(text.bytes == Array("Café call, 3 seconds".utf8))
        #expect(String(decoding: response, as: UTF8.self).contains("BINARY.SIZE[1] \(text.bytes.count))"))
    }

    @Test func peekLeavesSeenAloneAndBinarySetsIt() async throws {
        var (harness, _) = try await Fixture.selected()
        _ = try await harness.sendBytes("c FETCH 1 BINARY.PEEK[2]")
        _ = try await harness.sendBytes("d FETCH 1 BINARY.SIZE[2]")
        #expect(try await harness.send("e FETCH 1 FLAGS").lines.first == "* 1 FETCH (FLAGS ())")
        let response = String(decoding: try await harness.sendBytes("f FETCH 1 BINARY[2]"), as: UTF8.self)
        #expect(response.contains("FLAGS (\\Seen))"))
        #expect(try await harness.send("g FETCH 1 FLAGS").lines.first == "* 1 FETCH (FLAGS (\\Seen))")
    }

    @Test func partialCountsDecodedOctets() async throws {
        var (harness, _) = try await Fixture.selected()
        let response = try await harness.sendBytes("c FETCH 1 BINARY.PEEK[2]<4.10>")
        let part = try #require(literal(after: "BINARY[2]<4> ", in: response))
        #expect(part.bytes == Array(Self.fixtureAudio[4..<14]))
        let past = try #require(
            literal(after: "BINARY[2]<1000> ", in: try await harness.sendBytes("d FETCH 1 BINARY.PEEK[2]<1000.5>")))
        #expect(past.bytes.isEmpty)
        let tail = try #require(
            literal(after: "BINARY[2]<40> ", in: try await harness.sendBytes("e FETCH 1 BINARY.PEEK[2]<40.100>")))
        #expect(tail.bytes == Array(Self.fixtureAudio[40...]))
    }

    @Test func unknownTransferEncodingIsNoUnknownCTEAndOthersAreStillAnswered() async throws {
        let uuencoded = Self.voicemail(audio: [], encoding: "x-uuencode", encodedAudio: "begin 644 a\r\n`\r\nend")
        var (harness, _) = try await Self.selected(with: [uuencoded, Self.voicemail(audio: [7, 0, 7])])
        let lines = try await harness.send("c FETCH 1:2 BINARY.SIZE[2]").lines
        #expect(lines.first == "* 2 FETCH (BINARY.SIZE[2] 3)")
        #expect(lines.last?.hasPrefix("c NO [UNKNOWN-CTE] ") == true)
        #expect(lines.count == 2)
        // Refused before \Seen is set: the message whose part could not be sent stays unseen.
        #expect(try await harness.send("d FETCH 1 BINARY[2]").lines.last?.hasPrefix("d NO [UNKNOWN-CTE]") == true)
        #expect(try await harness.send("e FETCH 1 FLAGS").lines.first?.contains("\\Seen") == false)
        // Its text part decodes, and BODY[2] still gives the client the encoded part.
        #expect(try await harness.send("f FETCH 1 BINARY.PEEK[1]").lines.last == "f OK FETCH completed")
        #expect(try await harness.send("g FETCH 1 BODY.PEEK[2]").lines.last == "g OK FETCH completed")
    }

    @Test func binaryIsForLeafPartsAndWholeSinglePartMessages() async throws {
        let single = Array(
            "Subject: memo\r\nContent-Type: audio/basic\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC/w==\r\n".utf8)
        var (harness, _) = try await Self.selected(with: [Fixture.message(), single])
        #expect(try await harness.send("c FETCH 1 BINARY.PEEK[]").lines.last?.hasPrefix("c NO [CANNOT] ") == true)
        #expect(try await harness.send("d FETCH 1 BINARY.SIZE[]").lines.last?.hasPrefix("d NO [CANNOT] ") == true)
        let body = try #require(
            literal(after: "BINARY[1] ", in: try await harness.sendBytes("e FETCH 2 BINARY.PEEK[1]")))
        #expect(body.bytes == [0, 1, 2, 255])
        // The whole message: its header says what the body now is.
        let whole = try #require(
            literal(after: "BINARY[] ", in: try await harness.sendBytes("f FETCH 2 BINARY.PEEK[]")))
        #expect(
            whole.bytes == Array(
                "Subject: memo\r\nContent-Type: audio/basic\r\nContent-Transfer-Encoding: binary\r\n\r\n".utf8) + [
                    0, 1, 2, 255,
                ])
        #expect(
            String(decoding: try await harness.sendBytes("g FETCH 2 BINARY.SIZE[]"), as: UTF8.self).contains(
                "BINARY.SIZE[] \(whole.bytes.count))"))
        // Part numbers that name nothing are empty, as BODY[…] is.
        #expect(try await harness.send("h FETCH 2 BINARY.SIZE[3]").lines.first == "* 2 FETCH (BINARY.SIZE[3] 0)")
    }

    @Test func encapsulatedMessageIsNotALeafButItsPartsAre() async throws {
        let inner = "Subject: inner\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n"
        let outer = Array(
            ("Subject: outer\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n"
                + "a\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "--x--\r\n").utf8)
        var (harness, _) = try await Self.selected(with: [outer])
        #expect(try await harness.send("c FETCH 1 BINARY.PEEK[2]").lines.last?.hasPrefix("c NO [CANNOT] ") == true)
        let text = try #require(
            literal(after: "BINARY[2.1] ", in: try await harness.sendBytes("d FETCH 1 BINARY.PEEK[2.1]")))
        #expect(text.bytes == Array("hi".utf8))
    }

    // MARK: APPEND with literal8

    @Test func appendWithLiteral8HoldingNULIsStoredAndFetchedBack() async throws {
        let (authenticator, _) = try await Fixture.setUp(messages: 0)
        var harness = try await Fixture.loggedIn(authenticator)
        let payload: [UInt8] = [0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x41, 0x56, 0x45, 0, 0xFF]
        let message =
            Array("Subject: binary memo\r\nContent-Type: audio/wav\r\nContent-Transfer-Encoding: binary\r\n\r\n".utf8)
            + payload
        let appended = String(
            decoding: try await harness.sendBytes(
                Array("c APPEND INBOX ~{\(message.count)}\r\n".utf8) + message + [13, 10]),
            as: UTF8.self)
        #expect(appended.hasPrefix("+ "))
        #expect(appended.contains("c OK [APPENDUID "))
        try await harness.send("d SELECT INBOX")
        let part = try #require(
            literal(after: "BINARY[1] ", in: try await harness.sendBytes("e FETCH 1 BINARY.PEEK[1]")))
        #expect(part.bytes == payload)
        #expect(part.literal8)
        let whole = try #require(
            literal(after: "BINARY[] ", in: try await harness.sendBytes("f FETCH 1 BINARY.PEEK[]")))
        #expect(whole.bytes == message)
        // A non-synchronising literal8 (RFC 7888 with RFC 3516) is taken too.
        let again = String(
            decoding: try await harness.sendBytes(
                Array("g APPEND INBOX ~{\(message.count)+}\r\n".utf8) + message + [13, 10]),
            as: UTF8.self)
        #expect(again.contains("g OK [APPENDUID "))
        #expect(!again.hasPrefix("+"))
    }

    @Test func literal8BeforeLoginOrOutsideAppendIsBad() async throws {
        let (authenticator, _) = try await Fixture.setUp(messages: 1)
        var harness = SessionHarness(authenticator: authenticator)
        _ = try await harness.greet()
        #expect(try await harness.send("a APPEND INBOX ~{5}\r\nhe\0lo").lines.last == "a BAD Log in first")
        #expect(try await harness.send("b LOGIN ~{4}\r\n1000 secret").lines.last?.hasPrefix("b BAD") == true)
        #expect(try await harness.send("c LOGIN 1000 secret").lines.last?.hasPrefix("c OK") == true)
        #expect(try await harness.send("d SELECT ~{5}\r\nINBOX").lines.last?.hasPrefix("d BAD") == true)
        #expect(try await harness.send("e APPEND INBOX ~ {5}\r\nhello").lines.last?.hasPrefix("e BAD") == true)
        #expect(try await harness.send("f APPEND INBOX ~{5x}").lines.last?.hasPrefix("f BAD") == true)
        #expect(try await harness.send("g APPEND INBOX ~~{5}\r\nhello").lines.last?.hasPrefix("g BAD") == true)
        #expect(try await harness.send("h NOOP").lines.last == "h OK NOOP completed")
        let capabilities = try await harness.send("i CAPABILITY").lines.first ?? ""
        #expect(capabilities.contains(" BINARY "))
    }

    // MARK: Grammar and encoding

    @Test func binaryFetchAttributesParse() {
        #expect(
            command("a FETCH 1 (BINARY[1.2]<0.100> BINARY.PEEK[] BINARY.SIZE[3] binary.peek[2])\r\n")
                == .fetch(
                    FetchCommand(
                        set: SequenceSet([SequenceRange(1)])!,
                        attributes: [
                            .binary(
                                part: [1, 2], partial: SectionSpecifier.Partial(offset: 0, length: 100), peek: false),
                            .binary(part: [], partial: nil, peek: true), .binarySize(part: [3]),
                            .binary(part: [2], partial: nil, peek: true),
                        ])))
        #expect(
            command("a UID FETCH 1:* BINARY.SIZE[1]\r\n")
                == .fetch(
                    FetchCommand(
                        byUID: true, set: SequenceSet([SequenceRange(.number(1), .last)])!,
                        attributes: [.binarySize(part: [1])])))
        #expect(FetchAttribute.binary(part: [2], partial: nil, peek: false).setsSeen)
        #expect(!FetchAttribute.binary(part: [2], partial: nil, peek: true).setsSeen)
        #expect(!FetchAttribute.binarySize(part: [2]).setsSeen)
    }

    @Test(arguments: [
        "a FETCH 1 BINARY[HEADER]", "a FETCH 1 BINARY[1.MIME]", "a FETCH 1 BINARY[0]", "a FETCH 1 BINARY[1.]",
        "a FETCH 1 BINARY.SIZE[1]<0.5>", "a FETCH 1 BINARY.PEEK", "a FETCH 1 BINARY.SIZE", "a FETCH 1 BINARY[1]<0.0>",
        "a FETCH 1 BINARY.PEEK [1]", "a FETCH 1 BINARY.FOO[1]",
    ])
    func malformedBinaryIsBad(_ text: String) {
        let error = error(of: events(text + "\r\n"))
        #expect(error?.disposition == .bad, "\(text)")
    }

    @Test func appendLiteral8Parses() throws {
        let result = events("a APPEND INBOX (\\Seen) ~{3}\r\na\0b\r\n").filter { $0 != .continuationRequest }
        guard result.count == 1, case .command(let tagged) = result[0], case .append(let append) = tagged.command else {
            Issue.record("\(result)")
            return
        }
        #expect(append.messages.count == 1 && append.messages[0].isLiteral8)
        #expect(Array(append.messages[0].message.readableBytesView) == [0x61, 0, 0x62])
        #expect(append.messages[0].flags == [.seen])
        guard case .append(let plain) = command("a APPEND INBOX {1+}\r\nx\r\n") else { return }
        #expect(plain.messages.allSatisfy { !$0.isLiteral8 })
    }

    @Test func binaryCommandsRoundTrip() {
        let commands: [Command] = [
            .fetch(
                FetchCommand(
                    byUID: true, set: SequenceSet([SequenceRange(1...3)])!,
                    attributes: [
                        .binary(part: [], partial: nil, peek: false), .binary(part: [2, 1], partial: nil, peek: true),
                        .binary(part: [2], partial: SectionSpecifier.Partial(offset: 7, length: 9), peek: false),
                        .binarySize(part: []), .binarySize(part: [4, 1, 2]),
                    ])),
            .append(
                AppendCommand(mailbox: .inbox, message: ByteBuffer(bytes: [0, 1, 0x0D, 0x0A, 0]), isLiteral8: true)),
            .append(AppendCommand(mailbox: .inbox, flags: [.seen], message: ByteBuffer(bytes: []), isLiteral8: true)),
        ]
        for command in commands {
            for style in [CommandEncoder.LiteralStyle.nonSynchronising, .synchronising] {
                let tagged = TaggedCommand(tag: "t1", command: command)
                let encoded = Array(CommandEncoder.encode(tagged, literals: style).readableBytesView)
                let parsed = events(encoded).filter { $0 != .continuationRequest }
                #expect(parsed == [.command(tagged)], "\(String(decoding: encoded, as: UTF8.self))")
            }
        }
    }

    @Test func binaryResponsesEncode() {
        #expect(
            wire(
                .untagged(
                    .fetch(
                        sequenceNumber: 1,
                        [
                            .binarySize(part: [2], 3),
                            .literal(.binary(part: [2], origin: nil), ByteBuffer(bytes: [0x61, 0, 0x62])),
                        ]))) == "* 1 FETCH (BINARY.SIZE[2] 3 BINARY[2] ~{3}\r\na\0b)\r\n")
        #expect(
            wire(
                .untagged(
                    .fetch(sequenceNumber: 2, [.literal(.binary(part: [1, 2], origin: 5), ByteBuffer(string: "é"))])))
                == "* 2 FETCH (BINARY[1.2]<5> {2}\r\né)\r\n")
        #expect(
            wire(.untagged(.fetch(sequenceNumber: 3, [.binarySize(part: [], 0)]))) == "* 3 FETCH (BINARY.SIZE[] 0)\r\n")
        #expect(
            wire(.tagged(tag: "a", StatusResponse(.no, code: .unknownCTE, text: "Cannot decode")))
                == "a NO [UNKNOWN-CTE] Cannot decode\r\n")
        // BODY[…] content keeps the ordinary literal whatever it holds (literal8 is BINARY's).
        #expect(
            wire(
                .untagged(
                    .fetch(
                        sequenceNumber: 1, [.literal(.section(SectionSpecifier(), origin: nil), ByteBuffer(bytes: [0]))]
                    )))
                == "* 1 FETCH (BODY[] {1}\r\n\0)\r\n")
    }

    // MARK: Transfer decoding

    @Test func transferDecodingUndoesBase64AndQuotedPrintable() {
        #expect(TransferDecoding.decode(ArraySlice("AAEC\r\n/w==\r\n".utf8), encoding: "base64") == [0, 1, 2, 255])
        // A final group without its padding still yields its octets; `=` ends the data.
        #expect(TransferDecoding.decode(ArraySlice("AAEC/w".utf8), encoding: "base64") == [0, 1, 2, 255])
        #expect(TransferDecoding.decode(ArraySlice("aGk=aGk=".utf8), encoding: "base64") == Array("hi".utf8))
        #expect(
            TransferDecoding.decode(
                ArraySlice("a=3D=c3=A9  \r\nsoft=\r\nbreak =\nend=4".utf8), encoding: "quoted-printable")
                == Array("a=é\r\nsoftbreak end=4".utf8))
        #expect(TransferDecoding.decode(ArraySlice("=ZZ=\r\n".utf8), encoding: "quoted-printable") == Array("=ZZ".utf8))
        #expect(TransferDecoding.decode([0, 1][...], encoding: "binary") == [0, 1])
        #expect(TransferDecoding.decode([0, 1][...], encoding: "x-uuencode") == nil)
        #expect(TransferDecoding.canonicalLineBreaks(Array("a\nb\r\nc\n".utf8)) == Array("a\r\nb\r\nc\r\n".utf8))
    }

    // MARK: A real client

    /// Python's imaplib and email APPEND a voicemail with speech audio made now, base64 in the
    /// message, and FETCH BINARY.PEEK[2] must be byte-identical to the audio file.
    @Test func imaplibFetchesTheAudioByteIdentical() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mailvox-binary-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let wav = directory.appendingPathComponent("speech.wav").path
        let mp3 = directory.appendingPathComponent("voicemail.mp3").path
        let speak = try await Programs.run("/usr/bin/espeak-ng", ["-w", wav, "Please call me back about the invoice."])
        try #require(speak.status == 0, "\(speak.error)")
        let encode = try await Programs.run("/usr/bin/lame", ["--quiet", wav, mp3])
        try #require(encode.status == 0, "\(encode.error)")

        let (authenticator, _) = try await Fixture.setUp(messages: 0)
        let server = try await RunningServer.start(authenticator: authenticator)
        let result = try await Programs.python(
            "binary_fetch.py", ["127.0.0.1", "\(server.tlsPort)", server.certificate, "1000", "secret", mp3])
        await server.stop()
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("PASS"))
    }
}

extension SessionHarness {
    /// Sends `bytes` as they are and returns what the server wrote, octet for octet (`send`
    /// decodes it as UTF-8, which a literal8 is not).
    mutating func sendBytes(_ bytes: [UInt8]) async throws -> [UInt8] {
        parser.append(bytes)
        while let event = parser.next() {
            let action = try await session.handle(event)
            parser.mode = session.parserMode
            parser.loggedIn = session.isLoggedIn
            if action == .close {
                closed = true
                break
            }
        }
        let written = await sink.bytes
        _ = await sink.take()
        return written
    }

    mutating func sendBytes(_ text: String) async throws -> [UInt8] {
        try await sendBytes(Array((text.hasSuffix("\r\n") ? text : text + "\r\n").utf8))
    }
}

/// The octets of the literal after `marker` (`marker{n}` or `marker~{n}`, then CRLF) in a response,
/// and whether it was a literal8.
func literal(after marker: String, in response: [UInt8]) -> (bytes: [UInt8], literal8: Bool)? {
    let pattern = Array(marker.utf8)
    guard pattern.count <= response.count,
        let start = (0...(response.count - pattern.count)).first(where: {
            Array(response[$0..<($0 + pattern.count)]) == pattern
        })
    else { return nil }
    var index = start + pattern.count
    let literal8 = index < response.count && response[index] == UInt8(ascii: "~")
    if literal8 { index += 1 }
    guard index < response.count, response[index] == UInt8(ascii: "{") else { return nil }
    guard let close = response[index...].firstIndex(of: UInt8(ascii: "}")),
        let count = Int(String(decoding: response[(index + 1)..<close], as: UTF8.self)),
        close + 3 + count <= response.count
    else { return nil }
    let dataStart = close + 3
    return (Array(response[dataStart..<(dataStart + count)]), literal8)
}
