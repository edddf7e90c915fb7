import Foundation
import MailvoxCore
import MailvoxMIME
import MailvoxTestSupport
import Testing

@testable import MailvoxPipeline

/// What the email door takes from each PBX's voicemail mail, built by Tests/smtp/pbx_mail.py
/// from the PBXs' own templates (Asterisk app_voicemail, FreeSWITCH voicemail.tpl, a 3CX-style
/// mail, a plain phone system's application/octet-stream).
@Suite struct VoicemailMailTests {
    static let pbxMail = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("smtp/pbx_mail.py").path

    let directory: String
    let wav: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-vm-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        wav = directory + "/msg.wav"
        // A tiny real WAV: the tests here read mail, they do not probe audio.
        var bytes = Data("RIFF".utf8) + Self.le32(36 + 1600) + Data("WAVEfmt ".utf8) + Self.le32(16)
        bytes += Data([1, 0, 1, 0]) + Self.le32(8000) + Self.le32(16000) + Data([2, 0, 16, 0])
        bytes += Data("data".utf8) + Self.le32(1600) + Data(count: 1600)
        try bytes.write(to: URL(fileURLWithPath: wav))
    }

    static func le32(_ value: Int) -> Data { withUnsafeBytes(of: UInt32(value).littleEndian) { Data($0) } }

    func mail(_ format: String, _ arguments: [String] = []) throws -> InboundMail {
        let out = directory + "/\(format)-\(UUID().uuidString).eml"
        let audioFlag = ["asterisk", "freeswitch", "not-audio", "nested"].contains(format) ? "--wav" : "--audio"
        var args = [Self.pbxMail, format]
        if format != "no-audio" { args += [audioFlag, wav] }
        args += ["--caller-number", "+4930123456", "--caller-name", "Ada Lovelace", "--out", out] + arguments
        let result = try Subprocess.run(Subprocess.python, args)
        #expect(result.succeeded, "\(result.output)")
        return try InboundMail(bytes: Array(Data(contentsOf: URL(fileURLWithPath: out))), limits: .default)
    }

    func read(_ mail: InboundMail, patterns: [Configuration.CallerPattern] = []) throws -> VoicemailMail {
        try VoicemailMail.read(mail, sender: "pbx@pbx.example.com", patterns: patterns)
    }

    @Test func asteriskHeadersGiveTheCaller() throws {
        let voicemail = try read(mail("asterisk", ["--orig-time", "1704461527"]))
        #expect(voicemail.callerNumber == "+4930123456")
        #expect(voicemail.callerName == "Ada Lovelace")
        #expect(voicemail.fileExtension == "wav")
        #expect(voicemail.audio == (try Data(contentsOf: URL(fileURLWithPath: wav))))
        #expect(voicemail.messageID?.hasPrefix("<Asterisk-") == true)
        #expect(voicemail.urgent == false)
    }

    @Test func asteriskWav49AndUrgentSubject() throws {
        let voicemail = try read(mail("asterisk", ["--wav49", "--urgent"]))
        #expect(voicemail.fileExtension == "wav")
        #expect(voicemail.urgent)
    }

    @Test func asteriskImapHeadersGiveTheTimeOfTheCall() throws {
        let voicemail = try read(mail("asterisk", ["--imap-headers", "--orig-time", "1704461527"]))
        #expect(voicemail.receivedAt == Date(timeIntervalSince1970: 1_704_461_527))
    }

    @Test func asteriskNumberOnlyNeverTakesThePBXNameOrTheMailboxNumber() throws {
        // A caller without a name: "Asterisk PBX" (From) is not the caller, and the Subject's
        // "mailbox 2000" is not a number for the caller.
        let voicemail = try read(mail("asterisk", ["--caller-name", ""]))
        #expect(voicemail.callerNumber == "+4930123456")
        #expect(voicemail.callerName == nil)
    }

    @Test func freeSwitchFromHeaderGivesTheCaller() throws {
        let voicemail = try read(mail("freeswitch"))
        #expect(voicemail.callerNumber == "+4930123456")
        #expect(voicemail.callerName == "Ada Lovelace")
        #expect(voicemail.fileExtension == "wav")
    }

    @Test func threeCXSubjectGivesTheCaller() throws {
        let voicemail = try read(mail("threecx", ["--format", "wav"]))
        #expect(voicemail.callerNumber == "+4930123456")
        #expect(voicemail.callerName == "Ada Lovelace")
    }

    @Test func octetStreamWithAnAudioNameIsTheRecording() throws {
        let voicemail = try read(mail("octet-stream"))
        #expect(voicemail.fileExtension == "wav")
        #expect(voicemail.callerNumber == "+4930123456")
        #expect(voicemail.callerName == "Ada Lovelace")
    }

    @Test func audioInsideAnEncapsulatedMessageIsFound() throws {
        let voicemail = try read(mail("nested"))
        #expect(voicemail.audio == (try Data(contentsOf: URL(fileURLWithPath: wav))))
    }

    @Test func mailWithoutAudioIsRefused() throws {
        #expect(throws: VoicemailMail.Refusal.noAudio) { try read(mail("no-audio")) }
    }

    @Test func aConfiguredPatternForTheSenderComesFirst() throws {
        let pattern = Configuration.CallerPattern(
            sender: "@pbx.example.com", pattern: #"^Voicemail for (?<name>\w+) from (?<number>[0-9]+)$"#)
        let voicemail = try read(
            mail("octet-stream", ["--subject", "Voicemail for Grace from 0301234567"]), patterns: [pattern])
        #expect(voicemail.callerNumber == "0301234567")
        #expect(voicemail.callerName == "Grace")
        // For another sender the pattern does not apply; the built-in "from NUMBER" still finds the number.
        let other = try VoicemailMail.read(
            mail("octet-stream", ["--subject", "Voicemail for Grace from 0301234567"]), sender: "x@elsewhere.example",
            patterns: [pattern])
        #expect(other.callerNumber == "0301234567")
        #expect(other.callerName == nil)
    }

    @Test(
        arguments: [
            ("New voicemail from \"Bob Builder\" <+441234567890>", "+441234567890", "Bob Builder"),
            ("Voicemail from +49 30 123 456", "+4930123456", nil),
            ("Nouveau message de 06 12 34 56 78", "0612345678", nil),
            ("[PBX]: New message 3 in mailbox 2000", nil, nil),
        ] as [(String, String?, String?)])
    func builtInSubjectPatterns(subject: String, number: String?, name: String?) throws {
        let voicemail = try read(
            mail("octet-stream", ["--subject", subject, "--caller-name", "", "--caller-number", ""]))
        #expect(voicemail.callerNumber == number)
        #expect(voicemail.callerName == name)
    }
}
