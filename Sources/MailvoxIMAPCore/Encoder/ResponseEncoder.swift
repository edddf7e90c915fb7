import MailvoxCore
import NIOCore

/// Writes typed responses in RFC 3501 wire form.
public enum ResponseEncoder {
    /// The wire bytes of one response.
    public static func encode(_ response: Response, names: NameEncoding = .modifiedUTF7) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 128)
        encode(response, into: &buffer, names: names)
        return buffer
    }

    public static func encode(_ response: Response, into buffer: inout ByteBuffer, names: NameEncoding = .modifiedUTF7)
    {
        switch response {
        case .tagged(let tag, let status):
            buffer.writeString(tag)
            buffer.writeString(" ")
            buffer.writeStatus(status)
        case .continuation(.text(let text)):
            buffer.writeString("+ ")
            buffer.writeText(text.isEmpty ? "Ready" : text)
        case .continuation(.challenge(let bytes)):
            buffer.writeString("+ ")
            buffer.writeString(Base64.encode(bytes))
        case .untagged(let untagged):
            buffer.writeString("* ")
            buffer.writeUntagged(untagged, names: names)
        }
        buffer.writeString("\r\n")
    }
}

/// Writes one FETCH response item by item, so a body of any size can be streamed: after
/// `writeLiteralHeader` the caller sends exactly `byteCount` octets itself, straight from the
/// store, and the message is never assembled in a second buffer.
public struct FetchResponseWriter: Sendable {
    private var first = true

    /// Writes `* n FETCH (`.
    public init(sequenceNumber: UInt32, into buffer: inout ByteBuffer) {
        buffer.writeString("* \(sequenceNumber) FETCH (")
    }

    public mutating func write(_ item: FetchItem, into buffer: inout ByteBuffer) {
        separate(&buffer)
        buffer.writeFetchItem(item)
    }

    /// Writes an item encoded before (`EncodedStructures`).
    public mutating func write(encoded item: ByteBuffer, into buffer: inout ByteBuffer) {
        separate(&buffer)
        var item = item
        buffer.writeBuffer(&item)
    }

    /// Writes `BODY[section]<origin> {n}\r\n`, or `~{n}` for a literal8 (RFC 3516: only for
    /// `BINARY[…]` content that holds NUL); the next `byteCount` octets on the wire are the caller's.
    public mutating func writeLiteralHeader(
        _ name: FetchLiteralName, byteCount: Int, literal8: Bool = false, into buffer: inout ByteBuffer
    ) {
        separate(&buffer)
        buffer.writeFetchLiteralName(name)
        buffer.writeString(literal8 ? " ~{\(byteCount)}\r\n" : " {\(byteCount)}\r\n")
    }

    /// Writes `)\r\n`.
    public func finish(into buffer: inout ByteBuffer) {
        buffer.writeString(")\r\n")
    }

    private mutating func separate(_ buffer: inout ByteBuffer) {
        if !first { buffer.writeString(" ") }
        first = false
    }
}

extension ByteBuffer {
    // MARK: Strings

    /// resp-text: CR and LF would end the line, so they become spaces; empty text is not allowed.
    mutating func writeText(_ text: String) {
        var bytes = Array(text.utf8).map { $0 == 0x0D || $0 == 0x0A || $0 == 0 ? UInt8(ascii: " ") : $0 }
        if bytes.isEmpty { bytes = Array("Completed".utf8) }
        writeBytes(bytes)
    }

