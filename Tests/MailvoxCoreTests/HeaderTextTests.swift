import Foundation
import MailvoxCore
import Testing

/// The RFC 2047 decoder and RFC 5322 date parser that IMAP SORT reads the ENVELOPE with.
@Suite struct HeaderTextTests {
    @Test(arguments: [
        ("=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?=", "Jürgen Müller"),
        ("=?iso-8859-1?q?J=FCrgen?= <x@y>", "Jürgen <x@y>"),
        ("=?UTF-8?B?UmU6IEFudHdvcnQ=?=", "Re: Antwort"),
        // RFC 2047 §8: white space between adjacent encoded-words disappears, elsewhere it stays.
        ("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("=?ISO-8859-1?Q?a?=  \t =?ISO-8859-1?Q?b?=", "ab"),
        ("=?ISO-8859-1?Q?a?= b", "a b"),
        ("=?UTF-8*de?Q?Gr=C3=BC=C3=9Fe?=", "Grüße"),
        ("Plain text, no words", "Plain text, no words"),
        ("=?unknown-7?Q?x?= stays", "=?unknown-7?Q?x?= stays"),
        ("=?UTF-8?X?bad?=", "=?UTF-8?X?bad?="),
        ("=?UTF-8?Q?unterminated", "=?UTF-8?Q?unterminated"),
        ("=?", "=?"),
    ])
    func decodesEncodedWords(_ input: String, _ expected: String) {
        #expect(EncodedWords.decode(input) == expected)
    }

    @Test(arguments: [
        ("Mon, 7 Feb 1994 21:52:25 -0800", 760_686_745),
        ("7 Feb 1994 21:52:25 -0800", 760_686_745),
        ("Tue, 8 Feb 1994 05:52 +0000", 760_686_720),
        ("Mon, 7 Feb 94 21:52:25 PST", 760_686_745),
        ("Thu, 1 Jan 1970 00:00:00 GMT (the epoch)", 0),
        ("Sun, 29 Feb 2004 12:00:00 +0530", 1_078_036_200),
        ("1 Jan 30 00:00:00 +0000", 1_893_456_000),
    ])
    func parsesDates(_ input: String, _ seconds: Int) {
        #expect(MessageDate.parse(input) == Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    @Test(arguments: [
        "", "yesterday", "Mon, 32 Feb 1994 10:00:00 +0000", "7 Foo 1994 10:00 +0000", "7 Feb 1994",
        "7 Feb 1994 25:00 +0000", "7 Feb 1994 10:00 +12345", "Xyz, 7 Feb 1994 10:00 +0000",
    ])
    func refusesWhatIsNotADate(_ input: String) {
        #expect(MessageDate.parse(input) == nil)
    }
}
