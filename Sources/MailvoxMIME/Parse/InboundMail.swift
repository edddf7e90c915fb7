import Foundation
import MailvoxCore

/// An email that arrived through the SMTP/LMTP door or `mailvox sendmail`, read for what makes
/// it a voicemail: its header fields as text and its parts, transfer-decoded on request.
///
/// The bytes are held to `MessageLimits` and parsed once by `MessageParser`; nothing here keeps
/// the message beyond the deposit it becomes.
public struct InboundMail: Sendable {
    public let bytes: [UInt8]
    public let structure: ParsedMessage

    /// A leaf part as the finder sees it: media type (lower-cased), file name, where it is.
    public struct Part: Sendable, Equatable {
        public var type: String
        public var subtype: String
        /// `filename` of Content-Disposition, else `name` of Content-Type (RFC 2047/2231 decoded).
        public var fileName: String?
        public var encoding: String
        public var body: Range<Int>

        public var mediaType: String { "\(type)/\(subtype)" }
    }

    public init(bytes: [UInt8], limits: MessageLimits) throws(MessageParseError) {
        self.bytes = bytes
        self.structure = try MessageParser.parse(bytes, limits: limits)
    }

    /// Every value of a top-level header field, unfolded and RFC 2047 decoded, in order.
    public func headers(_ name: String) -> [String] {
        let range = structure.layout.header.clamped(to: 0..<bytes.count)
        return bytes.withUnsafeBufferPointer { buffer in
            HeaderBlock(buffer, from: range.lowerBound, end: range.upperBound).values(of: name, in: buffer).map {
                MIMEText.decodeHeader($0).trimmingCharacters(in: .whitespaces)
            }
        }
    }

    /// The first value of a top-level header field, or nil when absent or empty.
    public func header(_ name: String) -> String? {
        headers(name).first { !$0.isEmpty }
    }

    /// `From:`'s first mailbox: display name (decoded) and address parts.
    public var from: (name: String?, localPart: String?, domain: String?)? {
        guard let address = structure.envelope.from.first else { return nil }
        let name = address.name.map(MIMEText.decodeHeader).map { $0.trimmingCharacters(in: .whitespaces) }
        return (name?.isEmpty == false ? name : nil, address.mailbox, address.host)
    }

    /// The leaf parts in document order, at any depth (inside multiparts and encapsulated messages).
    public var parts: [Part] {
        var found: [Part] = []
        Self.collect(structure.body, structure.layout, into: &found)
        return found
    }

    /// A part's body with its transfer encoding undone.
    public func decoded(_ part: Part) -> [UInt8] {
        MIMEText.transferDecode(Array(bytes[part.body.clamped(to: 0..<bytes.count)]), encoding: part.encoding)
    }

    private static func collect(_ structure: BodyStructure, _ layout: MessagePart, into found: inout [Part]) {
        switch (structure, layout.content) {
        case (.multipart(let multipart), .multipart(let children)):
            for (part, child) in zip(multipart.parts, children) { collect(part, child, into: &found) }
        case (.single(let part), .message(let inner)):
            if let encapsulated = part.message { collect(encapsulated.body, inner, into: &found) }
        case (.single(let part), _):
            let name =
                part.extensionData.disposition?.parameters.first { $0.name.lowercased() == "filename" }?.value
                ?? part.parameters.first { $0.name.lowercased() == "name" }?.value
            found.append(
                Part(
                    type: part.type.lowercased(), subtype: part.subtype.lowercased(),
                    fileName: name.map(MIMEText.decodeHeader), encoding: part.encoding, body: layout.body))
        default:
            break
        }
    }
}
