import MailvoxCore
import MailvoxIMAPTesting
import NIOCore
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

@Suite struct RoundTripTests {
    static let set = SequenceSet([SequenceRange(1...3), SequenceRange(7), SequenceRange(.number(9), .last)])!

    static let commands: [Command] = [
        .capability, .noop, .logout, .starttls, .namespace, .idle, .check, .close, .unselect, .expunge,
        .id(nil), .id([IDParameter("name", "Thunder \"bird\""), IDParameter("os", nil)]),
        .login(username: "mailbox-42", password: "pä ss\\word\""),
        .login(username: "a", password: "line\r\nbreak"),
        .authenticate(mechanism: "PLAIN", initialResponse: Array("\0user\0pass".utf8)),
        .authenticate(mechanism: "PLAIN", initialResponse: []),
        .authenticate(mechanism: "PLAIN", initialResponse: nil),
        .enable(["CONDSTORE"]),
        .select(MailboxName("Entwürfe"), SelectParameters(condStore: true)),
        .examine(.inbox, SelectParameters()),
        .create(MailboxName("Saved/2024 calls")), .delete(MailboxName("x")), .subscribe(MailboxName("NIL")),
        .unsubscribe(MailboxName("\"quoted\"")), .rename(from: MailboxName("a&b"), to: MailboxName("日本")),
        .list(ListCommand(reference: "", patterns: ["*"])),
        .list(
            ListCommand(
                selectOptions: [.subscribed, .recursiveMatch], reference: "Saved/", patterns: ["%", "Trash"],
                returnOptions: [.children, .specialUse, .status([.messages, .size])])),
        .lsub(reference: "", pattern: "Gr%"),
        .getQuotaRoot(.inbox), .getQuota(""), .setQuota(root: "", [QuotaResourceLimit("STORAGE", 512)]),
        .status(MailboxName("Trash"), StatusAttribute.allCases),
        .append(
            AppendCommand(
                mailbox: .inbox, flags: [.seen, .keyword("$Voicemail")],
                internalDate: InternalDate(
                    date: IMAPDate(year: 2024, month: 2, day: 29)!, hour: 23, minute: 5, second: 1, zoneMinutes: 330),
                message: ByteBuffer(string: "Subject: x\r\n\r\nbody\r\n"))),
        .append(AppendCommand(mailbox: MailboxName("Saved"), message: ByteBuffer(string: ""))),
        .append(
            AppendCommand(
                mailbox: .inbox,
                messages: [
                    .init(flags: [.seen], message: ByteBuffer(string: "Subject: a\r\n\r\n1\r\n")),
                    .init(message: ByteBuffer(string: "Subject: b\r\n\r\n2\r\n"), isLiteral8: true),
                ])),
        .uidExpunge(set),
        .search(SearchCommand(key: .all)),
        .search(
            SearchCommand(
                byUID: true, returnOptions: [], charset: "UTF-8",
                key: .and([
                    .or(.from("Alice Ü"), .not(.to("bob"))), .header("X-Mailvox-Caller", "+4930"), .larger(5),
                    .smaller(9),
                    .before(IMAPDate(year: 2001, month: 1, day: 1)!),
                    .sentOn(IMAPDate(year: 1999, month: 12, day: 31)!),
                    .uid(set), .sequenceNumbers(set), .keyword("$Junk"), .unkeyword("Work"), .modSeq(0, entry: nil),
                    .modSeq(42, entry: ModSeqEntry(name: "/flags/\\Seen", kind: .priv)), .and([.seen, .and([.draft])]),
                    .answered, .deleted, .draft, .flagged, .new, .old, .recent, .seen, .unanswered, .undeleted,
                    .undraft,
                    .unflagged, .unseen, .bcc("b"), .body("line\nfeed"), .cc(""), .subject("s"), .text("t"),
                    .on(IMAPDate(year: 2020, month: 5, day: 9)!),
                    .since(IMAPDate(year: 2020, month: 5, day: 9)!),
                    .sentBefore(IMAPDate(year: 2020, month: 5, day: 9)!),
                    .sentSince(IMAPDate(year: 2020, month: 5, day: 9)!),
                ]))),
        .search(SearchCommand(returnOptions: [.min, .max, .all, .count], key: .and([.and([.seen, .flagged])]))),
        .search(
            SearchCommand(
                returnOptions: [.save, .min], key: .and([.sequenceNumbers(.savedResult), .uid(.savedResult)]))),
        .sort(SortCommand(criteria: [SortCriterion(.date)], charset: "UTF-8", key: .all)),
        .sort(
            SortCommand(
                byUID: true, returnOptions: [.min, .max, .count, .all, .save],
                criteria: SortKey.allCases.map { SortCriterion($0, reverse: $0.rawValue.count % 2 == 0) },
                charset: "US-ASCII", key: .and([.from("a b"), .sequenceNumbers(set)]))),
        .sort(
            SortCommand(
                returnOptions: [], criteria: [SortCriterion(.subject, reverse: true)], charset: "UTF-8", key: .seen)),
        .fetch(FetchCommand(set: .savedResult, attributes: [.flags])),
        .store(StoreCommand(byUID: true, set: .savedResult, operation: .add, flags: [.seen])),
        .copy(CopyCommand(set: .savedResult, mailbox: MailboxName("Saved"))),
        .move(CopyCommand(byUID: true, set: .savedResult, mailbox: MailboxName("Trash"))),
        .uidExpunge(.savedResult),
        .fetch(
            FetchCommand(
                set: set, attributes: FetchAttribute.full + [.uid, .modSeq, .rfc822, .rfc822Header, .rfc822Text])),
        .fetch(
            FetchCommand(
                byUID: true, set: .all,
                attributes: [
                    .bodyStructure(extensions: true),
                    .section(SectionSpecifier(), peek: true),
                    .section(SectionSpecifier(part: [1, 2], text: .mime), peek: false),
                    .section(
                        SectionSpecifier(part: [3], text: .headerFieldsNot(["Received", "X-Odd\"Name"])), peek: true),
                    .section(SectionSpecifier(text: .text, partial: .init(offset: 100, length: 50)), peek: false),
                ], modifiers: [.changedSince(77)])),
        .store(StoreCommand(set: set, operation: .replace, flags: [])),
        .store(
            StoreCommand(
                byUID: true, set: set, unchangedSince: 12, operation: .remove, silent: true,
                flags: [.deleted, .extension("Custom")])),
        .copy(CopyCommand(set: set, mailbox: MailboxName("Saved"))),
        .move(CopyCommand(byUID: true, set: set, mailbox: MailboxName("Trash"))),
    ]

