/// One SMTP reply (RFC 5321 §4.2): a three-digit code, an enhanced status code (RFC 3463,
/// RFC 2034) and text, possibly of several lines.
///
/// Every front door that speaks mail answers with these: the SMTP and LMTP listeners send
/// them, and `mailvox sendmail` maps them to sendmail's exit codes.
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    /// `x.y.z`, or nil for the greeting and the replies RFC 2034 leaves without one.
    public var enhanced: String?
    public var lines: [String]

    public init(_ code: Int, _ enhanced: String?, _ text: String) {
        self.code = code
        self.enhanced = enhanced
        self.lines = [text]
    }

    public init(_ code: Int, _ enhanced: String?, lines: [String]) {
        self.code = code
        self.enhanced = enhanced
        self.lines = lines.isEmpty ? [""] : lines
    }

    /// 2yz and 3yz.
    public var isPositive: Bool { code < 400 }
    /// 4yz: the client keeps the message and tries again later.
    public var isTransient: Bool { (400..<500).contains(code) }
    /// 5yz: the client gives up (and bounces).
    public var isPermanent: Bool { code >= 500 }

    /// The reply on the wire: `250-first`, …, `250 last`, each line ending in CRLF. Text is
    /// stripped of CR and LF, so nothing a reply quotes can start a line of its own.
    public var wire: [UInt8] {
        var out: [UInt8] = []
        for (index, line) in lines.enumerated() {
            let separator = index == lines.count - 1 ? " " : "-"
            var text = String(code) + separator
            if let enhanced { text += enhanced + " " }
            text += line.filter { $0 != "\r" && $0 != "\n" }
            out.append(contentsOf: text.utf8)
            out.append(contentsOf: [0x0D, 0x0A])
        }
        return out
    }

    public var description: String {
        "\(code)\(enhanced.map { " " + $0 } ?? "") \(lines.joined(separator: " / "))"
    }
}

extension SMTPReply {
    // The replies every part of the door shares, named as RFC 3463 names their meaning.
    public static func ok(_ text: String = "OK") -> SMTPReply { SMTPReply(250, "2.0.0", text) }
    public static let syntax = SMTPReply(500, "5.5.2", "Syntax error, command unrecognized")
    public static let lineTooLong = SMTPReply(500, "5.5.6", "Line too long")
    public static let bareLF = SMTPReply(500, "5.5.2", "Bare <LF> received; lines must end in <CR><LF>")
    public static let badSequence = SMTPReply(503, "5.5.1", "Bad sequence of commands")
    public static let authRequired = SMTPReply(530, "5.7.0", "Authentication required")
    public static let tooManyRecipients = SMTPReply(452, "4.5.3", "Too many recipients")
    public static let tooManyErrors = SMTPReply(421, "4.7.0", "Too many errors; closing connection")
    public static let unknownUser = SMTPReply(550, "5.1.1", "No such mailbox here")
    public static let relayDenied = SMTPReply(550, "5.7.1", "Relaying denied: not a domain of this server")
    public static let noAudio = SMTPReply(554, "5.6.0", "No voicemail audio in this message")
    /// RFC 3463 X.2.2: the mailbox's quota is reached; temporary, as the owner can make room.
    public static let mailboxFull = SMTPReply(452, "4.2.2", "Mailbox full; try again later")
    public static let storageFull = SMTPReply(452, "4.3.1", "Insufficient system storage; try again later")
    public static let temporaryFailure = SMTPReply(451, "4.3.0", "Local error in processing; try again later")

    public static func tooBig(limit: Int) -> SMTPReply {
        SMTPReply(552, "5.3.4", "Message size exceeds fixed maximum message size (\(limit) bytes)")
    }
}
