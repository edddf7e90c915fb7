import Foundation
import MailvoxCore

/// Everything the composer needs for one voice message (docs/DESIGN.md §4): who called whom and
/// when, the rendered templates, and the audio in each configured format.
public struct VoiceMessage: Sendable {
    /// The deposit id; it becomes the Message-ID's left part.
    public var depositID: String
    /// `[server] hostname`: Message-ID and From domain.
    public var hostname: String
    public var ownerName: String
    /// The owner's first email address, or nil for `<ID@HOSTNAME>`.
    public var ownerAddress: String?
    public var mailbox: MailboxID
    /// As the PBX sent it (`+4930123456`, `030123456`, `201`); nil, empty or a withheld word means withheld.
    public var callerNumber: String?
    public var callerName: String?
    /// When the call was received; the Date header.
    public var receivedAt: Date
    /// The owner's zone: the Date offset and the attachment names use it.
    public var timeZone: TimeZone
    /// Length of the recording in seconds (rounded for Content-Duration).
    public var duration: Double
    public var urgent: Bool
    /// Rendered `voicemail.subject.mustache`, `.txt` and `.html`.
    public var subject: String
    public var text: String
    public var html: String
    /// One attachment per configured format, the primary first.
    public var audio: [Audio]
    /// A transcript of the recording; when present it is attached as a text part too.
    public var transcript: String?
    /// Set for the alert copy (docs/DESIGN.md §7): `From:` becomes this name and address (the
    /// relay's `[smtp] from`, the caller in the display name) instead of the caller-style From.
    public var alertSender: Sender?

    /// A From mailbox: display name (RFC 2047-encoded when not ASCII) and address.
    public struct Sender: Sendable, Equatable {
        public var displayName: String
        public var address: String

        public init(displayName: String, address: String) {
            self.displayName = displayName
            self.address = address
        }
    }

    /// One encoded recording.
    public struct Audio: Sendable {
        public var format: Configuration.AudioFormat
        public var bytes: [UInt8]

        public init(format: Configuration.AudioFormat, bytes: [UInt8]) {
            self.format = format
            self.bytes = bytes
        }
    }

    public init(
        depositID: String, hostname: String, ownerName: String, ownerAddress: String?, mailbox: MailboxID,
        callerNumber: String?, callerName: String?, receivedAt: Date, timeZone: TimeZone, duration: Double,
        urgent: Bool, subject: String, text: String, html: String, audio: [Audio], transcript: String? = nil
    ) {
        self.depositID = depositID
        self.hostname = hostname
        self.ownerName = ownerName
        self.ownerAddress = ownerAddress
        self.mailbox = mailbox
        self.callerNumber = callerNumber
        self.callerName = callerName
        self.receivedAt = receivedAt
        self.timeZone = timeZone
        self.duration = duration
        self.urgent = urgent
        self.subject = subject
        self.text = text
        self.html = html
        self.audio = audio
        self.transcript = transcript
    }

    /// The caller number as the From local part and in file names: only `+`, digits, `*` and
    /// `#` survive; nil when withheld (docs/DESIGN.md §3.6).
    public var callerLocalPart: String? {
        guard let number = callerNumber?.trimmingCharacters(in: .whitespaces), !number.isEmpty,
            !["anonymous", "unknown", "private", "withheld"].contains(number.lowercased())
        else { return nil }
        let kept = String(number.filter { $0.isASCII && ($0.isNumber || "+*#".contains($0)) })
        return kept.isEmpty ? nil : kept
    }

    /// `voicemail-YYYYMMDD-HHMM-NUMBER.EXT` in the owner's zone; NUMBER is digits and `+` only,
    /// `unknown` when withheld (docs/DESIGN.md §4).
    public func attachmentName(for format: Configuration.AudioFormat) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: receivedAt)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let stamp =
            pad(parts.year!, 4) + pad(parts.month!, 2) + pad(parts.day!, 2) + "-" + pad(parts.hour!, 2)
            + pad(parts.minute!, 2)
        let digits = callerLocalPart.map { String($0.filter { $0.isNumber || $0 == "+" }) } ?? ""
        return "voicemail-\(stamp)-\(digits.isEmpty ? "unknown" : digits).\(format.fileExtension)"
    }
}

extension Configuration.AudioFormat {
    /// The attachment's Content-Type (docs/DESIGN.md §4).
    public var mediaType: String {
        switch self {
        case .mp3: "audio/mpeg"
        case .wav: "audio/wav"
        case .opus: "audio/ogg; codecs=opus"
        case .flac: "audio/flac"
        }
    }

    public var fileExtension: String {
        switch self {
        case .mp3: "mp3"
        case .wav: "wav"
        case .opus: "opus"
        case .flac: "flac"
        }
    }
}
