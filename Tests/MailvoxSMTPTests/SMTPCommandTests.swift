import MailvoxSMTPCore
import Testing

/// The command grammar of RFC 5321 §4.1 (with RFC 1870, 3030, 4954, 6531 and 2033 additions),
/// from the RFC's own examples to what a hostile or broken client sends. Every line is either
/// parsed to an exact value or refused with an exact reply and enhanced code.
@Suite struct SMTPCommandTests {
    func parse(_ text: String) -> SMTPCommand? {
        try? SMTPCommand.parse(Array(text.utf8)).get()
    }

    func parse(bytes: [UInt8]) -> SMTPCommand? {
        try? SMTPCommand.parse(bytes).get()
    }

    /// The reply a refused line gets as `code enhanced`, or nil when it parsed.
    func refusal(_ text: String) -> String? {
        refusal(bytes: Array(text.utf8))
    }

    func refusal(bytes: [UInt8]) -> String? {
        switch SMTPCommand.parse(bytes) {
        case .success: nil
        case .failure(let error): "\(error.reply.code) \(error.reply.enhanced ?? "-")"
        }
    }

    func address(_ local: String, _ domain: String) -> SMTPAddress {
        SMTPAddress(localPart: local, domain: domain)
    }

    // MARK: - Verbs

    @Test(arguments: ["EHLO pbx.example.com", "ehlo pbx.example.com", "eHlO pbx.example.com"])
    func verbsAreCaseInsensitive(_ line: String) {
        // RFC 5321 §2.4: verbs are case-insensitive.
        #expect(parse(line) == .hello(kind: .ehlo, domain: "pbx.example.com"))
    }

    @Test func helloForms() {
        #expect(parse("HELO pbx") == .hello(kind: .helo, domain: "pbx"))
        #expect(parse("LHLO mx.example.com") == .hello(kind: .lhlo, domain: "mx.example.com"))
        // RFC 5321 §4.1.1.1: an address literal where the client has no name.
        #expect(parse("EHLO [192.0.2.1]") == .hello(kind: .ehlo, domain: "[192.0.2.1]"))
        #expect(parse("EHLO [IPv6:2001:db8::1]") == .hello(kind: .ehlo, domain: "[IPv6:2001:db8::1]"))
        // Trailing spaces are dropped; old PBXs put free text after HELO and that is let be.
        #expect(parse("EHLO pbx   ") == .hello(kind: .ehlo, domain: "pbx"))
        #expect(parse("HELO my little pbx") == .hello(kind: .helo, domain: "my little pbx"))
        #expect(refusal("EHLO") == "501 5.5.4")
        #expect(refusal("EHLO   ") == "501 5.5.4")
        #expect(refusal("EHLO two words") == "501 5.5.4")
        #expect(refusal("LHLO") == "501 5.5.4")
    }

    @Test func commandsWithoutArguments() {
        #expect(parse("DATA") == .data)
        #expect(parse("rset") == .rset)
        #expect(parse("QUIT") == .quit)
        #expect(parse("STARTTLS") == .startTLS)
        #expect(parse("HELP") == .help)
        #expect(parse("HELP MAIL") == .help)
        // RFC 5321 §4.1.1.9: NOOP's argument is ignored.
        #expect(parse("NOOP") == .noop)
        #expect(parse("NOOP anything at all") == .noop)
        #expect(parse("VRFY 2000") == .vrfy)
        #expect(parse("EXPN staff") == .vrfy)
        for line in ["DATA now", "RSET x", "QUIT please", "STARTTLS x"] {
            #expect(refusal(line) == "501 5.5.4", "\(line)")
        }
    }

    @Test(arguments: ["", " ", "XYZZY", "MAILFROM:<a@b>", "DATA\tx", "NOOP\tx", "TURN", "ETRN example.com"])
    func unknownVerbs(_ line: String) {
        #expect(refusal(line) == "500 5.5.2")
    }

    // MARK: - MAIL and RCPT (RFC 5321 §4.1.1.2, §4.1.1.3, §4.1.2)

