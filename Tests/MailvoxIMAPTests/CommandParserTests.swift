import MailvoxCore
import NIOCore
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

@Suite struct CommandParserTests {
    // MARK: RFC 4314 examples (ACL)

    @Test func rfc4314Examples() {
        #expect(command("A001 GETACL INBOX\r\n") == .getACL(.inbox))
        #expect(
            command("A002 SETACL INBOX/Drafts Byron lrswikda\r\n")
                == .setACL(MailboxName("INBOX/Drafts"), identifier: "Byron", rights: "lrswikda"))
        #expect(
            command("A035 SETACL INBOX/Drafts John +lrswipkxtea\r\n")
                == .setACL(MailboxName("INBOX/Drafts"), identifier: "John", rights: "+lrswipkxtea"))
        #expect(
            command("A036 SETACL INBOX/Drafts Fred \"\"\r\n")
                == .setACL(MailboxName("INBOX/Drafts"), identifier: "Fred", rights: ""))
        #expect(
            command("A003 DELETEACL INBOX/Drafts Byron\r\n")
                == .deleteACL(MailboxName("INBOX/Drafts"), identifier: "Byron"))
        #expect(
            command("a001 LISTRIGHTS ~/Mail/saved smith\r\n")
                == .listRights(MailboxName("~/Mail/saved"), identifier: "smith"))
        #expect(
            command("A003 MYRIGHTS \"Shared/2100 Support/INBOX\"\r\n")
                == .myRights(MailboxName("Shared/2100 Support/INBOX")))
        // Missing arguments are errors, not commands.
        for line in [
            "a GETACL\r\n", "a SETACL INBOX Byron\r\n", "a DELETEACL INBOX\r\n", "a LISTRIGHTS INBOX\r\n",
            "a MYRIGHTS\r\n", "a SETACL INBOX Byron lr extra\r\n",
        ] {
            #expect(error(of: events(line)) != nil, "\(line)")
        }
    }

    @Test func rightsParseAsRFC4314SaysAndPrintInItsOrder() {
        #expect(Rights(letters: "lrswtei")?.letters == "lrswite")
        #expect(Rights(letters: "c")?.letters == "k")
        #expect(Rights(letters: "d")?.letters == "xte")
        #expect(Rights(letters: "") == [])
        #expect(Rights(letters: "lrz") == nil)
        #expect(Rights(letters: "L") == nil)
        #expect(Rights.all.letters == "lrswipkxtea")
    }

    // MARK: RFC 3501 examples

    @Test func rfc3501Examples() {
        #expect(command("a001 LOGIN SMITH SESAME\r\n") == .login(username: "SMITH", password: "SESAME"))
        #expect(command("A142 SELECT INBOX\r\n") == .select(.inbox, SelectParameters()))
        #expect(command("A932 EXAMINE blurdybloop\r\n") == .examine(MailboxName("blurdybloop"), SelectParameters()))
        #expect(
            command("a002 FETCH 12 FULL\r\n")
                == .fetch(FetchCommand(set: SequenceSet([SequenceRange(12)])!, attributes: FetchAttribute.full)))
        #expect(
            command("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n")
                == .fetch(
                    FetchCommand(
                        set: SequenceSet([SequenceRange(2...4)])!,
                        attributes: [
                            .flags, .section(SectionSpecifier(text: .headerFields(["DATE", "FROM"])), peek: false),
                        ])))
        #expect(
            command("A003 STORE 2:4 +FLAGS (\\Deleted)\r\n")
                == .store(StoreCommand(set: SequenceSet([SequenceRange(2...4)])!, operation: .add, flags: [.deleted])))
        #expect(
            command("A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n")
                == .search(
                    SearchCommand(
                        key: .and([.flagged, .since(IMAPDate(year: 1994, month: 2, day: 1)!), .not(.from("Smith"))]))))
        #expect(
            command("A999 UID FETCH 4827313:4828442 FLAGS\r\n")
                == .fetch(
                    FetchCommand(
                        byUID: true, set: SequenceSet([SequenceRange(4_827_313...4_828_442)])!, attributes: [.flags])))
        #expect(
            command("A202 LIST ~/Mail/ %\r\n") == .list(ListCommand(reference: "~/Mail/", patterns: ["%"])))
        #expect(
            command("A683 RENAME blurdybloop sarasoop\r\n")
                == .rename(from: MailboxName("blurdybloop"), to: MailboxName("sarasoop")))
        #expect(
            command("A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n")
                == .status(MailboxName("blurdybloop"), [.uidNext, .messages]))
        #expect(command("a047 NOOP\r\n") == .noop)
        #expect(command("A023 LOGOUT\r\n") == .logout)
    }

    @Test func appendWithLiteralFlagsAndDate() throws {
        let message = "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nSubject: afternoon meeting\r\n\r\nHello Joe\r\n"
        let text =
            "A003 APPEND saved-messages (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {\(message.utf8.count)}\r\n\(message)\r\n"
        let result = events(text)
        #expect(result.first == .continuationRequest)
        guard result.count == 2, case .command(let tagged) = result[1], case .append(let append) = tagged.command else {
            Issue.record("\(result)")
            return
        }
        #expect(append.mailbox == MailboxName("saved-messages"))
        let first = try #require(append.messages.first)
        #expect(append.messages.count == 1)
        #expect(first.flags == [.seen])
        #expect(first.internalDate?.description == "17-Jul-1996 02:44:25 -0700")
        #expect(first.internalDate?.secondsSince1970 == 837_596_665)
        #expect(String(buffer: first.message) == message)
    }

    @Test func searchWithCharsetAndLiteral() {
        let result = events("A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n")
        #expect(result.count == 2)
        #expect(result.first == .continuationRequest)
        #expect(
            result.last
                == .command(
                    TaggedCommand(tag: "A284", command: .search(SearchCommand(charset: "UTF-8", key: .text("XXXXXX")))))
        )
    }

    // MARK: Real clients

    @Test func thunderbirdCommands() {
        #expect(command("2 select \"INBOX\" (CONDSTORE)\r\n") == .select(.inbox, SelectParameters(condStore: true)))
        let fields =
            "From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To"
        let expected = Command.fetch(
            FetchCommand(
                byUID: true, set: SequenceSet([SequenceRange(.number(1), .last)])!,
                attributes: [
                    .uid, .rfc822Size, .flags,
                    .section(
                        SectionSpecifier(text: .headerFields(fields.split(separator: " ").map(String.init))), peek: true
                    ),
                ]))
        #expect(command("5 UID fetch 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (\(fields))])\r\n") == expected)
        #expect(
            command("7 UID fetch 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n")
                == .fetch(FetchCommand(byUID: true, set: .all, attributes: [.flags], modifiers: [.changedSince(12345)]))
        )
        #expect(
            command("8 UID store 4,9:11 +FLAGS (\\Seen $Forwarded)\r\n")
                == .store(
                    StoreCommand(
                        byUID: true, set: SequenceSet([SequenceRange(4), SequenceRange(9...11)])!, operation: .add,
                        flags: [.seen, .keyword("$Forwarded")])))
        #expect(
            command("9 UID fetch 3 (UID RFC822.SIZE BODY.PEEK[]<0.2048>)\r\n")
                == .fetch(
                    FetchCommand(
                        byUID: true, set: SequenceSet([SequenceRange(3)])!,
                        attributes: [
                            .uid, .rfc822Size,
                            .section(SectionSpecifier(partial: .init(offset: 0, length: 2048)), peek: true),
                        ])))
        #expect(command("3 authenticate PLAIN\r\n") == .authenticate(mechanism: "PLAIN", initialResponse: nil))
        #expect(
            command("10 UID MOVE 5 \"Trash\"\r\n")
                == .move(CopyCommand(byUID: true, set: SequenceSet([SequenceRange(5)])!, mailbox: MailboxName("Trash")))
        )
    }

    @Test func iosMailAndMbsyncAndMuttCommands() {
        #expect(
            command("1 ID (\"name\" \"iPhone Mail\" \"version\" \"21A329\" \"os\" \"iOS\" \"os-version\" NIL)\r\n")
                == .id([
                    IDParameter("name", "iPhone Mail"), IDParameter("version", "21A329"), IDParameter("os", "iOS"),
                    IDParameter("os-version", nil),
                ]))
        #expect(
            command("4 LIST (SPECIAL-USE) \"\" \"*\" RETURN (SUBSCRIBED CHILDREN)\r\n")
                == .list(
                    ListCommand(
                        selectOptions: [.specialUse], reference: "", patterns: ["*"],
                        returnOptions: [.subscribed, .children])))
        #expect(
            command("5 LIST \"\" (INBOX Saved) RETURN (STATUS (MESSAGES UNSEEN))\r\n")
                == .list(
                    ListCommand(
                        reference: "", patterns: ["INBOX", "Saved"], returnOptions: [.status([.messages, .unseen])])))
        #expect(command("6 ENABLE CONDSTORE QRESYNC\r\n") == .enable(["CONDSTORE", "QRESYNC"]))
        #expect(
            command("7 UID FETCH 1:100 (UID FLAGS)\r\n")
                == .fetch(
                    FetchCommand(byUID: true, set: SequenceSet([SequenceRange(1...100)])!, attributes: [.uid, .flags])))
        #expect(
            command("8 UID SEARCH RETURN (MIN MAX COUNT) UNDELETED MODSEQ \"/flags/\\\\draft\" all 620162338\r\n")
                == .search(
                    SearchCommand(
                        byUID: true, returnOptions: [.min, .max, .count],
                        key: .and([
                            .undeleted, .modSeq(620_162_338, entry: ModSeqEntry(name: "/flags/\\draft", kind: .all)),
                        ]))))
        #expect(
            command("a0005 UID SEARCH OR (SUBJECT voicemail) (NOT SEEN) LARGER 100\r\n")
                == .search(
                    SearchCommand(
                        byUID: true, key: .and([.or(.and([.subject("voicemail")]), .and([.not(.seen)])), .larger(100)]))
                ))
        #expect(
            command("9 STORE 1 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n")
                == .store(
                    StoreCommand(
                        set: SequenceSet([SequenceRange(1)])!, unchangedSince: 320_162_338, operation: .add,
                        silent: true,
                        flags: [.deleted])))
        #expect(command("10 UID EXPUNGE 3000:3002\r\n") == .uidExpunge(SequenceSet([SequenceRange(3000...3002)])!))
        #expect(
            command("11 FETCH 1 (BODY[1.2.MIME] BODY.PEEK[2.TEXT] BODY[3] MODSEQ)\r\n")
                == .fetch(
                    FetchCommand(
                        set: SequenceSet([SequenceRange(1)])!,
                        attributes: [
                            .section(SectionSpecifier(part: [1, 2], text: .mime), peek: false),
                            .section(SectionSpecifier(part: [2], text: .text), peek: true),
                            .section(SectionSpecifier(part: [3]), peek: false), .modSeq,
                        ])))
    }

    @Test func saslInitialResponse() {
        // "\0bob\0secret"
        #expect(
            command("a AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=\r\n")
                == .authenticate(mechanism: "PLAIN", initialResponse: Array("\0bob\0secret".utf8)))
        #expect(command("a AUTHENTICATE PLAIN =\r\n") == .authenticate(mechanism: "PLAIN", initialResponse: []))
        #expect(error(of: events("a AUTHENTICATE PLAIN AGJ\r\n"))?.tag == "a")
    }

    @Test func quotedStringEscapes() {
        #expect(
            command("a LOGIN \"fred \\\"the\\\" user\" \"back\\\\slash\"\r\n")
                == .login(username: "fred \"the\" user", password: "back\\slash"))
        #expect(error(of: events("a LOGIN \"bad\\x\" p\r\n"))?.disposition == .bad)
    }

    @Test func modifiedUTF7MailboxNames() {
        #expect(command("a SELECT Entw&APw-rfe\r\n") == .select(MailboxName("Entwürfe"), SelectParameters()))
        #expect(
            command("a CREATE \"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"\r\n") == .create(MailboxName("~peter/mail/台北/日本語")))
        #expect(command("a select inbox\r\n") == .select(.inbox, SelectParameters()))
        // Not modified UTF-7, yet a valid astring: a name no folder has, so the answer is NO, not BAD.
        #expect(
            command("a SELECT &AGE-\r\n")
                == .select(MailboxName(MailboxName.unreadable(Array("&AGE-".utf8))), SelectParameters()))
        #expect(
            MailboxName(MailboxName.unreadable(Array("&Jjo!".utf8))).problemAsNewFolder == "not valid modified UTF-7")
        #expect(MailboxName("Entwürfe").wireName == "Entw&APw-rfe")
        #expect(MailboxName("R&D").wireName == "R&-D")
        #expect(ModifiedUTF7.decode(Array("&Jjo".utf8)) == nil)
        for name in ["Entwürfe", "台北/日本語", "a&b", "😀 emoji", "mixed ü & 日本", ""] {
            #expect(ModifiedUTF7.decode(Array(ModifiedUTF7.encode(name).utf8)) == name)
        }
    }

    // MARK: Modes

    @Test func idleThenDonePipelined() {
        var parser = CommandParser()
        parser.append(Array("a IDLE\r\nDONE\r\nb NOOP\r\n".utf8))
        #expect(parser.next() == .command(TaggedCommand(tag: "a", command: .idle)))
        parser.mode = .idle
        #expect(parser.next() == .idleDone)
        #expect(parser.next() == .command(TaggedCommand(tag: "b", command: .noop)))
        #expect(parser.next() == nil)
    }

    @Test func authenticationContinuation() {
        var parser = CommandParser()
        parser.append(Array("a AUTHENTICATE PLAIN\r\nAGJvYgBzZWNyZXQ=\r\nb AUTHENTICATE PLAIN\r\n*\r\n".utf8))
        #expect(
            parser.next()
                == .command(TaggedCommand(tag: "a", command: .authenticate(mechanism: "PLAIN", initialResponse: nil))))
        parser.mode = .authentication
        #expect(parser.next() == .authenticationResponse(Array("\0bob\0secret".utf8)))
        _ = parser.next()
        parser.mode = .authentication
        #expect(parser.next() == .authenticationResponse(nil))
    }

    // MARK: Literals and splitting

    @Test func synchronisingLiteralAsksForContinuationOnce() {
        let result = events("a LOGIN {3}\r\nbob {6}\r\nsecret\r\n")
        #expect(
            result == [
                .continuationRequest, .continuationRequest,
                .command(TaggedCommand(tag: "a", command: .login(username: "bob", password: "secret"))),
            ])
        #expect(events("a LOGIN {3+}\r\nbob {6+}\r\nsecret\r\n") == [result[2]])
    }

    @Test func splitAtEveryBoundaryGivesTheSameEvents() {
        let input =
            "a1 LOGIN {3}\r\nbob \"pa\\\"ss\"\r\na2 SELECT INBOX (CONDSTORE)\r\n"
            + "a3 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100>) (CHANGEDSINCE 5)\r\n"
            + "a4 APPEND Saved (\\Seen) {5+}\r\nhello\r\na5 SEARCH OR NOT SEEN (FROM x TO y) UID 1,3:5\r\n"
            + "a6 bogus\r\na7 NOOP\r\n"
        let whole = events(input)
        #expect(whole.count == 8)
        for chunk in 1...7 {
            #expect(events(input, chunk: chunk) == whole, "chunk \(chunk)")
        }
        let bytes = Array(input.utf8)
        for split in 0...bytes.count {
            var parser = CommandParser()
            var result: [ParserEvent] = []
            parser.append(bytes[..<split])
            while let event = parser.next() { result.append(event) }
            parser.append(bytes[split...])
            while let event = parser.next() { result.append(event) }
            #expect(result == whole, "split at \(split)")
        }
    }

    @Test func bareLineFeedIsAccepted() {
        #expect(command("a NOOP\n") == .noop)
    }

    @Test func syntaxErrorsAreTaggedBadAndParsingContinues() {
        let result = events("t1 FETCH 0 FLAGS\r\nt2 FETCH 1 (FLAGS\r\nt3 FROB\r\nt4 NOOP\r\n")
        #expect(result.count == 4)
        for (index, tag) in ["t1", "t2", "t3"].enumerated() {
            guard case .error(let error) = result[index] else {
                Issue.record("expected error at \(index)")
                continue
            }
            #expect(error.tag == tag)
            #expect(error.disposition == .bad)
        }
        #expect(result[3] == .command(TaggedCommand(tag: "t4", command: .noop)))
        #expect(error(of: events("+x NOOP\r\n"))?.tag == nil)
    }
}
