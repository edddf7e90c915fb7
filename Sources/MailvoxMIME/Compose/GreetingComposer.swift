import Foundation
import MailvoxCore

/// A mailbox's greeting as a voice message in its Greetings folder (docs/WEB.md): what the
/// PBX plays to callers, stored like a voicemail so IMAP clients and the web inbox both see
/// it, marked with `X-CNS-Greeting-Type` (`unavailable`, `busy`, `name`, `temporary`).
public enum GreetingComposer {
    public static let types = ["unavailable", "busy", "name", "temporary"]

    public struct Audio: Sendable {
        public var mediaType: String
        public var fileExtension: String
        public var bytes: [UInt8]

        public init(mediaType: String, fileExtension: String, bytes: [UInt8]) {
            self.mediaType = mediaType
            self.fileExtension = fileExtension
            self.bytes = bytes
        }
    }

    /// The message: a short text part, then each audio format as an attachment.
    public static func compose(
        type: String, mailbox: String, ownerName: String, hostname: String, duration: Double, date: Date,
        timeZone: TimeZone, audio: [Audio], seed: UInt64? = nil
    ) -> [UInt8] {
        precondition(types.contains(type), "an unknown greeting type")
        var random = SystemRandomNumberGenerator()
        var generator = SplitMix64(seed: seed ?? random.next())
        let boundary =
            "=_mvx_" + String(generator.next(), radix: 16) + String(generator.next() & 0xFFFF_FFFF, radix: 16)
        let seconds = max(0, Int(duration.rounded()))
        let host = MIMEWriting.sanitized(hostname)
        let address = "<\(MIMEWriting.sanitized(mailbox))@\(host)>"
        let name = MIMEWriting.sanitized(ownerName)
        var out = "From: " + (name.isEmpty ? "" : MIMEWriting.phrase(name) + " ") + address + MIMEWriting.crlf
        out += "To: " + (name.isEmpty ? "" : MIMEWriting.phrase(name) + " ") + address + MIMEWriting.crlf
        out += "Date: " + MIMEWriting.dateTime(date, in: timeZone) + MIMEWriting.crlf
        out += MIMEWriting.unstructuredField("Subject", "Greeting: \(type)")
        out += "Message-ID: <greeting-\(String(generator.next(), radix: 16))@\(host)>" + MIMEWriting.crlf
        out += "MIME-Version: 1.0" + MIMEWriting.crlf
        out += "Message-Context: voice-message" + MIMEWriting.crlf
        out += "Content-Duration: \(seconds)" + MIMEWriting.crlf
        out += "X-CNS-Greeting-Type: \(type)" + MIMEWriting.crlf
        out += "Content-Type: multipart/mixed; boundary=\"\(boundary)\"" + MIMEWriting.crlf + MIMEWriting.crlf
        out += "--\(boundary)" + MIMEWriting.crlf
        out += "Content-Type: text/plain; charset=utf-8" + MIMEWriting.crlf + MIMEWriting.crlf
        out += "The \(type) greeting of mailbox \(MIMEWriting.sanitized(mailbox)), \(seconds) s." + MIMEWriting.crlf
        for part in audio {
            let file = "greeting-\(type).\(part.fileExtension)"
            out += "--\(boundary)" + MIMEWriting.crlf
            out += "Content-Type: \(part.mediaType);" + MIMEWriting.crlf + " " + MIMEWriting.parameter("name", file)
            out += MIMEWriting.crlf + "Content-Transfer-Encoding: base64" + MIMEWriting.crlf
            out += "Content-Disposition: attachment;" + MIMEWriting.crlf + " " + MIMEWriting.parameter("filename", file)
            out += MIMEWriting.crlf + "Content-Duration: \(seconds)" + MIMEWriting.crlf + MIMEWriting.crlf
            out += MIMEWriting.base64Lines(part.bytes)
        }
        out += "--\(boundary)--" + MIMEWriting.crlf
        return Array(out.utf8)
    }
}