    @Test func mailFromThePathForms() {
        #expect(parse("MAIL FROM:<Smith@bar.com>") == .mail(from: address("Smith", "bar.com"), parameters: []))
        #expect(parse("mail from:<Smith@Bar.COM>") == .mail(from: address("Smith", "bar.com"), parameters: []))
        // The null reverse-path of bounces (RFC 5321 §4.5.5).
        #expect(parse("MAIL FROM:<>") == .mail(from: nil, parameters: []))
        // Tolerated as Postfix does: a space after the colon, and no angle brackets.
        #expect(parse("MAIL FROM: <pbx@example.com>") == .mail(from: address("pbx", "example.com"), parameters: []))
        #expect(parse("MAIL FROM:pbx@example.com") == .mail(from: address("pbx", "example.com"), parameters: []))
        #expect(
            parse("MAIL FROM:pbx@example.com SIZE=10")
                == .mail(from: address("pbx", "example.com"), parameters: [.init("SIZE", "10")]))
        #expect(parse("RCPT TO: 2000@example.com") == .rcpt(to: address("2000", "example.com"), parameters: []))
    }

    @Test func sourceRoutesAreAcceptedAndIgnored() {
        // RFC 5321 §4.1.2 and Appendix C: the A-d-l is parsed and dropped.
        #expect(
            parse("RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>")
                == .rcpt(to: address("userc", "d.bar.org"), parameters: []))
        #expect(parse("MAIL FROM:<@a:u@d>") == .mail(from: address("u", "d"), parameters: []))
        #expect(refusal("RCPT TO:<@hosta.int,@jkl.org:>") == "501 5.1.3")
        #expect(refusal("RCPT TO:<@hosta.int>") == "501 5.1.3")
    }

    @Test func quotedLocalParts() {
        #expect(
            parse("MAIL FROM:<\"John Doe\"@example.com>")
                == .mail(from: address("John Doe", "example.com"), parameters: []))
        // `\` quotes the next character (RFC 5321 quoted-pairSMTP).
        #expect(
            parse(#"RCPT TO:<"a\"b\\c"@example.com>"#) == .rcpt(to: address(#"a"b\c"#, "example.com"), parameters: []))
        // A `>` inside the quotes is part of the local part, not the end of the path.
        #expect(parse(#"RCPT TO:<"a>b"@example.com>"#) == .rcpt(to: address("a>b", "example.com"), parameters: []))
        #expect(parse(#"RCPT TO:<""@example.com>"#) == .rcpt(to: address("", "example.com"), parameters: []))
        #expect(refusal(#"RCPT TO:<"unclosed@example.com>"#) == "501 5.1.3")
        #expect(refusal(#"RCPT TO:<"a"b@example.com>"#) == "501 5.1.3")
        #expect(refusal(#"MAIL FROM:<"a\"@example.com>"#) == "501 5.1.7")
    }

    @Test func parameters() {
        #expect(
            parse("MAIL FROM:<pbx@example.com> SIZE=1000 BODY=8BITMIME SMTPUTF8")
                == .mail(
                    from: address("pbx", "example.com"),
                    parameters: [.init("SIZE", "1000"), .init("BODY", "8BITMIME"), .init("SMTPUTF8")]))
        // Keywords are case-insensitive (RFC 5321 §2.4); values are kept as sent.
        #expect(
            parse("MAIL FROM:<> size=5 body=7bit")
                == .mail(from: nil, parameters: [.init("SIZE", "5"), .init("BODY", "7bit")]))
        #expect(SMTPCommand.Parameter("size", "5").keyword == "SIZE")
        #expect(
            parse("RCPT TO:<2000@example.com> NOTIFY=NEVER")
                == .rcpt(to: address("2000", "example.com"), parameters: [.init("NOTIFY", "NEVER")]))
        #expect(parse("MAIL FROM:<> SIZE=") == .mail(from: nil, parameters: [.init("SIZE", "")]))
        #expect(refusal("MAIL FROM:<> =5") == "501 5.5.4")
        let many = (0..<17).map { "X\($0)=1" }.joined(separator: " ")
        #expect(refusal("MAIL FROM:<> \(many)") == "501 5.5.4")
        #expect(parse("MAIL FROM:<> " + (0..<16).map { "X\($0)=1" }.joined(separator: " ")) != nil)
    }

    @Test func addressLiterals() {
        #expect(
            parse("RCPT TO:<postmaster@[192.0.2.1]>") == .rcpt(to: address("postmaster", "[192.0.2.1]"), parameters: [])
        )
        #expect(
            parse("RCPT TO:<2000@[IPv6:2001:DB8::1]>")
                == .rcpt(to: address("2000", "[ipv6:2001:db8::1]"), parameters: []))
        #expect(refusal("RCPT TO:<2000@[]>") == "501 5.1.3")
        #expect(refusal("RCPT TO:<2000@[192.0.2.1>") == "501 5.1.3")
        #expect(refusal("RCPT TO:<2000@[192.0.2.1 ]>") == "501 5.1.3")
    }

    @Test func utf8Addresses() {
        // RFC 6531: UTF-8 in the local part and the domain.
        #expect(
            parse("RCPT TO:<grüße@bücher.example>") == .rcpt(to: address("grüße", "bücher.example"), parameters: []))
        #expect(
            parse("MAIL FROM:<用户@例子.广告> SMTPUTF8")
                == .mail(from: address("用户", "例子.广告"), parameters: [.init("SMTPUTF8")]))
        #expect(parse("RCPT TO:<Grace@EXAMPLE.com>") == .rcpt(to: address("Grace", "example.com"), parameters: []))
        // The local part keeps its case; only the receiving side may fold it (RFC 5321 §2.4).
        #expect(SMTPAddress.parse("Grace@EXAMPLE.com")?.localPart == "Grace")
    }

    @Test func nullAndMissingPaths() {
        #expect(refusal("RCPT TO:<>") == "501 5.1.3")
        // No path at all is no path, not the null path `<>`.
        #expect(refusal("MAIL FROM:") == "501 5.5.4")
        #expect(refusal("MAIL FROM:   ") == "501 5.5.4")
        #expect(refusal("RCPT TO:") == "501 5.5.4")
        #expect(refusal("MAIL") == "501 5.5.4")
        #expect(refusal("MAIL TO:<a@b>") == "501 5.5.4")
        #expect(refusal("RCPT FROM:<a@b>") == "501 5.5.4")
        #expect(refusal("MAIL FROM <a@b>") == "501 5.5.4")
        #expect(parse("RCPT TO:<Postmaster>") == .rcpt(to: address("Postmaster", ""), parameters: []))
        #expect(parse("RCPT TO:2000") == .rcpt(to: address("2000", ""), parameters: []))
    }

    @Test func unterminatedPathsNameTheRightAddress() {
        // RFC 3463: X.1.7 is the sender's address syntax, X.1.3 the recipient's.
        #expect(refusal("MAIL FROM:<a@example.com") == "501 5.1.7")
        #expect(refusal("RCPT TO:<2000@example.com") == "501 5.1.3")
    }

    @Test(arguments: [
        "a..b@example.com", ".a@example.com", "a.@example.com", "a b@example.com", "a@b@example.com",
        "a@-example.com", "a@example-.com", "a@example..com", "a@.example.com", "a@example.com.", "a@",
        "@example.com", "a@exa_mple.com", "a(comment)@example.com", "a@example.com,b@example.com",
    ])
    func badAddresses(_ text: String) {
        #expect(SMTPAddress.parse(Substring(text)) == nil)
        #expect(refusal("RCPT TO:<\(text)>") == "501 5.1.3")
        #expect(refusal("MAIL FROM:<\(text)>") == "501 5.1.7")
    }

    @Test func addressLengthLimits() {
        // RFC 5321 §4.5.3.1: local part 64 octets, domain 255, path 256 with brackets; the
        // mailbox is limited to 320 octets here (64 + @ + 255).
        let local64 = String(repeating: "a", count: 64)
        let label63 = String(repeating: "b", count: 63)
        let domain255 = [label63, label63, label63, label63].joined(separator: ".")
        #expect(domain255.utf8.count == 255)
        #expect(parse("RCPT TO:<\(local64)@\(domain255)>") == .rcpt(to: address(local64, domain255), parameters: []))
        #expect(refusal("RCPT TO:<\(local64)a@example.com>") == "501 5.1.3")
        #expect(refusal("RCPT TO:<a@\(domain255)c>") == "501 5.1.3")
        #expect(refusal("RCPT TO:<a@\(String(repeating: "b", count: 64)).com>") == "501 5.1.3")
        let huge = String(repeating: "x", count: 1000) + "@example.com"
        #expect(refusal("RCPT TO:<\(huge)>") == "501 5.1.3")
        #expect(refusal("MAIL FROM:<\(huge)>") == "501 5.1.7")
        // A quoted local part may pass 64 octets, but the whole mailbox not 320 (here 324).
        let quoted = "\"" + String(repeating: "q", count: 310) + "\"@example.com"
        #expect(SMTPAddress.parse(Substring(quoted)) == nil)
    }

    // MARK: - BDAT (RFC 3030 §2)

    @Test func bdatSizes() {
        #expect(parse("BDAT 1000") == .bdat(size: 1000, last: false))
        #expect(parse("BDAT 0 LAST") == .bdat(size: 0, last: true))
        #expect(parse("bdat 12 last") == .bdat(size: 12, last: true))
        #expect(parse("BDAT 000012") == .bdat(size: 12, last: false))
        #expect(parse("BDAT \(SMTPCommand.maxChunkSize)") == .bdat(size: SMTPCommand.maxChunkSize, last: false))
    }

    @Test(arguments: [
        "BDAT", "BDAT LAST", "BDAT -1", "BDAT +1", "BDAT 1x", "BDAT 0x10", "BDAT 1.5", "BDAT 1,000",
        "BDAT 5 FIRST", "BDAT 5 LAST now", "BDAT 1099511627777", "BDAT 9999999999999",
        "BDAT 99999999999999999999999999", "BDAT 9223372036854775808", "BDAT ５", "BDAT ٣",
    ])
    func badBDATSizes(_ line: String) {
        #expect(refusal(line) == "501 5.5.4")
    }

    // MARK: - AUTH (RFC 4954 §4)

    @Test func auth() {
        #expect(parse("AUTH PLAIN") == .auth(mechanism: "PLAIN", initialResponse: nil))
        #expect(
            parse("auth plain AHVzZXIAZ29vZC10b2tlbg==")
                == .auth(mechanism: "PLAIN", initialResponse: "AHVzZXIAZ29vZC10b2tlbg=="))
        #expect(parse("AUTH LOGIN dXNlcg==") == .auth(mechanism: "LOGIN", initialResponse: "dXNlcg=="))
        #expect(parse("AUTH CRAM-MD5") == .auth(mechanism: "CRAM-MD5", initialResponse: nil))
        #expect(refusal("AUTH") == "501 5.5.4")
        #expect(refusal("AUTH PLAIN a b") == "501 5.5.4")
    }

    // MARK: - Bytes no command may carry

    @Test func nonUTF8IsRefused() {
        #expect(refusal(bytes: Array("MAIL FROM:<a@b>".utf8) + [0xFF]) == "500 5.5.2")
        // An overlong encoding of `<` (a classic filter bypass) is not UTF-8 either.
        #expect(refusal(bytes: Array("RCPT TO:".utf8) + [0xC0, 0xBC] + Array("a@b>".utf8)) == "500 5.5.2")
        #expect(refusal(bytes: [0xED, 0xA0, 0x80]) == "500 5.5.2")  // a UTF-16 surrogate
        #expect(refusal(bytes: Array("EHLO ".utf8) + [0xE2, 0x82]) == "500 5.5.2")  // truncated
    }

    @Test(arguments: [0x00, 0x01, 0x08, 0x0B, 0x0C, 0x0D, 0x0A, 0x1B, 0x7F] as [UInt8])
    func controlCharactersAreRefused(_ byte: UInt8) {
        #expect(refusal(bytes: Array("NOOP".utf8) + [byte]) == "500 5.5.2")
        #expect(refusal(bytes: Array("RCPT TO:<a".utf8) + [byte] + Array("b@example.com>".utf8)) == "500 5.5.2")
    }

    @Test func aQuotedControlCharacterIsRefused() {
        #expect(SMTPAddress.parse(Substring("\"a\\\u{7}b\"@example.com")) == nil)
    }

    // MARK: - SMTPAddress

    @Test func addressDescription() {
        #expect(address("2000", "Example.COM").description == "2000@example.com")
        #expect(address("postmaster", "").description == "postmaster")
        #expect(SMTPAddress.parse("2000+urgent@example.com") == address("2000+urgent", "example.com"))
        #expect(SMTPAddress.parse("o'brien@example.com") == address("o'brien", "example.com"))
    }
}
