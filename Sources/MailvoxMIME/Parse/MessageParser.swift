import CEtPan
import Foundation
import MailvoxCore

/// Parses any RFC 5322 / MIME message into what IMAP serves (`ParsedMessage`): ENVELOPE,
/// BODYSTRUCTURE with extension data, and where each part lies for `BODY[section]`.
///
/// The bytes are held to `MessageLimits` first; only then does libetpan build the MIME tree.
/// Header text IMAP returns verbatim (Date, Subject, Message-ID, Content-ID…) is taken from
/// the bytes; libetpan supplies the structure, addresses, parameters and dispositions.
public enum MessageParser {
    public static func parse(
        _ bytes: [UInt8], limits: MessageLimits = .default
    ) throws(MessageParseError)
        -> ParsedMessage
    {
        do {
            return try bytes.withUnsafeBufferPointer { buffer in
                try MessagePrecheck.check(buffer, limits: limits)
                let tree = try EtPanMIME(buffer)
                var builder = TreeBuilder(tree: tree, bytes: UnsafeBufferPointer(tree.buffer), limits: limits)
                let (layout, body, envelope) = try builder.message(tree.root, depth: 0)
                return ParsedMessage(size: bytes.count, envelope: envelope, body: body, layout: layout)
            }
        } catch let error as MessageParseError {
            throw error
        } catch {
            throw .malformed("\(error)")
        }
    }
}

/// Walks a libetpan tree into Core's values, re-checking depth and part count as it goes.
private struct TreeBuilder {
    let tree: EtPanMIME
    let bytes: UnsafeBufferPointer<UInt8>
    let limits: MessageLimits
    var parts = 0

    init(tree: EtPanMIME, bytes: UnsafeBufferPointer<UInt8>, limits: MessageLimits) {
        self.tree = tree
        self.bytes = UnsafeBufferPointer(rebasing: bytes[0..<(bytes.count - 1)])
        self.limits = limits
    }

    /// A MESSAGE node: the encapsulated message (or the top level) as header + body entity.
    mutating func message(
        _ node: UnsafeMutablePointer<mailmime>, whole knownWhole: Range<Int>? = nil, depth: Int
    ) throws(MessageParseError)
        -> (MessagePart, BodyStructure, Envelope)
    {
        let whole = knownWhole ?? tree.bodyRange(node) ?? 0..<bytes.count
        let headerBlock = HeaderBlock(bytes, from: whole.lowerBound, end: whole.upperBound)
        let envelope = self.envelope(headerBlock)
        guard let inner = node.pointee.mm_data.mm_message.mm_msg_mime else {
            // Only a header: an empty text/plain body.
            let layout = MessagePart(
                header: headerBlock.range, body: headerBlock.bodyStart..<whole.upperBound, content: .single)
            let body = BodyStructure.single(
                .init(
                    type: "text", subtype: "plain", parameters: [.init("charset", "us-ascii")], size: layout.body.count,
                    lines: lineCount(layout.body)))
            return (layout, body, envelope)
        }
        let innerBody = tree.bodyRange(inner) ?? headerBlock.bodyStart..<whole.upperBound
        let header = whole.lowerBound..<max(whole.lowerBound, min(innerBody.lowerBound, whole.upperBound))
        let (layout, body) = try entity(inner, header: header, depth: depth, digestDefault: false)
        return (layout, body, envelope)
    }