    /// A string: quoted when it is short 7-bit text without CR, LF or NUL, otherwise a literal.
    package mutating func writeIMAPString(_ bytes: some Collection<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ writeIMAPString(contiguous: $0) }) == nil {
            Array(bytes).withUnsafeBufferPointer { writeIMAPString(contiguous: $0) }
        }
    }

    mutating func writeIMAPString(_ text: String) {
        var text = text
        text.withUTF8 { writeIMAPString(contiguous: $0) }
    }

    /// A quoted string when it may be one, else a literal. Written in runs between escapes,
    /// not octet by octet: a FETCH of ENVELOPEs is mostly this.
    /// `utf8`: the octets are valid UTF-8 and the client reads UTF-8 in quoted strings.
    private mutating func writeIMAPString(contiguous bytes: UnsafeBufferPointer<UInt8>, utf8: Bool = false) {
        var quotable = bytes.count <= 1024
        var escapes = 0
        if quotable {
            for byte in bytes {
                if byte == 0 || (byte >= 0x80 && !utf8) || byte == 0x0D || byte == 0x0A {
                    quotable = false
                    break
                }
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { escapes += 1 }
            }
        }
        guard quotable else {
            writeString("{\(bytes.count)}\r\n")
            writeBytes(bytes)
            return
        }
        reserveCapacity(minimumWritableBytes: bytes.count + escapes + 2)
        writeInteger(UInt8(ascii: "\""))
        var start = 0
        if escapes > 0 {
            for index in bytes.indices where bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "\\") {
                writeBytes(UnsafeBufferPointer(rebasing: bytes[start..<index]))
                writeInteger(UInt8(ascii: "\\"))
                start = index
            }
        }
        writeBytes(UnsafeBufferPointer(rebasing: bytes[start...]))
        writeInteger(UInt8(ascii: "\""))
    }

    mutating func writeNString(_ text: String?) {
        if let text { writeIMAPString(text) } else { writeString("NIL") }
    }

    /// An astring: bare when every octet is an ASTRING-CHAR and it cannot be read as NIL.
    mutating func writeAString(_ text: String) {
        let bytes = Array(text.utf8)
        if !bytes.isEmpty, bytes.allSatisfy(GrammarParser.isAStringChar), text.uppercased() != "NIL" {
            writeBytes(bytes)
        } else {
            writeIMAPString(bytes)
        }
    }

    /// A mailbox name: modified UTF-7 (RFC 3501 §5.1.3), or as UTF-8 once the client ENABLEd
    /// UTF8=ACCEPT or IMAP4rev2 — then a quoted string may hold it (RFC 6855 §3, RFC 9051 §4.3).
    mutating func writeMailbox(_ name: MailboxName, names: NameEncoding) {
        switch names {
        case .modifiedUTF7: writeAString(name.wireName)
        case .utf8:
            var text = name.name
            if text.utf8.contains(where: { $0 >= 0x80 }) {
                text.withUTF8 { writeIMAPString(contiguous: $0, utf8: true) }
            } else {
                writeAString(text)
            }
        }
    }

    mutating func writeDelimiter(_ delimiter: Character?) {
        if let delimiter { writeIMAPString(String(delimiter)) } else { writeString("NIL") }
    }

    mutating func writeList<T>(_ items: [T], _ element: (inout ByteBuffer, T) -> Void) {
        writeString("(")
        for (index, item) in items.enumerated() {
            if index > 0 { writeString(" ") }
            element(&self, item)
        }
        writeString(")")
    }

    // MARK: Status responses

    mutating func writeStatus(_ status: StatusResponse) {
        writeString(status.kind.rawValue)
        writeString(" ")
        if let code = status.code {
            writeString("[")
            writeResponseCode(code)
            writeString("] ")
        }
        writeText(status.text)
    }

    mutating func writeResponseCode(_ code: ResponseCode) {
        switch code {
        case .alert: writeString("ALERT")
        case .parse: writeString("PARSE")
        case .readOnly: writeString("READ-ONLY")
        case .readWrite: writeString("READ-WRITE")
        case .tryCreate: writeString("TRYCREATE")
        case .uidNotSticky: writeString("UIDNOTSTICKY")
        case .noModSeq: writeString("NOMODSEQ")
        case .closed: writeString("CLOSED")
        case .authenticationFailed: writeString("AUTHENTICATIONFAILED")
        case .authorizationFailed: writeString("AUTHORIZATIONFAILED")
        case .privacyRequired: writeString("PRIVACYREQUIRED")
        case .tooBig: writeString("TOOBIG")
        case .limit: writeString("LIMIT")
        case .cannot: writeString("CANNOT")
        case .nonExistent: writeString("NONEXISTENT")
        case .alreadyExists: writeString("ALREADYEXISTS")
        case .serverBug: writeString("SERVERBUG")
        case .unavailable: writeString("UNAVAILABLE")
        case .expungeIssued: writeString("EXPUNGEISSUED")
        case .inUse: writeString("INUSE")
        case .overQuota: writeString("OVERQUOTA")
        case .contactAdmin: writeString("CONTACTADMIN")
        case .noPerm: writeString("NOPERM")
        case .clientBug: writeString("CLIENTBUG")
        case .compressionActive: writeString("COMPRESSIONACTIVE")
        case .badCharset(let charsets):
            writeString("BADCHARSET")
            if !charsets.isEmpty {
                writeString(" ")
                writeList(charsets) { $0.writeAString($1) }
            }
        case .capability(let capabilities):
            writeString("CAPABILITY")
            for capability in capabilities { writeString(" " + capability) }
        case .permanentFlags(let flags, let allowsNewKeywords):
            writeString("PERMANENTFLAGS ")
            writeList(flags.map(\.description) + (allowsNewKeywords ? ["\\*"] : [])) { $0.writeString($1) }
        case .uidNext(let uid): writeString("UIDNEXT \(uid)")
        case .uidValidity(let value): writeString("UIDVALIDITY \(value)")
        case .unseen(let number): writeString("UNSEEN \(number)")
        case .highestModSeq(let value): writeString("HIGHESTMODSEQ \(value)")
        case .appendUID(let validity, let uids): writeString("APPENDUID \(validity) \(uids)")
        case .copyUID(let validity, let source, let destination):
            writeString("COPYUID \(validity) \(source) \(destination)")
        case .modified(let set): writeString("MODIFIED \(set)")
        case .unknownCTE: writeString("UNKNOWN-CTE")
        }
    }

    // MARK: Untagged data

    mutating func writeUntagged(_ response: UntaggedResponse, names: NameEncoding) {
        switch response {
        case .condition(let status): writeStatus(status)
        case .capability(let capabilities):
            writeString("CAPABILITY")
            for capability in capabilities { writeString(" " + capability) }
        case .enabled(let capabilities):
            writeString("ENABLED")
            for capability in capabilities { writeString(" " + capability) }
        case .id(let parameters):
            writeString("ID ")
            if let parameters, !parameters.isEmpty {
                writeList(parameters) { buffer, parameter in
                    buffer.writeIMAPString(parameter.field)
                    buffer.writeString(" ")
                    buffer.writeNString(parameter.value)
                }
            } else {
                writeString("NIL")
            }
        case .flags(let flags):
            writeString("FLAGS ")
            writeList(flags) { $0.writeString($1.description) }
        case .list(let item):
            writeString("LIST ")
            writeListItem(item, names: names)
        case .lsub(let item):
            writeString("LSUB ")
            writeListItem(item, names: names)
        case .status(let mailbox, let values):
            writeString("STATUS ")
            writeMailbox(mailbox, names: names)
            writeString(" ")
            writeList(values) { $0.writeString("\($1.attribute.rawValue) \($1.value)") }
        case .search(let numbers, let modSeq):
            writeString("SEARCH")
            for number in numbers { writeString(" \(number)") }
            if let modSeq, !numbers.isEmpty { writeString(" (MODSEQ \(modSeq))") }
        case .sort(let numbers, let modSeq):
            writeString("SORT")
            for number in numbers { writeString(" \(number)") }
            if let modSeq, !numbers.isEmpty { writeString(" (MODSEQ \(modSeq))") }
        case .esearch(let result):
            writeString("ESEARCH")
            if let tag = result.tag {
                writeString(" (TAG ")
                writeIMAPString(tag)
                writeString(")")
            }
            if result.byUID { writeString(" UID") }
            if let min = result.min { writeString(" MIN \(min)") }
            if let max = result.max { writeString(" MAX \(max)") }
            if let count = result.count { writeString(" COUNT \(count)") }
            if let all = result.all { writeString(" ALL \(all)") }
            if let modSeq = result.modSeq { writeString(" MODSEQ \(modSeq)") }
        case .exists(let count): writeString("\(count) EXISTS")
        case .recent(let count): writeString("\(count) RECENT")
        case .expunge(let number): writeString("\(number) EXPUNGE")
        case .vanished(let earlier, let uids): writeString(earlier ? "VANISHED (EARLIER) \(uids)" : "VANISHED \(uids)")
        case .fetch(let number, let items):
            writeString("\(number) FETCH ")
            writeList(items) { $0.writeFetchItem($1) }
        case .quotaRoot(let mailbox, let roots):
            writeString("QUOTAROOT ")
            writeMailbox(mailbox, names: names)
            for root in roots {
                writeString(" ")
                writeAString(root)
            }
        case .quota(let root, let resources):
            writeString("QUOTA ")
            writeAString(root)
            writeString(" ")
            writeList(resources) { encoder, resource in
                encoder.writeString("\(resource.resource) \(resource.usage) \(resource.limit)")
            }
        case .acl(let mailbox, let entries):
            writeString("ACL ")
            writeMailbox(mailbox, names: names)
            for entry in entries {
                writeString(" ")
                writeAString(entry.identifier)
                writeString(" ")
                writeAString(entry.rights.responseLetters)
            }
        case .listRights(let mailbox, let identifier, let required, let optional):
            writeString("LISTRIGHTS ")
            writeMailbox(mailbox, names: names)
            writeString(" ")
            writeAString(identifier)
            writeString(" ")
            writeAString(required.responseLetters)
            for rights in optional {
                writeString(" ")
                writeAString(rights.letters)
            }
            // RFC 4314 §2.1.1: the obsolete c and d are listed too, each standing for its group.
            if !optional.isEmpty { writeString(" c d") }
        case .myRights(let mailbox, let rights):
            writeString("MYRIGHTS ")
            writeMailbox(mailbox, names: names)
            writeString(" ")
            writeAString(rights.responseLetters)
        case .namespace(let namespaces):
            writeString("NAMESPACE")
            for group in [namespaces.personal, namespaces.otherUsers, namespaces.shared] {
                writeString(" ")
                if group.isEmpty {
                    writeString("NIL")
                } else {
                    // RFC 2342: the entries of a namespace list follow each other without separators.
                    writeString("(")
                    for namespace in group {
                        writeString("(")
                        writeIMAPString(ModifiedUTF7.encode(namespace.prefix))
                        writeString(" ")
                        writeDelimiter(namespace.delimiter)
                        writeString(")")
                    }
                    writeString(")")
                }
            }
        }
    }

    mutating func writeListItem(_ item: MailboxListItem, names: NameEncoding) {
        writeList(item.attributes) { $0.writeString($1.rawValue) }
        writeString(" ")
        writeDelimiter(item.delimiter)
        writeString(" ")
        writeMailbox(item.name, names: names)
        if item.childInfoSubscribed { writeString(" (\"CHILDINFO\" (\"SUBSCRIBED\"))") }
    }

    // MARK: FETCH

    /// `package`: MailvoxIMAP's `EncodedStructures` keeps items in exactly this wire form.
    package mutating func writeFetchItem(_ item: FetchItem) {
        switch item {
        case .flags(let flags):
            writeString("FLAGS ")
            writeList(flags) { $0.writeString($1.description) }
        case .uid(let uid): writeString("UID \(uid)")
        case .rfc822Size(let size): writeString("RFC822.SIZE \(size)")
        case .internalDate(let date): writeString("INTERNALDATE \"\(date)\"")
        case .envelope(let envelope):
            writeString("ENVELOPE ")
            writeEnvelope(envelope)
        case .body(let structure):
            writeString("BODY ")
            writeBodyStructure(structure, extensions: false)
        case .bodyStructure(let structure):
            writeString("BODYSTRUCTURE ")
            writeBodyStructure(structure, extensions: true)
        case .modSeq(let value): writeString("MODSEQ (\(value))")
        case .binarySize(let part, let size):
            writeString("BINARY.SIZE[\(part.map(String.init).joined(separator: "."))] \(size)")
        case .literal(let name, let data):
            writeFetchLiteralName(name)
            if let data {
                // RFC 3516 §4.3: a literal8 only where BINARY content needs one (a NUL octet).
                let literal8: Bool
                if case .binary = name { literal8 = data.readableBytesView.contains(0) } else { literal8 = false }
                writeString(literal8 ? " ~{\(data.readableBytes)}\r\n" : " {\(data.readableBytes)}\r\n")
                writeImmutableBuffer(data)
            } else {
                writeString(" NIL")
            }
        }
    }

    mutating func writeFetchLiteralName(_ name: FetchLiteralName) {
        switch name {
        case .rfc822: writeString("RFC822")
        case .rfc822Header: writeString("RFC822.HEADER")
        case .rfc822Text: writeString("RFC822.TEXT")
        case .section(let section, let origin):
            writeString("BODY[")
            writeSection(section)
            writeString("]")
            if let origin { writeString("<\(origin)>") }
        case .binary(let part, let origin):
            writeString("BINARY[\(part.map(String.init).joined(separator: "."))]")
            if let origin { writeString("<\(origin)>") }
        }
    }

    /// The section text between the brackets, header field names as astrings.
    package mutating func writeSection(_ section: SectionSpecifier) {
        writeString(section.part.map(String.init).joined(separator: "."))
        let dot = section.part.isEmpty ? "" : "."
        switch section.text {
        case .whole: break
        case .header: writeString(dot + "HEADER")
        case .text: writeString(dot + "TEXT")
        case .mime: writeString(dot + "MIME")
        case .headerFields(let names):
            writeString(dot + "HEADER.FIELDS ")
            writeList(names) { $0.writeAString($1) }
        case .headerFieldsNot(let names):
            writeString(dot + "HEADER.FIELDS.NOT ")
            writeList(names) { $0.writeAString($1) }
        }
    }

    mutating func writeEnvelope(_ envelope: Envelope) {
        writeString("(")
        writeNString(envelope.date)
        writeString(" ")
        writeNString(envelope.subject)
        for addresses in [envelope.from, envelope.sender, envelope.replyTo, envelope.to, envelope.cc, envelope.bcc] {
            writeString(" ")
            if addresses.isEmpty {
                writeString("NIL")
            } else {
                writeString("(")
                for address in addresses {
                    writeString("(")
                    writeNString(address.name)
                    writeString(" ")
                    writeNString(address.adl)
                    writeString(" ")
                    writeNString(address.mailbox)
                    writeString(" ")
                    writeNString(address.host)
                    writeString(")")
                }
                writeString(")")
            }
        }
        writeString(" ")
        writeNString(envelope.inReplyTo)
        writeString(" ")
        writeNString(envelope.messageID)
        writeString(")")
    }

    mutating func writeParameters(_ parameters: [BodyStructure.Parameter]) {
        if parameters.isEmpty {
            writeString("NIL")
            return
        }
        writeList(parameters) { buffer, parameter in
            buffer.writeIMAPString(parameter.name)
            buffer.writeString(" ")
            buffer.writeIMAPString(parameter.value)
        }
    }

    /// body-ext-1part / body-ext-mpart after the basic fields (RFC 3501 §9).
    mutating func writeExtension(_ data: BodyStructure.Extension, md5: Bool) {
        if md5 {
            writeString(" ")
            writeNString(data.md5)
        }
        writeString(" ")
        if let disposition = data.disposition {
            writeString("(")
            writeIMAPString(disposition.type)
            writeString(" ")
            writeParameters(disposition.parameters)
            writeString(")")
        } else {
            writeString("NIL")
        }
        writeString(" ")
        if data.language.isEmpty {
            writeString("NIL")
        } else {
            writeList(data.language) { $0.writeIMAPString($1) }
        }
        writeString(" ")
        writeNString(data.location)
    }

    mutating func writeBodyStructure(_ structure: BodyStructure, extensions: Bool) {
        switch structure {
        case .multipart(let multipart):
            writeString("(")
            // RFC 3501 body-type-mpart: the parts follow each other without a separator.
            for part in multipart.parts { writeBodyStructure(part, extensions: extensions) }
            writeString(" ")
            writeIMAPString(multipart.subtype)
            if extensions {
                writeString(" ")
                writeParameters(multipart.parameters)
                writeExtension(multipart.extensionData, md5: false)
            }
            writeString(")")
        case .single(let part):
            writeString("(")
            writeIMAPString(part.type)
            writeString(" ")
            writeIMAPString(part.subtype)
            writeString(" ")
            writeParameters(part.parameters)
            writeString(" ")
            writeNString(part.id)
            writeString(" ")
            writeNString(part.description)
            writeString(" ")
            writeIMAPString(part.encoding)
            writeString(" \(part.size)")
            if let message = part.message {
                writeString(" ")
                writeEnvelope(message.envelope)
                writeString(" ")
                writeBodyStructure(message.body, extensions: extensions)
                writeString(" \(part.lines ?? 0)")
            } else if part.type == "text" {
                writeString(" \(part.lines ?? 0)")
            }
            if extensions { writeExtension(part.extensionData, md5: true) }
            writeString(")")
        }
    }
}
