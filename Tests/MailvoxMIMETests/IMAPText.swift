import MailvoxCore

/// ENVELOPE and BODYSTRUCTURE written in IMAP syntax (RFC 3501 §7.4.2) the way Dovecot writes
/// them, so the differential test can compare text. Test-only: the IMAP layer owns the real encoder.
enum IMAPText {
    static func nstring(_ value: String?) -> String {
        guard let value else { return "NIL" }
        if value.utf8.contains(where: { $0 >= 0x80 || $0 == 0x0D || $0 == 0x0A }) {
            return "{\(value.utf8.count)}\r\n" + value
        }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }

    static func addresses(_ list: [Envelope.Address]) -> String {
        guard !list.isEmpty else { return "NIL" }
        return "("
            + list.map { "(\(nstring($0.name)) \(nstring($0.adl)) \(nstring($0.mailbox)) \(nstring($0.host)))" }
            .joined() + ")"
    }

    static func envelope(_ envelope: Envelope) -> String {
        "("
            + [
                nstring(envelope.date), nstring(envelope.subject), addresses(envelope.from), addresses(envelope.sender),
                addresses(envelope.replyTo), addresses(envelope.to), addresses(envelope.cc), addresses(envelope.bcc),
                nstring(envelope.inReplyTo), nstring(envelope.messageID),
            ].joined(separator: " ") + ")"
    }

    static func parameters(_ list: [BodyStructure.Parameter]) -> String {
        guard !list.isEmpty else { return "NIL" }
        return "(" + list.map { "\(nstring($0.name)) \(nstring($0.value))" }.joined(separator: " ") + ")"
    }

    static func disposition(_ value: BodyStructure.Disposition?) -> String {
        guard let value else { return "NIL" }
        return "(\(nstring(value.type)) \(parameters(value.parameters)))"
    }

    static func language(_ tags: [String]) -> String {
        switch tags.count {
        case 0: "NIL"
        case 1: nstring(tags[0])
        default: "(" + tags.map(nstring).joined(separator: " ") + ")"
        }
    }

    static func bodyStructure(_ body: BodyStructure) -> String {
        switch body {
        case .multipart(let multipart):
            let ext = multipart.extensionData
            return "(" + multipart.parts.map(bodyStructure).joined() + " "
                + [
                    nstring(multipart.subtype), parameters(multipart.parameters), disposition(ext.disposition),
                    language(ext.language), nstring(ext.location),
                ].joined(separator: " ") + ")"
        case .single(let part):
            var fields = [
                nstring(part.type), nstring(part.subtype), parameters(part.parameters), nstring(part.id),
                nstring(part.description), nstring(part.encoding), String(part.size),
            ]
            if let message = part.message {
                fields += [envelope(message.envelope), bodyStructure(message.body)]
            }
            if let lines = part.lines { fields.append(String(lines)) }
            let ext = part.extensionData
            fields += [nstring(ext.md5), disposition(ext.disposition), language(ext.language), nstring(ext.location)]
            return "(" + fields.joined(separator: " ") + ")"
        }
    }
}
