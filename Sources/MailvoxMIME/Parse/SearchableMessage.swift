import CEtPan
import Foundation
import MailvoxCore

/// A message as SEARCH reads it (`SearchCandidate`): header values unfolded and RFC 2047
/// decoded, the Date: header parsed, and the text of its textual parts transfer-decoded and
/// converted to UTF-8. Header block and message are loaded only when a key asks, once.
public final class SearchableMessage: SearchCandidate {
    public let summary: MessageSummary
    private let loadHeader: () throws -> [UInt8]
    private let loadMessage: () throws -> (bytes: [UInt8], structure: ParsedMessage)
    private var header: [UInt8]?
    private var body: String?

    /// `header` yields the top-level header block; `message` the whole message with its structure.
    public init(
        summary: MessageSummary, header: @escaping () throws -> [UInt8],
        message: @escaping () throws -> (bytes: [UInt8], structure: ParsedMessage)
    ) {
        self.summary = summary
        self.loadHeader = header
        self.loadMessage = message
    }

    /// A message already in memory.
    public convenience init(summary: MessageSummary, bytes: [UInt8], structure: ParsedMessage) {
        self.init(
            summary: summary, header: { Array(bytes[structure.layout.header.clamped(to: 0..<bytes.count)]) },
            message: { (bytes, structure) })
    }

    /// Address fields give each value twice: as written, decoded, and as its addresses
    /// (`name <mailbox@host>`), so a key matches an address however comments and white space
    /// were spread through it (RFC 5322 CFWS is not part of an address), as Dovecot matches.
    public func headerValues(_ name: String) throws -> [String] {
        let bytes = try headerBytes()
        let values = bytes.withUnsafeBufferPointer { buffer in HeaderBlock(buffer, from: 0).values(of: name, in: buffer)
        }
        guard Self.addressFields.contains(name.lowercased()) else { return values.map(MIMEText.decodeHeader) }
        return values.flatMap { [MIMEText.decodeHeader($0), AddressParser.searchText($0)] }
    }

    static let addressFields: Set<String> = [
        "from", "to", "cc", "bcc", "sender", "reply-to", "resent-from", "resent-to", "resent-cc", "resent-bcc",
        "resent-sender",
    ]

    public func headerText() throws -> String {
        let bytes = try headerBytes()
        return bytes.withUnsafeBufferPointer { buffer in
            let block = HeaderBlock(buffer, from: 0)
            return block.fields.map { "\($0.name): \(MIMEText.decodeHeader(block.value(of: $0, in: buffer)))" }
                .joined(separator: "\n")
        }
    }

    public func sentDay() throws -> SearchDay? {
        try headerValues("Date").first.flatMap(MessageDate.writtenDay)
    }

    public func bodyText() throws -> String {
        if let body { return body }
        let (bytes, structure) = try loadMessage()
        var texts: [String] = []
        MIMEText.collectText(structure.body, structure.layout, bytes: bytes, into: &texts)
        let text = texts.joined(separator: "\n")
        body = text
        return text
    }

    private func headerBytes() throws -> [UInt8] {
        if let header { return header }
        let bytes = try loadHeader()
        header = bytes
        return bytes
    }
}

/// Decoding of header and body text for reading (not for serving: FETCH returns bytes as stored).
public enum MIMEText {
    /// RFC 2047 encoded-words decoded to UTF-8; text that is not encoded passes unchanged.
    public static func decodeHeader(_ raw: String) -> String {
        guard raw.contains("=?") else { return raw }
        var index = 0
        var result: UnsafeMutablePointer<CChar>?
        let status = raw.withCString { text in
            mailmime_encoded_phrase_parse("utf-8", text, strlen(text), &index, "utf-8", &result)
        }
        defer { free(result) }
        guard status == Int32(MAILIMF_NO_ERROR), let result else { return raw }
        return String(cString: result)
    }

    /// Appends the decoded text of every `text/*` part below `structure`, in order.
    static func collectText(
        _ structure: BodyStructure, _ layout: MessagePart, bytes: [UInt8], into texts: inout [String]
    ) {
        switch (structure, layout.content) {
        case (.multipart(let multipart), .multipart(let children)):
            for (part, child) in zip(multipart.parts, children) {
                collectText(part, child, bytes: bytes, into: &texts)
            }
        case (.single(let part), .message(let inner)):
            if let encapsulated = part.message {
                collectText(encapsulated.body, inner, bytes: bytes, into: &texts)
            }
        case (.single(let part), .single) where part.type.lowercased() == "text":
            let range = layout.body.clamped(to: 0..<bytes.count)
            let charset = part.parameters.first { $0.name.lowercased() == "charset" }?.value ?? "us-ascii"
            texts.append(decodeBody(Array(bytes[range]), encoding: part.encoding, charset: charset))
        default:
            break
        }
    }

    /// A part's body transfer-decoded (base64, quoted-printable) and converted to UTF-8.
    public static func decodeBody(_ body: [UInt8], encoding: String, charset: String) -> String {
        toUTF8(transferDecode(body, encoding: encoding), charset: charset)
    }

    /// A part's body with its Content-Transfer-Encoding undone (`TransferDecoding`: base64 and
    /// quoted-printable, leniently; 7bit, 8bit and binary are the bytes as they are); an
    /// encoding nobody knows leaves the body as it is.
    public static func transferDecode(_ body: [UInt8], encoding: String) -> [UInt8] {
        TransferDecoding.decode(body[...], encoding: encoding.lowercased()) ?? body
    }

    static func toUTF8(_ bytes: [UInt8], charset: String) -> String {
        let lowered = charset.lowercased()
        if lowered == "utf-8" || lowered == "us-ascii" || lowered == "ascii" {
            return String(decoding: bytes, as: UTF8.self)
        }
        var result: UnsafeMutablePointer<CChar>?
        var length = 0
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                charconv_buffer("utf-8", charset, $0.baseAddress, $0.count, &result, &length)
            }
        }
        guard status == Int32(MAIL_CHARCONV_NO_ERROR), let result else {
            return String(decoding: bytes, as: UTF8.self)
        }
        defer { charconv_buffer_free(result) }
        return String(decoding: UnsafeRawBufferPointer(start: result, count: length), as: UTF8.self)
    }
}
