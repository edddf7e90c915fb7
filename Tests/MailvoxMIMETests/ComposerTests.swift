import Foundation
import MailvoxCore
import Testing

@testable import MailvoxMIME

@Suite struct ComposerTests {
    /// The composed message, byte for byte, against a reviewed golden file. Set
    /// `MAILVOX_UPDATE_GOLDEN=1` to rewrite the files after an intended change, then review the diff.
    @Test(arguments: [
        ("voicemail-basic", false, [Configuration.AudioFormat.mp3], nil as String?),
        ("voicemail-urgent-all-formats", true, [.mp3, .wav, .opus, .flac], "Hallo Anna, bitte ruf zurück."),
    ])
    func matchesGoldenFile(
        name: String, urgent: Bool, formats: [Configuration.AudioFormat], transcript: String?
    )
        throws
    {
        let bytes = VoiceMessageComposer.compose(
            Fixtures.message(urgent: urgent, formats: formats, transcript: transcript), seed: 7)
        let url = Fixtures.goldenFolder.appendingPathComponent(name + ".eml")
        if ProcessInfo.processInfo.environment["MAILVOX_UPDATE_GOLDEN"] == "1" {
            try Data(bytes).write(to: url)
        }
        let golden = try [UInt8](Data(contentsOf: url))
        #expect(bytes == golden, "\(name) differs from \(url.path)")
    }

    @Test func sameSeedSameBytesOtherSeedOtherBoundaries() {
        let message = Fixtures.message()
        #expect(VoiceMessageComposer.compose(message, seed: 1) == VoiceMessageComposer.compose(message, seed: 1))
        #expect(VoiceMessageComposer.compose(message, seed: 1) != VoiceMessageComposer.compose(message, seed: 2))
        #expect(VoiceMessageComposer.compose(message) != VoiceMessageComposer.compose(message))
    }

    @Test func everyLineIsCRLFAndShort() {
        let bytes = VoiceMessageComposer.compose(Fixtures.message(formats: [.mp3, .wav]), seed: 3)
        for (index, byte) in bytes.enumerated() where byte == 0x0A {
            #expect(index > 0 && bytes[index - 1] == 0x0D, "bare LF at \(index)")
        }
        #expect(!bytes.contains(where: { $0 >= 0x80 }), "8-bit octet in a 7-bit message")
        let lines = Fixtures.lines(bytes)
        #expect(lines.allSatisfy { $0.utf8.count <= 78 })
        #expect(lines.last == "", "message must end with CRLF")
    }

    @Test func headersOfDesignSection4() {
        let lines = Fixtures.lines(VoiceMessageComposer.compose(Fixtures.message(urgent: true), seed: 3))
        let header = Array(lines.prefix(while: { !$0.isEmpty }))
        #expect(header.contains("From: =?utf-8?B?SsO8cmdlbiBHcm/Dnw==?= <+4930123456@vm.example.net>"))
        #expect(header.contains("To: =?utf-8?B?QW5uYSBNw7xsbGVy?= <anna@example.com>"))
        #expect(header.contains("Date: Fri, 05 Jan 2024 14:32:07 +0100"))
        #expect(header.contains("Message-ID: <6f1c2d3e-0a1b-4c5d-8e9f-001122334455@vm.example.net>"))
        #expect(header.contains("Message-Context: voice-message"))
        #expect(header.contains("Content-Duration: 42"))
        #expect(header.contains("Importance: high"))
        #expect(header.contains("X-CallingTelephoneNumber: +4930123456"))
        #expect(header.contains("X-VoiceMessageDuration: 42"))
        #expect(header.contains { $0.hasPrefix("X-VoiceMessageSenderName: =?utf-8?B?") })
        #expect(header.contains("MIME-Version: 1.0"))
    }

    @Test func notUrgentHasNoImportance() {
        let text = String(decoding: VoiceMessageComposer.compose(Fixtures.message(), seed: 3), as: UTF8.self)
        #expect(!text.contains("Importance:"))
    }

    @Test func withheldCallerIsUnknown() {
        let message = Fixtures.message(callerNumber: "anonymous", callerName: nil)
        let text = String(decoding: VoiceMessageComposer.compose(message, seed: 3), as: UTF8.self)
        #expect(text.contains("From: <unknown@vm.example.net>\r\n"))
        #expect(text.contains("filename=\"voicemail-20240105-1432-unknown.mp3\""))
        #expect(!text.contains("X-VoiceMessageSenderName"))
    }

    @Test func callerNameCannotInjectHeaders() {
        let message = Fixtures.message(callerName: "Eve\r\nBcc: victim@example.com")
        let lines = Fixtures.lines(VoiceMessageComposer.compose(message, seed: 3))
        #expect(!lines.contains { $0.hasPrefix("Bcc:") })
        #expect(lines.contains("From: \"EveBcc: victim@example.com\" <+4930123456@vm.example.net>"))
    }

