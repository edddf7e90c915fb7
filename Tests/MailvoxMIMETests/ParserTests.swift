import Foundation
import MailvoxCore
import Testing

@testable import MailvoxMIME

@Suite struct ParserTests {
    static func crlf(_ text: String) -> [UInt8] { Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8) }

    static let nested = crlf(
        """
        From: "Ann Example" <ann@example.com>, Group: bob@example.com, carl@example.com;
        To: undisclosed-recipients:;
        Subject: =?utf-8?Q?Gr=C3=BC=C3=9Fe?= and
         more
        Date: Fri, 05 Jan 2024 14:32:07 +0100
        Message-ID: <abc@example.com>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="outer"

        preamble
        --outer
        Content-Type: text/plain; charset=utf-8
        Content-Language: de, en
        Content-Location: http://example.com/a.txt

        hello
        world
        --outer
        Content-Type: message/rfc822
        Content-Description: forwarded

        From: inner@example.com
        Subject: inner
        Content-Type: multipart/alternative; boundary=inner

        --inner
        Content-Type: text/plain

        inner text
        --inner
        Content-Type: text/html

        <p>inner</p>
        --inner--
        --outer
        Content-Type: application/octet-stream; name="a.bin"
        Content-Transfer-Encoding: base64
        Content-Disposition: attachment; filename="a.bin"; size=3
        Content-ID: <part3@example.com>
        Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==

        AAEC
        --outer--
        epilogue

        """)

    @Test func composedMessageRoundTrips() throws {
        let message = Fixtures.message(urgent: true, formats: [.mp3, .opus])
        let bytes = VoiceMessageComposer.compose(message, seed: 5)
        let parsed = try MessageParser.parse(bytes)
        #expect(parsed.size == bytes.count)
        #expect(
            parsed.envelope.from == [
                .init(name: "=?utf-8?B?SsO8cmdlbiBHcm/Dnw==?=", mailbox: "+4930123456", host: "vm.example.net")
            ])
        #expect(parsed.envelope.sender == parsed.envelope.from)
        #expect(parsed.envelope.to.first?.mailbox == "anna")
        #expect(parsed.envelope.messageID == "<6f1c2d3e-0a1b-4c5d-8e9f-001122334455@vm.example.net>")
        #expect(parsed.envelope.date == "Fri, 05 Jan 2024 14:32:07 +0100")
        guard case .multipart(let mixed) = parsed.body else { Issue.record("not multipart"); return }
        #expect(mixed.subtype == "mixed")
        #expect(mixed.parts.map(\.mediaType) == ["multipart/alternative", "audio/mpeg", "audio/ogg"])
        guard case .single(let opus) = mixed.parts[2] else { Issue.record("not single"); return }
        #expect(opus.parameters.contains(.init("codecs", "opus")))
        #expect(opus.encoding == "base64")
        #expect(
            opus.extensionData.disposition
                == .init(type: "attachment", parameters: [.init("filename", message.attachmentName(for: .opus))]))
        #expect(opus.lines == nil)
        // The audio decodes from its section to the very bytes composed.
        let section = try #require(parsed.section(SectionSpecifier("3")!, of: bytes))
        #expect(section.count == opus.size)
        let decoded = Data(base64Encoded: String(decoding: section, as: UTF8.self), options: .ignoreUnknownCharacters)
        #expect(decoded.map(Array.init) == message.audio[1].bytes)
        let mime = String(decoding: parsed.section(SectionSpecifier("2.MIME")!, of: bytes)!, as: UTF8.self)
        #expect(mime.hasPrefix("Content-Type: audio/mpeg;") && mime.hasSuffix("\r\n\r\n"))
        let text = String(decoding: parsed.section(SectionSpecifier("1.1")!, of: bytes)!, as: UTF8.self)
        #expect(text.hasPrefix("You have a new voicemail."))
    }

    @Test func envelopeOfHandMadeMessage() throws {
        let parsed = try MessageParser.parse(Self.nested)
        let envelope = parsed.envelope
        #expect(envelope.subject == "=?utf-8?Q?Gr=C3=BC=C3=9Fe?= and more")
        #expect(
            envelope.from == [
                .init(name: "Ann Example", mailbox: "ann", host: "example.com"), .groupStart("Group"),
                .init(mailbox: "bob", host: "example.com"), .init(mailbox: "carl", host: "example.com"), .groupEnd,
            ])
        #expect(envelope.to == [.groupStart("undisclosed-recipients"), .groupEnd])
        #expect(envelope.cc.isEmpty && envelope.inReplyTo == nil)
    }

    @Test func bodyStructureOfHandMadeMessage() throws {
        let parsed = try MessageParser.parse(Self.nested)
        guard case .multipart(let mixed) = parsed.body, mixed.parts.count == 3 else {
            Issue.record("structure \(parsed.body)")
            return
        }
        #expect(mixed.parameters == [.init("boundary", "outer")])
        guard case .single(let text) = mixed.parts[0], case .single(let forwarded) = mixed.parts[1],
            case .single(let binary) = mixed.parts[2]
        else { Issue.record("parts"); return }
        #expect(text.size == "hello\r\nworld".utf8.count)
        #expect(text.lines == 1)
        #expect(text.extensionData.language == ["de", "en"])
        #expect(text.extensionData.location == "http://example.com/a.txt")
        #expect(forwarded.type == "message" && forwarded.subtype == "rfc822")
        #expect(forwarded.description == "forwarded")
        #expect(forwarded.message?.envelope.subject == "inner")
        #expect(forwarded.message?.body.mediaType == "multipart/alternative")
        #expect(binary.id == "<part3@example.com>")
        #expect(binary.extensionData.md5 == "Q2hlY2sgSW50ZWdyaXR5IQ==")
        #expect(binary.extensionData.disposition?.parameters == [.init("filename", "a.bin"), .init("size", "3")])
        #expect(binary.size == 4)
    }

    @Test(arguments: [
        ("", "whole"),
        ("HEADER", "header"),
        ("TEXT", "text"),
        ("1", "hello\r\nworld"),
        (
            "1.MIME",
            "Content-Type: text/plain; charset=utf-8\r\nContent-Language: de, en\r\nContent-Location: http://example.com/a.txt\r\n\r\n"
        ),
        (
            "2.HEADER",
            "From: inner@example.com\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n"
        ),
        ("2.HEADER.FIELDS (subject)", "Subject: inner\r\n\r\n"),
        ("2.1", "inner text"),
        ("2.2.MIME", "Content-Type: text/html\r\n\r\n"),
        ("3", "AAEC"),
        ("HEADER.FIELDS (Message-ID To)", "To: undisclosed-recipients:;\r\nMessage-ID: <abc@example.com>\r\n\r\n"),
        ("HEADER.FIELDS (Subject)<0.7>", "Subject"),
        ("1<7.100>", "world"),
        ("1<60.10>", ""),
    ])
    func sections(specifier: String, expected: String) throws {
        let parsed = try MessageParser.parse(Self.nested)
        let section = try #require(SectionSpecifier(specifier))
        let bytes = try #require(parsed.section(section, of: Self.nested))
        let text = String(decoding: bytes, as: UTF8.self)
        switch expected {
        case "whole": #expect(bytes == Self.nested)
        case "header": #expect(text.hasPrefix("From: ") && text.hasSuffix("boundary=\"outer\"\r\n\r\n"))
        case "text": #expect(text.hasPrefix("preamble\r\n--outer\r\n") && text.hasSuffix("epilogue\r\n"))
        default: #expect(text == expected)
        }
    }

    @Test func headerFieldsNotDropsNamedFields() throws {
        let parsed = try MessageParser.parse(Self.nested)
        let text = String(
            decoding: parsed.section(
                SectionSpecifier("HEADER.FIELDS.NOT (From Subject Content-Type)")!, of: Self.nested)!,
            as: UTF8.self)
        #expect(!text.contains("From:") && !text.contains("Subject:") && !text.contains("Content-Type"))
        #expect(text.hasPrefix("To: ") && text.hasSuffix("MIME-Version: 1.0\r\n\r\n"))
    }

    @Test func sectionsThatNameNothing() throws {
        let parsed = try MessageParser.parse(Self.nested)
        for specifier in ["4", "1.1", "1.HEADER", "3.TEXT", "2.3"] {
            #expect(parsed.section(SectionSpecifier(specifier)!, of: Self.nested) == nil, "\(specifier)")
        }
    }

    @Test func sectionSpecifierSyntax() {
        #expect(SectionSpecifier("1.2.MIME") == SectionSpecifier(part: [1, 2], text: .mime))
        #expect(
            SectionSpecifier("header.fields (From \"To\")") == SectionSpecifier(text: .headerFields(["From", "To"])))
        #expect(SectionSpecifier("TEXT<0.10>") == SectionSpecifier(text: .text, partial: .init(offset: 0, length: 10)))
        #expect(SectionSpecifier("2.HEADER.FIELDS.NOT (X-A)")?.description == "2.HEADER.FIELDS.NOT (X-A)")
        for bad in ["MIME", "0", "1.", ".1", "1..2", "HEADER.FIELDS ()", "HEADER.FIELDS", "BODY", "1<0.0>", "1<a.1>"] {
            #expect(SectionSpecifier(bad) == nil, "\(bad)")
        }
    }

    @Test func singlePartMessageWithoutMIMEVersion() throws {
        let bytes = Self.crlf("From: a@b.example\nSubject: plain\n\nline one\nline two")
        let parsed = try MessageParser.parse(bytes)
        #expect(
            parsed.body
                == .single(
                    .init(
                        type: "text", subtype: "plain", parameters: [.init("charset", "us-ascii")], size: 18, lines: 1))
        )
        #expect(parsed.section(SectionSpecifier("1")!, of: bytes) == Array("line one\r\nline two".utf8))
        #expect(parsed.section(SectionSpecifier("TEXT")!, of: bytes) == Array("line one\r\nline two".utf8))
    }

    @Test func emptyBodyAndHeaderOnly() throws {
        for text in ["Subject: x\n\n", "Subject: x\n", ""] {
            let bytes = Self.crlf(text)
            let parsed = try MessageParser.parse(bytes)
            #expect(parsed.size == bytes.count)
            guard case .single(let part) = parsed.body else { Issue.record("\(parsed.body)"); continue }
            #expect(part.size == 0 && part.lines == 0, "\(text.debugDescription)")
        }
    }

    // MARK: Limits, checked before libetpan

    @Test func limitsAreTypedErrors() {
        let small = MessageLimits(maxBytes: 100)
        #expect(throws: MessageParseError.tooLarge(bytes: Self.nested.count, limit: 100)) {
            try MessageParser.parse(Self.nested, limits: small)
        }
        let manyHeaders = Self.crlf(String(repeating: "X-A: 1\n", count: 20) + "\nbody")
        #expect(throws: MessageParseError.tooManyHeaderFields(count: 11, limit: 10)) {
            try MessageParser.parse(manyHeaders, limits: MessageLimits(maxHeaderFields: 10))
        }
        let bigField = Self.crlf("Subject: " + String(repeating: "x", count: 200) + "\n\nbody")
        #expect(throws: MessageParseError.fieldTooLarge(bytes: 211, limit: 100)) {
            try MessageParser.parse(bigField, limits: MessageLimits(maxFieldBytes: 100))
        }
        #expect(throws: MessageParseError.headerTooLarge(bytes: 213, limit: 150)) {
            try MessageParser.parse(bigField, limits: MessageLimits(maxHeaderBytes: 150))
        }
        #expect(throws: MessageParseError.tooManyParts(count: 7, limit: 3)) {
            try MessageParser.parse(Self.nested, limits: MessageLimits(maxParts: 3))
        }
    }

    /// Hostile depth: 5000 nested multiparts never reach libetpan.
    @Test func deepNestingIsRefusedBeforeLibEtPan() {
        var text = ""
        for level in 0..<5000 { text += "Content-Type: multipart/mixed; boundary=b\(level)\n\n--b\(level)\n" }
        text += "\nleaf\n"
        #expect(throws: MessageParseError.tooManyParts(count: 5000, limit: 1000)) {
            try MessageParser.parse(Self.crlf(text))
        }
        var shallow = ""
        for level in 0..<40 { shallow += "Content-Type: multipart/mixed; boundary=b\(level)\n\n--b\(level)\n" }
        shallow += "\nleaf\n"
        #expect(throws: MessageParseError.tooDeep(depth: 33, limit: 32)) { try MessageParser.parse(Self.crlf(shallow)) }
        let forwarded = String(repeating: "Content-Type: message/rfc822\n\n", count: 40) + "body\n"
        #expect(throws: MessageParseError.tooDeep(depth: 33, limit: 32)) {
            try MessageParser.parse(Self.crlf(forwarded))
        }
    }

    @Test func garbageNeverCrashes() {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<300 {
            let count = Int(generator.next() % 400)
            let alphabet = Array("\r\n:;=\"-- ab\tContent-Type multipart/mixed boundary message/rfc822 <>@,".utf8)
            let bytes = (0..<count).map { _ in
                generator.next() % 4 == 0
                    ? UInt8(truncatingIfNeeded: generator.next())
                    : alphabet[Int(generator.next() % UInt64(alphabet.count))]
            }
            if let parsed = try? MessageParser.parse(bytes) {
                #expect(parsed.size == bytes.count)
                #expect(parsed.section(SectionSpecifier("")!, of: bytes) != nil)
            }
        }
    }
}
