import MailvoxCore
import NIOCore
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

@Suite struct ResponseEncoderTests {
    @Test func statusResponsesWithCodes() {
        #expect(
            wire(.tagged(tag: "a1", StatusResponse(.ok, code: .capability(["IMAP4rev1", "IDLE"]), text: "Logged in")))
                == "a1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n")
        #expect(
            wire(
                .untagged(
                    .condition(
                        StatusResponse(
                            .ok, code: .permanentFlags([.answered, .seen], allowsNewKeywords: true), text: "Limited"))))
                == "* OK [PERMANENTFLAGS (\\Answered \\Seen \\*)] Limited\r\n")
        #expect(
            wire(.untagged(.condition(StatusResponse(.ok, code: .uidValidity(3_857_529_045), text: "UIDs valid"))))
                == "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n")
        #expect(
            wire(.untagged(.condition(StatusResponse(.ok, code: .uidNext(4392), text: "x"))))
                == "* OK [UIDNEXT 4392] x\r\n")
        #expect(
            wire(.untagged(.condition(StatusResponse(.ok, code: .highestModSeq(715_194_045_007), text: "x"))))
                == "* OK [HIGHESTMODSEQ 715194045007] x\r\n")
        #expect(wire(.untagged(.condition(StatusResponse(.ok, code: .noModSeq, text: "x")))) == "* OK [NOMODSEQ] x\r\n")
        #expect(
            wire(
                .tagged(
                    tag: "A003",
                    StatusResponse(
                        .ok, code: .appendUID(uidValidity: 38505, uids: SequenceSet(numbers: [3955])!),
                        text: "APPEND completed")))
                == "A003 OK [APPENDUID 38505 3955] APPEND completed\r\n")
        let source = SequenceSet([SequenceRange(304), SequenceRange(319...320)])!
        let destination = SequenceSet([SequenceRange(3956...3958)])!
        #expect(
            wire(
                .tagged(
                    tag: "A004",
                    StatusResponse(
                        .ok, code: .copyUID(uidValidity: 38505, source: source, destination: destination), text: "Done")
                ))
                == "A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n")
        #expect(
            wire(.tagged(tag: "a", StatusResponse(.no, code: .tryCreate, text: "No such mailbox")))
                == "a NO [TRYCREATE] No such mailbox\r\n")
        #expect(
            wire(.tagged(tag: "a", StatusResponse(.no, code: .authenticationFailed, text: "Nope")))
                == "a NO [AUTHENTICATIONFAILED] Nope\r\n")
        #expect(
            wire(
                .tagged(
                    tag: "d105",
                    StatusResponse(
                        .ok, code: .modified(SequenceSet([SequenceRange(7), SequenceRange(9)])!),
                        text: "Conditional STORE failed")))
                == "d105 OK [MODIFIED 7,9] Conditional STORE failed\r\n")
        #expect(
            wire(.untagged(.condition(StatusResponse(.bye, code: .limit, text: "bad\r\nline"))))
                == "* BYE [LIMIT] bad  line\r\n")
        #expect(
            wire(.tagged(tag: "a", StatusResponse(.no, code: .badCharset(["UTF-8"]), text: "x")))
                == "a NO [BADCHARSET (UTF-8)] x\r\n")
        #expect(wire(.continuation(.text(""))) == "+ Ready\r\n")
        #expect(wire(.continuation(.challenge([]))) == "+ \r\n")
    }

    @Test func parseErrorsBecomeTheRightResponse() {
        #expect(
            wire(ParseError(tag: "a1", disposition: .no, code: .tooBig, text: "Too big").response)
                == "a1 NO [TOOBIG] Too big\r\n")
        #expect(
            wire(ParseError(tag: "a1", disposition: .bye, code: .limit, text: "Long").response)
                == "* BYE [LIMIT] Long\r\n")
        #expect(wire(ParseError(tag: nil, disposition: .bad, text: "Junk").response) == "* BAD Junk\r\n")
    }

    @Test func untaggedData() {
        #expect(wire(.untagged(.exists(172))) == "* 172 EXISTS\r\n")
        #expect(wire(.untagged(.recent(1))) == "* 1 RECENT\r\n")
        #expect(wire(.untagged(.expunge(44))) == "* 44 EXPUNGE\r\n")
        #expect(
            wire(.untagged(.flags([.answered, .flagged, .deleted, .seen, .draft])))
                == "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n")
        #expect(
            wire(.untagged(.capability(["IMAP4rev1", "STARTTLS", "LOGINDISABLED"])))
                == "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n")
        #expect(wire(.untagged(.enabled(["CONDSTORE"]))) == "* ENABLED CONDSTORE\r\n")
        #expect(
            wire(.untagged(.id([IDParameter("name", "Mailvox"), IDParameter("support-url", nil)])))
                == "* ID (\"name\" \"Mailvox\" \"support-url\" NIL)\r\n")
        #expect(wire(.untagged(.id(nil))) == "* ID NIL\r\n")
        #expect(wire(.untagged(.search([2, 84, 882], modSeq: nil))) == "* SEARCH 2 84 882\r\n")
        #expect(wire(.untagged(.search([2, 10], modSeq: 917_162_500))) == "* SEARCH 2 10 (MODSEQ 917162500)\r\n")
        #expect(wire(.untagged(.search([], modSeq: 5))) == "* SEARCH\r\n")
        #expect(
            wire(
                .untagged(
                    .esearch(
                        ESearchResponse(
                            tag: "A285", byUID: true, min: 7, max: 3800, count: 15,
                            all: SequenceSet([SequenceRange(7...9)])!, modSeq: 12))))
                == "* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800 COUNT 15 ALL 7:9 MODSEQ 12\r\n")
        #expect(
            wire(.untagged(.esearch(ESearchResponse(tag: "A2", byUID: false, count: 0))))
                == "* ESEARCH (TAG \"A2\") COUNT 0\r\n")
        #expect(
            wire(
                .untagged(
                    .status(
                        MailboxName("Entwürfe"),
                        [StatusValue(.messages, 231), StatusValue(.uidNext, 44292), StatusValue(.size, 9_000_000_000)]))
            )
                == "* STATUS Entw&APw-rfe (MESSAGES 231 UIDNEXT 44292 SIZE 9000000000)\r\n")
        #expect(
            wire(.untagged(.namespace(NamespaceResponse(personal: [.init(prefix: "", delimiter: "/")]))))
                == "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n")
    }

    @Test func listResponses() {
        #expect(
            wire(.untagged(.list(MailboxListItem(attributes: [.hasNoChildren, .trash], name: MailboxName("Trash")))))
                == "* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n")
        #expect(
            wire(
                .untagged(
                    .list(MailboxListItem(attributes: [], name: MailboxName("My Calls/台北"), childInfoSubscribed: true)))
            )
                == "* LIST () \"/\" \"My Calls/&U,BTFw-\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n")
        #expect(
            wire(.untagged(.lsub(MailboxListItem(attributes: [.noSelect], delimiter: nil, name: MailboxName("NIL")))))
                == "* LSUB (\\Noselect) NIL \"NIL\"\r\n")
        #expect(MailboxAttribute(specialUse: "\\archive") == .archive)
    }

    @Test func stringsThatCannotBeQuotedBecomeLiterals() {
        let envelope = Envelope(
            date: "Wed, 17 Jul 1996 02:23:25 -0700", subject: "Voicemail von Jürgen",
            from: [Envelope.Address(name: "Terry \"T\" Gray", mailbox: "gray", host: "cac.washington.edu")],
            to: [.groupStart("undisclosed"), .groupEnd], messageID: "<B27397-0100000@cac.washington.edu>")
        let text = wire(.untagged(.fetch(sequenceNumber: 12, [.envelope(envelope)])))
        #expect(
            text
                == "* 12 FETCH (ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700\" {21}\r\nVoicemail von Jürgen ((\"Terry \\\"T\\\" Gray\" NIL \"gray\" \"cac.washington.edu\")) NIL NIL "
                + "((NIL NIL \"undisclosed\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL \"<B27397-0100000@cac.washington.edu>\"))\r\n"
        )
    }

    @Test func fetchItemsAndBodyStructure() {
        let audio = BodyStructure.single(
            .init(
                type: "audio", subtype: "mpeg", parameters: [.init("name", "call.mp3")], encoding: "base64", size: 4096,
                extensionData: .init(
                    disposition: .init(type: "attachment", parameters: [.init("filename", "call.mp3")]))))
        let text = BodyStructure.single(
            .init(
                type: "text", subtype: "plain", parameters: [.init("charset", "utf-8")], encoding: "quoted-printable",
                size: 120, lines: 4,
                extensionData: .init(language: ["de"])))
        let structure = BodyStructure.multipart(
            .init(parts: [text, audio], subtype: "mixed", parameters: [.init("boundary", "b1")]))
        let date = InternalDate(
            date: IMAPDate(year: 1996, month: 7, day: 7)!, hour: 2, minute: 44, second: 25, zoneMinutes: -420)!
        let response = Response.untagged(
            .fetch(
                sequenceNumber: 3,
                [
                    .uid(77), .flags([.seen, .keyword("$Voicemail")]), .rfc822Size(4400), .internalDate(date),
                    .modSeq(624),
                    .body(structure),
                    .bodyStructure(structure),
                    .literal(
                        .section(SectionSpecifier(part: [1], text: .headerFields(["From", "To"])), origin: 0),
                        ByteBuffer(string: "abc")),
                    .literal(.section(SectionSpecifier(part: [9]), origin: nil), nil),
                ]))
        #expect(
            wire(response)
                == "* 3 FETCH (UID 77 FLAGS (\\Seen $Voicemail) RFC822.SIZE 4400 INTERNALDATE \" 7-Jul-1996 02:44:25 -0700\" MODSEQ (624) "
                + "BODY ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 120 4)(\"audio\" \"mpeg\" (\"name\" \"call.mp3\") NIL NIL \"base64\" 4096) \"mixed\") "
                + "BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 120 4 NIL NIL (\"de\") NIL)"
                + "(\"audio\" \"mpeg\" (\"name\" \"call.mp3\") NIL NIL \"base64\" 4096 NIL (\"attachment\" (\"filename\" \"call.mp3\")) NIL NIL) \"mixed\" (\"boundary\" \"b1\") NIL NIL NIL) "
                + "BODY[1.HEADER.FIELDS (From To)]<0> {3}\r\nabc BODY[9] NIL)\r\n")
    }

    @Test func streamedFetchLiteralLeavesTheBytesToTheCaller() {
        var buffer = ByteBuffer()
        var writer = FetchResponseWriter(sequenceNumber: 1, into: &buffer)
        writer.write(.uid(5), into: &buffer)
        writer.writeLiteralHeader(.section(SectionSpecifier(), origin: nil), byteCount: 10_000_000, into: &buffer)
        #expect(String(buffer: buffer) == "* 1 FETCH (UID 5 BODY[] {10000000}\r\n")
        buffer.clear()
        writer.write(.flags([.seen]), into: &buffer)
        writer.finish(into: &buffer)
        #expect(String(buffer: buffer) == " FLAGS (\\Seen))\r\n")
    }

    @Test func encodedResponseStringsParseBackAsCommandStrings() {
        // The response string writer and the command parser agree on quoting and literals.
        for text in [
            "plain", "with space", "quote\"back\\slash", "\"", "\\\\\"\"x", "end\\", "", "ümlaut", "cr\rlf\n",
            "nul\u{0}",
            String(repeating: "x", count: 2000),
        ] {
            var buffer = ByteBuffer(string: "a LOGIN ")
            buffer.writeIMAPString(text)
            buffer.writeString(" p\r\n")
            #expect(command(String(buffer: buffer)) == .login(username: text, password: "p"))
        }
    }
}
