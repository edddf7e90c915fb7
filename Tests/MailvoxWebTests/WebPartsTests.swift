import Foundation
import MailvoxCore
import MailvoxTemplates
import Testing

@testable import MailvoxWeb

/// The web inbox's pure parts: the voicemail row read from headers, forms, languages, pages.
@Suite struct WebPartsTests {
    static let summary = MessageSummary(
        uid: 7, modseq: 1, flags: MessageFlags(system: .seen), size: 1234,
        internalDate: Date(timeIntervalSince1970: 1_700_000_000))

    @Test func aVoiceMessageRowComesFromItsHeaders() {
        let header = Array(
            """
            From: =?utf-8?q?J=C3=BCrgen?= <+4930123456@host>\r
            X-CallingTelephoneNumber: +4930123456\r
            X-VoiceMessageSenderName: =?utf-8?q?J=C3=BCrgen_Gro=C3=9F?=\r
            Content-Duration: 42\r
            Importance: high\r
            \r

            """.utf8)
        let entry = VoicemailEntry(summary: Self.summary, header: header)
        #expect(entry.callerNumber == "+4930123456")
        #expect(entry.callerName == "Jürgen Groß")
        #expect(entry.seconds == 42)
        #expect(entry.urgent)
        #expect(entry.heard)
        #expect(entry.uid == 7)
    }

    @Test func aWithheldNumberAndAPlainMailStillList() {
        let withheld = VoicemailEntry(
            summary: Self.summary,
            header: Array("X-CallingTelephoneNumber: anonymous\r\nX-VoiceMessageDuration: 9\r\n\r\n".utf8))
        #expect(withheld.callerNumber == nil)
        #expect(withheld.callerName == nil)
        #expect(withheld.seconds == 9)
        #expect(!withheld.urgent)
        let mail = VoicemailEntry(
            summary: Self.summary, header: Array("From: \"Bob Smith\" <bob@example.com>\r\n\r\n".utf8))
        #expect(mail.callerName == "Bob Smith")
        #expect(mail.seconds == 0)
        let hostile = VoicemailEntry(
            summary: Self.summary,
            header: Array(
                ("Content-Duration: 99999999999999999999999\r\n" + String(repeating: "X: y\r\n", count: 5000)).utf8))
        #expect(hostile.seconds == 0)
    }

    @Test func formsDecodeAsBrowsersEncodeThem() {
        let fields = FormFields.parse("a=1&b=x+y%2Bz&a=2&empty=&flag&bad=%zz&%C3%BC=%C3%A4")
        #expect(fields["a"] == "1", "the first of a repeated name")
        #expect(fields["b"] == "x y+z")
        #expect(fields["empty"] == "")
        #expect(fields["flag"] == "")
        #expect(fields["bad"] == "%zz")
        #expect(fields["ü"] == "ä")
        #expect(FormFields.parse(String(repeating: "k=v&", count: 10_000)).count == 1)
    }

    @Test func onlyPathsOfThisSiteAreFollowedAfterSignIn() {
        #expect(WebInbox.safePath("/inbox?folder=Saved") == "/inbox?folder=Saved")
        for hostile in ["//evil.example/", "https://evil.example/", "/\\evil", "inbox", "/a\r\nSet-Cookie: x", nil] {
            #expect(WebInbox.safePath(hostile) == nil, "\(hostile ?? "nil")")
        }
    }

    @Test func pagesLoadAndSpeakTheLanguageAsked() throws {
        let pages = try WebPages(searchPath: TemplateSearchPath(folders: [TemplateSearchPath.checkoutTemplates]))
        #expect(pages.language(accepting: "de-CH,de;q=0.9,en;q=0.8") == "de-ch")
        #expect(pages.language(accepting: "en-US,de;q=0.5") == nil)
        #expect(pages.language(accepting: "fr,de;q=0.3") == "de")
        #expect(pages.language(accepting: "fr") == nil)
        #expect(pages.words("de-ch")["sign_in"] == "Anmelden")
        #expect(pages.words(nil)["sign_in"] == "Sign in")
        // Every German word exists in English, so a page never shows a raw key.
        let english = Set(pages.words(nil).keys)
        let german = try #require(pages.strings["de"])
        #expect(Set(german.keys).isSubset(of: english))
        let html = pages.render("login", language: "de", values: ["csrf": "t<k>", "next": "/inbox"])
        #expect(html.contains("<html lang=\"de\">"))
        #expect(html.contains("Anmelden"))
        #expect(html.contains("t&lt;k&gt;"), "values are escaped")
        #expect(!html.contains("<script>"), "no inline script")
    }

    @Test func aBrokenPageStopsTheStartNamingItsFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder + "/web", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "{{#open}}".write(toFile: folder + "/web/inbox.mustache", atomically: true, encoding: .utf8)
        #expect {
            _ = try WebPages(searchPath: TemplateSearchPath(folders: [folder, TemplateSearchPath.checkoutTemplates]))
        } throws: { error in
            "\(error)".contains(folder + "/web/inbox.mustache")
        }
    }

    /// The key typed by hand must be the key in the QR code: base32 of the secret's bytes.
    @Test func theSecondFactorsKeyByHandIsTheQRCodesKey() {
        let secret = "MNNHLAOOC2VWGUFSAVRT7AYDFXIKHJCB"
        let uri = SecondFactor.uri(secret: secret, account: "1000", issuer: "voicemail.example.com")
        let inURI = uri.components(separatedBy: "secret=")[1].prefix { $0 != "&" }
        #expect(SecondFactor.displayKey(secret).replacingOccurrences(of: " ", with: "") == inURI)
        #expect(SecondFactor.displayKey("f") == "MY")
        #expect(SecondFactor.displayKey("foobar") == "MZXW 6YTB OI", "RFC 4648 §10, without padding")
        #expect(uri.hasPrefix("otpauth://totp/voicemail.example.com:1000?secret="))
    }

    @Test func aCodeIsAcceptedForItsStepAndOneStepOfDrift() {
        let secret = SecondFactor.newSecret()
        #expect(secret.count == 32)
        #expect(SecondFactor.newSecret() != secret)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        // RFC 6238's own test vector, for the ASCII secret "12345678901234567890" at 59 s: 287082.
        #expect(
            SecondFactor.step(of: "287082", secret: "12345678901234567890", now: Date(timeIntervalSince1970: 59)) == 1)
        #expect(
            SecondFactor.step(of: "287 082", secret: "12345678901234567890", now: Date(timeIntervalSince1970: 59)) == 1)
        #expect(
            SecondFactor.step(of: "287082", secret: "12345678901234567890", now: Date(timeIntervalSince1970: 200))
                == nil)
        for bad in ["", "12345", "1234567", "abcdef", "٢٨٧٠٨٢"] {
            #expect(SecondFactor.step(of: bad, secret: secret, now: now) == nil, "\(bad)")
        }
    }
}