    /// A SINGLE or MULTIPLE entity (or a MESSAGE one, as a part) with its header range.
    mutating func entity(
        _ node: UnsafeMutablePointer<mailmime>, header: Range<Int>, body knownBody: Range<Int>? = nil, depth: Int,
        digestDefault: Bool
    ) throws(MessageParseError) -> (MessagePart, BodyStructure) {
        parts += 1
        guard parts <= limits.maxParts else { throw .tooManyParts(count: parts, limit: limits.maxParts) }
        guard depth <= limits.maxDepth else { throw .tooDeep(depth: depth, limit: limits.maxDepth) }
        let body = knownBody ?? tree.bodyRange(node) ?? header.upperBound..<header.upperBound
        let block = HeaderBlock(bytes, from: header.lowerBound, end: header.upperBound)
        let fields = MIMEFields(node.pointee.mm_mime_fields)
        var extensionData = BodyStructure.Extension(
            md5: block.value(of: "Content-MD5", in: bytes), disposition: fields.disposition,
            language: fields.language.isEmpty
                ? Self.languages(block.value(of: "Content-Language", in: bytes)) : fields.language,
            location: block.value(of: "Content-Location", in: bytes))
        let (type, subtype, parameters) = contentType(node.pointee.mm_content_type, digestDefault: digestDefault)

        switch node.pointee.mm_type {
        case Int32(MAILMIME_MULTIPLE):
            var children: [MessagePart] = []
            var structures: [BodyStructure] = []
            let boundary = parameters.first { $0.name.lowercased() == "boundary" }?.value ?? ""
            // Where each part starts, found from the delimiter lines themselves; libetpan's own
            // start is used only when the two disagree on the number of parts.
            let starts = Self.partStarts(bytes, in: body, boundary: boundary)
            let list = starts.isEmpty ? [] : Array(EtPanList<mailmime>(node.pointee.mm_data.mm_multipart.mm_mp_list))
            for (index, child) in list.enumerated() {
                var childBody = tree.bodyRange(child)
                let start =
                    starts.count == list.count
                    ? starts[index]
                    : child.pointee.mm_mime_start.map(tree.offset) ?? childBody?.lowerBound ?? body.lowerBound
                // The part's header ends at its first blank line (RFC 2046 §5.1.1). libetpan
                // reads on past an empty part header — a multipart/digest part that starts with
                // the blank line — and would take the encapsulated message's header for it.
                let headerEnd = HeaderBlock(bytes, from: start, end: childBody?.upperBound ?? body.upperBound).bodyStart
                if let found = childBody, headerEnd < found.lowerBound { childBody = headerEnd..<found.upperBound }
                // Without a close delimiter the last part runs to the end of the multipart: the
                // final line break is its own, not a delimiter's (what Dovecot serves too).
                if index == list.count - 1, let found = childBody,
                    !Self.startsWithDelimiter(bytes, at: found.upperBound, boundary: boundary)
                {
                    childBody = found.lowerBound..<max(found.upperBound, body.upperBound)
                }
                let childHeader = start..<max(start, childBody?.lowerBound ?? start)
                let (layout, structure) = try entity(
                    child, header: childHeader, body: childBody, depth: depth + 1, digestDefault: subtype == "digest")
                children.append(layout)
                structures.append(structure)
            }
            if children.isEmpty {
                // No delimiter at all: everything was preamble. IMAP needs one part; an empty
                // text/plain at the end is what Dovecot answers.
                let end = body.upperBound
                children.append(MessagePart(header: end..<end, body: end..<end, content: .single))
                structures.append(
                    .single(
                        .init(
                            type: "text", subtype: "plain", parameters: [.init("charset", "us-ascii")], size: 0,
                            lines: 0)))
            }
            extensionData.md5 = nil
            let layout = MessagePart(header: header, body: body, content: .multipart(children))
            return (
                layout,
                .multipart(
                    .init(parts: structures, subtype: subtype, parameters: parameters, extensionData: extensionData))
            )
        case Int32(MAILMIME_MESSAGE):
            let (innerLayout, innerBody, innerEnvelope) = try message(node, whole: body, depth: depth + 1)
            let layout = MessagePart(header: header, body: body, content: .message(innerLayout))
            let part = BodyStructure.SinglePart(
                type: type, subtype: subtype, parameters: parameters, id: block.value(of: "Content-ID", in: bytes),
                description: block.value(of: "Content-Description", in: bytes), encoding: fields.encoding,
                size: body.count, lines: lineCount(body),
                message: .init(envelope: innerEnvelope, body: innerBody), extensionData: extensionData)
            return (layout, .single(part))
        default:
            let layout = MessagePart(header: header, body: body, content: .single)
            let part = BodyStructure.SinglePart(
                type: type, subtype: subtype, parameters: parameters, id: block.value(of: "Content-ID", in: bytes),
                description: block.value(of: "Content-Description", in: bytes), encoding: fields.encoding,
                size: body.count, lines: type == "text" ? lineCount(body) : nil, extensionData: extensionData)
            return (layout, .single(part))
        }
    }

