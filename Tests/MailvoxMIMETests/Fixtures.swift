import Foundation
import MailvoxCore
import MailvoxTestSupport
import Testing

@testable import MailvoxMIME

/// Shared inputs and helpers of the MIME tests.
enum Fixtures {
    /// 2024-01-05 13:32:07 UTC, a Friday: 14:32 in Berlin.
    static let callTime = Date(timeIntervalSince1970: 1_704_461_527)
    static let berlin = TimeZone(identifier: "Europe/Berlin")!

    /// Bytes that look like nothing in particular, every octet value included.
    static func audioBytes(count: Int, salt: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(salt)) }
    }

    static func message(
        callerNumber: String? = "+4930123456", callerName: String? = "Jürgen Groß", urgent: Bool = false,
        formats: [Configuration.AudioFormat] = [.mp3], transcript: String? = nil
    ) -> VoiceMessage {
        VoiceMessage(
            depositID: "6f1c2d3e-0a1b-4c5d-8e9f-001122334455", hostname: "vm.example.net",
            ownerName: "Anna Müller", ownerAddress: "anna@example.com", mailbox: MailboxID("1000")!,
            callerNumber: callerNumber, callerName: callerName, receivedAt: callTime, timeZone: berlin, duration: 42.4,
            urgent: urgent, subject: "Voicemail from Jürgen Groß (+49 3012 3456) (0:42)",
            text: "You have a new voicemail.\nFrom: Jürgen Groß\nA line with = sign and trailing space \n",
            html: "<p>You have a new voicemail from J&uuml;rgen Gro&szlig;.</p>\n",
            audio: formats.enumerated().map { index, format in
                VoiceMessage.Audio(format: format, bytes: audioBytes(count: 3000 + index * 101, salt: UInt8(index)))
            },
            transcript: transcript)
    }

    static var goldenFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    }

    /// Runs `/usr/bin/python3` with `script`, handing it `input` on stdin; returns stdout.
    static func python(_ script: String, input: [UInt8]) throws -> String {
        try Subprocess.check("/usr/bin/python3", ["-c", script], stdin: Data(input)).stdout
    }

    static func lines(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
    }
}
