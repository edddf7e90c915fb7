import Foundation
import MailvoxCore
import MailvoxIMAPCore
import NIOCore
import Testing

@testable import MailvoxMIME

/// Our ENVELOPE and BODYSTRUCTURE against Dovecot's, a reference nobody here wrote: Dovecot's
/// `imap` runs pre-authenticated over stdin on a temporary Maildir holding the corpus (docs/PLATFORM.md).
/// Ours are written by the IMAP server's own encoder; both sides are compared after literals
/// become quoted strings (a server may choose either for the same string).
@Suite struct DovecotDifferentialTests {
    static func crlf(_ text: String) -> [UInt8] { Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8) }

    /// The corpus: our voice messages and hand-made hard cases.
    static var corpus: [(String, [UInt8])] {
        var cases: [(String, [UInt8])] = [
            ("voice-basic", VoiceMessageComposer.compose(Fixtures.message(), seed: 1)),
            (
                "voice-all",
                VoiceMessageComposer.compose(
                    Fixtures.message(
                        urgent: true, formats: [.mp3, .wav, .opus, .flac], transcript: "Bitte zurückrufen."), seed: 2)
            ),
            (
                "voice-withheld",
                VoiceMessageComposer.compose(Fixtures.message(callerNumber: nil, callerName: nil), seed: 3)
            ),
            ("nested", ParserTests.nested),
            ("no-mime-version", crlf("From: a@example.com\nTo: b@example.com\nSubject: plain\n\nhello\nworld\n")),
            ("empty-body", crlf("From: a@example.com\nSubject: empty\n\n")),
            ("header-only", crlf("From: a@example.com\nSubject: nothing after\n")),
            (
                "broken-boundary",
                crlf(
                    "From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"never\"\n\n--other\nContent-Type: text/plain\n\ntext\n"
                )
            ),
            (
                "unclosed-multipart",
                crlf(
                    "From: a@example.com\nContent-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\none\n--b\nContent-Type: text/html\n\n<p>two</p>\n"
                )
            ),
            (
                "encoded-headers",
                crlf(
                    "From: =?iso-8859-1?Q?J=FCrgen_Gro=DF?= <j@example.com>\nTo: \"M\\\"uller, Anna\" <anna@example.com>, bob@example.com\nCc: list: a@example.com, \"B\" <b@example.com>;\nSubject: =?utf-8?B?R3LDvMOfZQ==?=\nIn-Reply-To: <x@y>\nMessage-ID: <m@example.com>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nReply-To: r@example.com\nSender: s@example.com\n\nbody\n"
                )
            ),
            (
                "digest",
                crlf(
                    "From: d@example.com\nContent-Type: multipart/digest; boundary=d\n\n--d\n\nFrom: one@example.com\nSubject: one\n\nfirst\n--d\n\nFrom: two@example.com\nSubject: two\n\nsecond\n--d--\n"
                )
            ),
            (
                "params-and-extensions",
                crlf(
                    "From: a@example.com\nContent-Type: multipart/mixed; boundary=z; charset=x\nContent-Language: en\n\n--z\nContent-Type: text/plain; charset=\"utf-8\"; format=flowed\nContent-Transfer-Encoding: quoted-printable\nContent-ID: <c@x>\nContent-Description: a note\nContent-Disposition: inline; filename=\"n.txt\"\nContent-Language: de\nContent-Location: http://x.example/n\nContent-MD5: abc=\n\nsome =C3=BC text\n--z\nContent-Type: image/png; name=p.png\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename*=utf-8''%C3%BC.png\n\niVBORw0KGgo=\n--z--\n"
                )
            ),
        ]
        // Address forms of RFC 5322 §3.4 and its obsolete syntax (§4.4), as #14 found them.
        let addressCases: [(String, String)] = [
            ("address-comment-name", "From: user@domain (Real Name)\nTo: a@b.example (first) (second)\n"),
            ("address-empty-groups", "From: a@example.com\nCc: group:;, group2:;\nBcc: undisclosed-recipients:;\n"),
            (
                "address-cfws",
                "From: <user-from (comment)@ (comment) domain.org>\nTo: <a@b> (Angle), \"quoted local\"@example.com\n"
            ),
            ("address-obsolete-dots", "From: user . name @ example . org\n"),
            ("address-phrase-only", "From: Plain Name\nTo: x@y.example\n"),
            (
                "address-quoted",
                "From: \"Quoted \\\"Name\\\"\" <q@x.example>\nTo: Plain  Name <p@x.example>, \"\" <e@x.example>\n"
            ),
            ("address-missing-parts", "From: nodomain\nTo: <@route.example,@r2.example:src@x.example>, <>\n"),
            (
                "address-group-members",
                "From: a@example.com\nTo: Team: x@y.example, (c) \"Z\" <z@y.example>;, tail@y.example\n"
            ),
            (
                "address-encoded",
                "From: =?utf-8?Q?J=C3=BCrgen?= <j@example.com>\nTo: \"=?utf-8?Q?A?=\" <a@example.com>\n"
            ),
            ("address-garbage", "From: <<<>>> @@ ,,, \"unclosed\nTo: a@b@c, (unclosed comment\n"),
        ]
        for (name, header) in addressCases {
            cases.append((name, crlf(header + "Subject: \(name)\n\nbody\n")))
        }
        let huge = (0..<400).map { "X-Field-\($0): \(String(repeating: "v", count: 100))\n" }.joined()
        cases.append(("huge-header", crlf("From: h@example.com\n" + huge + "Subject: huge\n\nbody\n")))
        return cases
    }

    /// Where we differ from Dovecot on purpose, and why (docs/MIME.md).
    static let knownDifferences = [
        "address-obsolete-dots":
            "`user . name @ example . org` is the obsolete addr-spec of RFC 5322 §4.4 (CFWS around the dots), user.name@example.org, and we read it so; Dovecot reads a phrase \"user. name\" without mailbox or domain",
        "nested":
            "a message/rfc822 part whose inner multipart closes just before the outer delimiter: Dovecot counts the line break before `--outer` into the part (206 octets); RFC 2046 §5.1.1 gives it to the delimiter, and so do we (204), so BODY[2] and its size agree",
    ]

    static func dovecot(_ messages: [[UInt8]]) throws -> [String] {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "mvx-dovecot-\(UUID().uuidString)")
        let mail = folder.appendingPathComponent("u/Mail")
        for sub in ["cur", "new", "tmp"] {
            try FileManager.default.createDirectory(
                at: mail.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        for (index, bytes) in messages.enumerated() {
            try Data(bytes).write(to: mail.appendingPathComponent("cur/\(1000 + index).mvx:2,"))
        }
        try
            "log_path = \(folder.path)/dovecot.log\nssl = no\nmail_home = \(folder.path)/%u\nmail_location = maildir:~/Mail\n"
            .write(to: folder.appendingPathComponent("dovecot.conf"), atomically: true, encoding: .utf8)
        let setup = Process()
        setup.executableURL = URL(fileURLWithPath: "/bin/sh")
        setup.arguments = ["-c", "chmod 777 '\(folder.path)' && chown -R nobody '\(folder.path)/u'"]
        try setup.run()
        setup.waitUntilExit()
        let process = Process()
        // setpriv, not su: no PAM session, which under load sometimes failed and left Dovecot silent.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = [
            "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/env", "-i", "USER=u",
            "PATH=/usr/bin:/bin", "doveadm", "-c", "\(folder.path)/dovecot.conf", "exec", "imap",
        ]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(
            Data("a SELECT INBOX\r\nb FETCH 1:* (ENVELOPE BODYSTRUCTURE)\r\nc LOGOUT\r\n".utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if !String(decoding: data, as: UTF8.self).contains(" FETCH ") { print("dovecot stderr: \(problems)") }
        try? FileManager.default.removeItem(at: folder)
        // One FETCH response per message, in UID order (the file names sort as the corpus).
        let text = unliteral(Array(data))
        return text.components(separatedBy: "\r\n* ").filter { $0.contains(" FETCH (ENVELOPE ") }.map { response in
            var body = response
            if body.hasPrefix("* ") { body.removeFirst(2) }
            if let end = body.range(of: "\r\nb OK") { body = String(body[..<end.lowerBound]) }
            return body
        }
    }

    @Test func envelopeAndBodyStructureAgreeWithDovecot() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/doveadm") else {
            Issue.record("dovecot-imapd is not installed; the bootstrap installs it")
            return
        }
        let corpus = Self.corpus
        let theirs = try Self.dovecot(corpus.map(\.1))
        try #require(theirs.count == corpus.count, "Dovecot answered \(theirs.count) of \(corpus.count)")
        var agreed = 0
        for (index, (name, bytes)) in corpus.enumerated() {
            let parsed = try MessageParser.parse(bytes)
            var encoded = ResponseEncoder.encode(
                .untagged(
                    .fetch(
                        sequenceNumber: UInt32(index + 1), [.envelope(parsed.envelope), .bodyStructure(parsed.body)])))
            var ours = Self.unliteral(encoded.readBytes(length: encoded.readableBytes) ?? [])
            ours.removeFirst(2)  // "* "
            ours.removeLast()  // CRLF, one Character
            if ours == theirs[index] {
                agreed += 1
            } else if let reason = Self.knownDifferences[name] {
                withKnownIssue("differs from Dovecot: \(reason)") {
                    Issue.record("\(name) differs:\nours:   \(ours)\ntheirs: \(theirs[index])")
                }
            } else {
                Issue.record("\(name) differs:\nours:   \(ours)\ntheirs: \(theirs[index])")
            }
        }
        print("Dovecot differential: \(agreed) of \(corpus.count) messages agree")
    }

    /// IMAP text with every `{n}` literal turned into the equivalent quoted string.
    static func unliteral(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "{"), let close = bytes[index...].firstIndex(of: UInt8(ascii: "}")),
                close + 2 < bytes.count, bytes[close + 1] == 0x0D, bytes[close + 2] == 0x0A,
                let count = Int(String(decoding: bytes[(index + 1)..<close], as: UTF8.self)),
                close + 3 + count <= bytes.count
            {
                out.append(UInt8(ascii: "\""))
                for byte in bytes[(close + 3)..<(close + 3 + count)] {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                    out.append(byte)
                }
                out.append(UInt8(ascii: "\""))
                index = close + 3 + count
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