    /// Content-Language tags (RFC 3282), for when libetpan leaves its language field empty.
    static func languages(_ value: String?) -> [String] {
        (value ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// RFC 3501 §7.4.2: sender and reply-to default to from.
    func envelope(_ block: HeaderBlock) -> Envelope {
        func addresses(_ name: String) -> [Envelope.Address] {
            guard let value = block.value(of: name, in: bytes), !value.isEmpty else { return [] }
            return AddressParser.addresses(value)
        }
        let from = addresses("From")
        let sender = addresses("Sender")
        let replyTo = addresses("Reply-To")
        return Envelope(
            date: block.value(of: "Date", in: bytes), subject: block.value(of: "Subject", in: bytes), from: from,
            sender: sender.isEmpty ? from : sender, replyTo: replyTo.isEmpty ? from : replyTo, to: addresses("To"),
            cc: addresses("Cc"), bcc: addresses("Bcc"), inReplyTo: block.value(of: "In-Reply-To", in: bytes),
            messageID: block.value(of: "Message-ID", in: bytes))
    }

    /// Lines of a body (RFC 3501 body-fld-lines): its line breaks. A last line without one is
    /// not counted, as Dovecot counts.
    /// The offset just past each delimiter line (`--boundary`, not the close delimiter) in `body`.
    static func partStarts(_ bytes: UnsafeBufferPointer<UInt8>, in body: Range<Int>, boundary: String) -> [Int] {
        guard !boundary.isEmpty else { return [] }
        let marker = Array("--\(boundary)".utf8)
        var starts: [Int] = []
        var lineStart = body.lowerBound
        while lineStart < body.upperBound {
            let lineEnd = bytes.lineFeed(from: lineStart, before: body.upperBound)
            if lineEnd - lineStart >= marker.count,
                bytes[lineStart..<(lineStart + marker.count)].elementsEqual(marker)
            {
                let rest = bytes[(lineStart + marker.count)..<lineEnd]
                if rest.starts(with: [UInt8(ascii: "-"), UInt8(ascii: "-")]) { break }
                // RFC 2046 §5.1.1: only white space may follow the boundary on its line.
                if rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    starts.append(min(lineEnd + 1, body.upperBound))
                }
            }
            lineStart = lineEnd + 1
        }
        return starts
    }

    /// Whether a delimiter line (`CRLF--boundary` or `LF--boundary`) starts at `offset`.
    static func startsWithDelimiter(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int, boundary: String) -> Bool {
        var index = offset
        if index < bytes.count, bytes[index] == 0x0D { index += 1 }
        guard index < bytes.count, bytes[index] == 0x0A else { return false }
        index += 1
        let marker = Array("--\(boundary)".utf8)
        guard index + marker.count <= bytes.count else { return false }
        return bytes[index..<(index + marker.count)].elementsEqual(marker)
    }

    func lineCount(_ range: Range<Int>) -> Int {
        bytes.lineFeedCount(in: range.clamped(to: 0..<bytes.count))
    }

    /// Type, subtype (lower-cased) and parameters; RFC 2045 §5.2 and RFC 2046 §5.1.5 defaults.
    func contentType(
        _ content: UnsafeMutablePointer<mailmime_content>?, digestDefault: Bool
    )
        -> (String, String, [BodyStructure.Parameter])
    {
        guard let content, let mediaType = content.pointee.ct_type else {
            return digestDefault ? ("message", "rfc822", []) : ("text", "plain", [.init("charset", "us-ascii")])
        }
        var type = "application"
        if mediaType.pointee.tp_type == Int32(MAILMIME_TYPE_DISCRETE_TYPE),
            let discrete = mediaType.pointee.tp_data.tp_discrete_type
        {
            switch discrete.pointee.dt_type {
            case Int32(MAILMIME_DISCRETE_TYPE_TEXT): type = "text"
            case Int32(MAILMIME_DISCRETE_TYPE_IMAGE): type = "image"
            case Int32(MAILMIME_DISCRETE_TYPE_AUDIO): type = "audio"
            case Int32(MAILMIME_DISCRETE_TYPE_VIDEO): type = "video"
            case Int32(MAILMIME_DISCRETE_TYPE_APPLICATION): type = "application"
            default: type = discrete.pointee.dt_extension.map { String(cString: $0) } ?? "application"
            }
        } else if let composite = mediaType.pointee.tp_data.tp_composite_type {
            switch composite.pointee.ct_type {
            case Int32(MAILMIME_COMPOSITE_TYPE_MESSAGE): type = "message"
            case Int32(MAILMIME_COMPOSITE_TYPE_MULTIPART): type = "multipart"
            default: type = composite.pointee.ct_token.map { String(cString: $0) } ?? "application"
            }
        }
        let subtype = content.pointee.ct_subtype.map { String(cString: $0) } ?? ""
        var parameters = MIMEFields.parameters(content.pointee.ct_parameters)
        // RFC 2045 §5.2: text without a charset is US-ASCII; Dovecot says so explicitly.
        if type.lowercased() == "text", !parameters.contains(where: { $0.name.lowercased() == "charset" }) {
            parameters.insert(.init("charset", "us-ascii"), at: 0)
        }
        return (type.lowercased(), subtype.lowercased(), parameters)
    }
}

/// The MIME fields libetpan parsed for one entity, as IMAP names them.
private struct MIMEFields {
    var encoding = "7bit"
    var disposition: BodyStructure.Disposition?
    var language: [String] = []