    @Test(arguments: commands)
    func parseOfEncodeIsIdentity(_ command: Command) {
        let tagged = TaggedCommand(tag: "rt1", command: command)
        for style in [CommandEncoder.LiteralStyle.nonSynchronising, .synchronising] {
            let bytes = Array(CommandEncoder.encode(tagged, literals: style).readableBytesView)
            let result = events(bytes).filter { $0 != .continuationRequest }
            #expect(result == [.command(tagged)], "\(String(decoding: bytes, as: UTF8.self))")
            #expect(events(bytes, chunk: 3).filter { $0 != .continuationRequest } == result)
        }
    }

    /// The same commands with UTF-8 names, as a session that ENABLEd UTF8=ACCEPT sends them:
    /// `a&b` stays `a&b`, and a name that is not UTF-8 stays one no folder has.
    @Test(arguments: commands + [.select(MailboxName(MailboxName.unreadable([0x41, 0xFF])), SelectParameters())])
    func parseOfEncodeIsIdentityWithUTF8Names(_ command: Command) {
        let tagged = TaggedCommand(tag: "rt2", command: command)
        let bytes = Array(CommandEncoder.encode(tagged, names: .utf8).readableBytesView)
        var parser = CommandParser()
        parser.loggedIn = true
        parser.names = .utf8
        parser.append(bytes)
        var result: [ParserEvent] = []
        while let event = parser.next() { result.append(event) }
        #expect(result == [.command(tagged)], "\(String(decoding: bytes, as: UTF8.self))")
    }
}

extension Command: CustomTestStringConvertible {
    public var testDescription: String {
        String(String(buffer: CommandEncoder.encode(TaggedCommand(tag: "t", command: self))).prefix(80))
    }
}
