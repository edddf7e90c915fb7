import Foundation
import MailvoxCore

/// Builds the voice message of docs/DESIGN.md §4 as CRLF bytes: the stored copy and the alert's base.
///
/// Written directly rather than through libetpan's `mailmime_write`, whose boundaries come
/// from the unseeded `random()`: here boundaries derive from a seed, so the same input and
/// seed give the same bytes (golden files), and production passes a random seed.
public enum VoiceMessageComposer {
    /// The message for `message`, with boundaries drawn from `seed`.
    public static func compose(_ message: VoiceMessage, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        let mixed = boundary(&generator)
        let alternative = boundary(&generator)
        let seconds = max(0, Int(message.duration.rounded()))
        let host = MIMEWriting.sanitized(message.hostname)
        let caller = message.callerLocalPart
        var out = ""

        // The top-level header (docs/DESIGN.md §4).
        let fromName = message.callerName.map(MIMEWriting.sanitized).flatMap { $0.isEmpty ? nil : $0 } ?? caller
        let fromAddress = "<\(caller ?? "unknown")@\(host)>"
        if let sender = message.alertSender {
            out +=
                "From: " + MIMEWriting.phrase(sender.displayName) + " <\(MIMEWriting.sanitized(sender.address))>"
                + MIMEWriting.crlf
        } else {
            out += "From: " + (fromName.map { MIMEWriting.phrase($0) + " " } ?? "") + fromAddress + MIMEWriting.crlf
        }
        let ownerAddress = MIMEWriting.sanitized(message.ownerAddress ?? "\(message.mailbox)@\(host)")
        let ownerName = MIMEWriting.sanitized(message.ownerName)
        out +=
            "To: " + (ownerName.isEmpty ? "" : MIMEWriting.phrase(ownerName) + " ") + "<\(ownerAddress)>"
            + MIMEWriting.crlf
        out += "Date: " + MIMEWriting.dateTime(message.receivedAt, in: message.timeZone) + MIMEWriting.crlf
        out += MIMEWriting.unstructuredField("Subject", message.subject)
        out += "Message-ID: <\(MIMEWriting.sanitized(message.depositID))@\(host)>" + MIMEWriting.crlf
        out += "MIME-Version: 1.0" + MIMEWriting.crlf
        // RFC 3458 §4.2; RFC 3803 §2.
        out += "Message-Context: voice-message" + MIMEWriting.crlf
        out += "Content-Duration: \(seconds)" + MIMEWriting.crlf
        if message.urgent { out += "Importance: high" + MIMEWriting.crlf }
        // Read by Outlook and Asterisk-based tools.
        out += "X-CallingTelephoneNumber: \(caller ?? "unknown")" + MIMEWriting.crlf
        out += "X-VoiceMessageDuration: \(seconds)" + MIMEWriting.crlf
        if let name = fromName, message.callerName != nil {
            out += MIMEWriting.unstructuredField("X-VoiceMessageSenderName", name)
        }
        out += "Content-Type: multipart/mixed; boundary=\"\(mixed)\"" + MIMEWriting.crlf
        out += MIMEWriting.crlf

        // The readable body: text and HTML from the templates.
        out += "--\(mixed)" + MIMEWriting.crlf
        out += "Content-Type: multipart/alternative; boundary=\"\(alternative)\"" + MIMEWriting.crlf
        out += MIMEWriting.crlf
        out += "--\(alternative)" + MIMEWriting.crlf
        out += textPart(subtype: "plain", message.text)
        out += "--\(alternative)" + MIMEWriting.crlf
        out += textPart(subtype: "html", message.html)
        out += "--\(alternative)--" + MIMEWriting.crlf

        for audio in message.audio {
            let name = message.attachmentName(for: audio.format)
            out += "--\(mixed)" + MIMEWriting.crlf
            out +=
                "Content-Type: \(audio.format.mediaType);" + MIMEWriting.crlf + " "
                + MIMEWriting.parameter("name", name) + MIMEWriting.crlf
            out += "Content-Transfer-Encoding: base64" + MIMEWriting.crlf
            out +=
                "Content-Disposition: attachment;" + MIMEWriting.crlf + " "
                + MIMEWriting.parameter("filename", name) + MIMEWriting.crlf
            out += "Content-Duration: \(seconds)" + MIMEWriting.crlf
            out += MIMEWriting.crlf
            out += MIMEWriting.base64Lines(audio.bytes)
        }

        if let transcript = message.transcript, !transcript.isEmpty {
            let name = message.attachmentName(for: .mp3).replacingOccurrences(of: ".mp3", with: "-transcript.txt")
            out += "--\(mixed)" + MIMEWriting.crlf
            out += "Content-Type: text/plain; charset=utf-8" + MIMEWriting.crlf
            out += "Content-Transfer-Encoding: quoted-printable" + MIMEWriting.crlf
            out +=
                "Content-Disposition: inline;" + MIMEWriting.crlf + " " + MIMEWriting.parameter("filename", name)
                + MIMEWriting.crlf
            out += "Content-Description: Transcript" + MIMEWriting.crlf
            out += MIMEWriting.crlf
            out += MIMEWriting.quotedPrintable(transcript) + finalLineBreak(transcript)
        }
        out += "--\(mixed)--" + MIMEWriting.crlf
        return Array(out.utf8)
    }

    /// The message with boundaries from the system's random generator.
    public static func compose(_ message: VoiceMessage) -> [UInt8] {
        var random = SystemRandomNumberGenerator()
        return compose(message, seed: random.next())
    }

    private static func textPart(subtype: String, _ text: String) -> String {
        "Content-Type: text/\(subtype); charset=utf-8" + MIMEWriting.crlf
            + "Content-Transfer-Encoding: quoted-printable" + MIMEWriting.crlf + MIMEWriting.crlf
            + MIMEWriting.quotedPrintable(text) + finalLineBreak(text)
    }

    /// RFC 2046 §5.1.1: the CRLF before a boundary belongs to the boundary, so a text that ends
    /// in a line break needs one more to keep it.
    private static func finalLineBreak(_ text: String) -> String {
        text.hasSuffix("\n") || text.hasSuffix("\r") ? MIMEWriting.crlf : ""
    }

    /// `=_mvx_` and 24 hex digits: "=_" never occurs in base64 or quoted-printable output
    /// (RFC 2045 §6.7 allows "=" only before hex digits or a line break), so no body can
    /// contain a boundary line.
    private static func boundary(_ generator: inout SplitMix64) -> String {
        let high = generator.next()
        let low = generator.next() & 0xFFFF_FFFF
        return "=_mvx_" + hex(high, width: 16) + hex(low, width: 8)
    }

    private static func hex(_ value: UInt64, width: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