    init(_ fields: UnsafeMutablePointer<mailmime_fields>?) {
        guard let fields else { return }
        for field in EtPanList<mailmime_field>(fields.pointee.fld_list) {
            switch field.pointee.fld_type {
            case Int32(MAILMIME_FIELD_TRANSFER_ENCODING):
                guard let mechanism = field.pointee.fld_data.fld_encoding else { continue }
                switch mechanism.pointee.enc_type {
                case Int32(MAILMIME_MECHANISM_7BIT): encoding = "7bit"
                case Int32(MAILMIME_MECHANISM_8BIT): encoding = "8bit"
                case Int32(MAILMIME_MECHANISM_BINARY): encoding = "binary"
                case Int32(MAILMIME_MECHANISM_QUOTED_PRINTABLE): encoding = "quoted-printable"
                case Int32(MAILMIME_MECHANISM_BASE64): encoding = "base64"
                default: encoding = mechanism.pointee.enc_token.map { String(cString: $0).lowercased() } ?? "7bit"
                }
            case Int32(MAILMIME_FIELD_DISPOSITION):
                guard let value = field.pointee.fld_data.fld_disposition else { continue }
                disposition = Self.disposition(value)
            case Int32(MAILMIME_FIELD_LANGUAGE):
                guard let value = field.pointee.fld_data.fld_language else { continue }
                language = EtPanList<CChar>(value.pointee.lg_list).map { String(cString: $0) }
            default: continue
            }
        }
    }

    static func parameters(_ list: UnsafeMutablePointer<clist>?) -> [BodyStructure.Parameter] {
        EtPanList<mailmime_parameter>(list).map { parameter in
            .init(
                parameter.pointee.pa_name.map { String(cString: $0) } ?? "",
                parameter.pointee.pa_value.map { String(cString: $0) } ?? "")
        }
    }

    static func disposition(_ value: UnsafeMutablePointer<mailmime_disposition>) -> BodyStructure.Disposition {
        var type = "attachment"
        if let kind = value.pointee.dsp_type {
            switch kind.pointee.dsp_type {
            case Int32(MAILMIME_DISPOSITION_TYPE_INLINE): type = "inline"
            case Int32(MAILMIME_DISPOSITION_TYPE_ATTACHMENT): type = "attachment"
            default: type = kind.pointee.dsp_extension.map { String(cString: $0).lowercased() } ?? "attachment"
            }
        }
        var parameters: [BodyStructure.Parameter] = []
        for parameter in EtPanList<mailmime_disposition_parm>(value.pointee.dsp_parms) {
            let data = parameter.pointee.pa_data
            func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String { pointer.map { String(cString: $0) } ?? "" }
            switch parameter.pointee.pa_type {
            case Int32(MAILMIME_DISPOSITION_PARM_FILENAME): parameters.append(.init("filename", text(data.pa_filename)))
            case Int32(MAILMIME_DISPOSITION_PARM_CREATION_DATE):
                parameters.append(.init("creation-date", text(data.pa_creation_date)))
            case Int32(MAILMIME_DISPOSITION_PARM_MODIFICATION_DATE):
                parameters.append(.init("modification-date", text(data.pa_modification_date)))
            case Int32(MAILMIME_DISPOSITION_PARM_READ_DATE):
                parameters.append(.init("read-date", text(data.pa_read_date)))
            case Int32(MAILMIME_DISPOSITION_PARM_SIZE): parameters.append(.init("size", String(data.pa_size)))
            default:
                if let other = data.pa_parameter {
                    parameters.append(
                        .init(
                            other.pointee.pa_name.map { String(cString: $0) } ?? "",
                            other.pointee.pa_value.map { String(cString: $0) } ?? ""))
                }
            }
        }
        return .init(type: type, parameters: parameters)
    }
}