    @Test func attachmentNameUsesOwnersZoneAndDigits() {
        var message = Fixtures.message(callerNumber: "*31#0301234")
        #expect(message.attachmentName(for: .opus) == "voicemail-20240105-1432-310301234.opus")
        message.timeZone = TimeZone(identifier: "America/New_York")!
        #expect(message.attachmentName(for: .flac) == "voicemail-20240105-0832-310301234.flac")
    }

    @Test func longNonASCIIFilenameUsesRFC2231Continuations() {
        let value = MIMEWriting.parameter("filename", String(repeating: "Grüße-", count: 12) + ".mp3")
        #expect(value.hasPrefix("filename*0*=utf-8''Gr%C3%BC%C3%9Fe-"))
        #expect(value.contains("filename*1*="))
        #expect(MIMEWriting.parameter("filename", "a\"b.mp3") == "filename=\"a\\\"b.mp3\"")
    }

    @Test func quotedPrintableKeepsLinesShortAndEncodesTrailingSpace() {
        let encoded = MIMEWriting.quotedPrintable(String(repeating: "ä", count: 60) + " \nend ")
        let lines = encoded.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 76 })
        #expect(encoded.hasSuffix("end=20\r\n"))
    }

    /// An independent reader: Python's `email` package must find the same parts, names and audio bytes.
    @Test(arguments: [[Configuration.AudioFormat.mp3], [.mp3, .wav, .opus, .flac]])
    func pythonEmailReadsTheSameMessage(formats: [Configuration.AudioFormat]) throws {
        let message = Fixtures.message(urgent: true, formats: formats, transcript: "Bitte zurückrufen.")
        let bytes = VoiceMessageComposer.compose(message, seed: 11)
        let script = """
            import sys, json, hashlib
            from email import policy
            from email.parser import BytesParser
            msg = BytesParser(policy=policy.default).parse(sys.stdin.buffer)
            parts = []
            for part in msg.walk():
                if part.is_multipart():
                    parts.append([part.get_content_type(), None, None])
                else:
                    payload = part.get_payload(decode=True)
                    parts.append([part.get_content_type(), part.get_filename(), hashlib.sha256(payload).hexdigest()])
            print(json.dumps({
                "from_name": msg["From"].addresses[0].display_name,
                "from_addr": msg["From"].addresses[0].addr_spec,
                "to_name": msg["To"].addresses[0].display_name,
                "subject": str(msg["Subject"]),
                "sender_name": str(msg["X-VoiceMessageSenderName"]),
                "defects": sum(len(p.defects) for p in msg.walk()),
                "text": msg.get_body(("plain",)).get_content(),
                "parts": parts,
            }))
            """
        let output = try Fixtures.python(script, input: bytes)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(json["from_name"] as? String == "Jürgen Groß")
        #expect(json["from_addr"] as? String == "+4930123456@vm.example.net")
        #expect(json["to_name"] as? String == "Anna Müller")
        #expect(json["subject"] as? String == message.subject)
        #expect(json["sender_name"] as? String == "Jürgen Groß")
        #expect(json["defects"] as? Int == 0)
        #expect(
            json["text"] as? String == message.text.replacingOccurrences(of: "\n", with: "\r\n")
                || json["text"] as? String == message.text)
        let parts = try #require(json["parts"] as? [[Any]])
        var expected: [(String, String?, String?)] = [
            ("multipart/mixed", nil, nil), ("multipart/alternative", nil, nil),
            ("text/plain", nil, sha256(Array(message.text.utf8))),
            ("text/html", nil, sha256(Array(message.html.utf8))),
        ]
        for audio in message.audio {
            expected.append(
                (
                    audio.format.mediaType.components(separatedBy: ";")[0], message.attachmentName(for: audio.format),
                    sha256(audio.bytes)
                ))
        }
        expected.append(
            (
                "text/plain", "voicemail-20240105-1432-+4930123456-transcript.txt",
                sha256(Array("Bitte zurückrufen.".utf8))
            ))
        #expect(parts.count == expected.count)
        for (part, want) in zip(parts, expected) {
            #expect(part[0] as? String == want.0)
            #expect(part[1] as? String == want.1)
            #expect(part[2] as? String == want.2, "decoded bytes of \(want.0) \(want.1 ?? "")")
        }
    }

    private func sha256(_ bytes: [UInt8]) -> String {
        // Hashing in Python too keeps the comparison independent of any Swift code under test.
        (try? Fixtures.python(
            "import sys,hashlib;print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())", input: bytes))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }
}
