/// Everything IMAP serves about one message without re-parsing it: RFC822.SIZE, ENVELOPE,
/// BODYSTRUCTURE, and where each MIME entity sits in the bytes, for `BODY[section]` fetches.
public struct ParsedMessage: Sendable, Hashable, Codable {
    /// RFC822.SIZE: the exact octet count of the message.
    public var size: Int
    public var envelope: Envelope
    public var body: BodyStructure
    /// The message as a tree of located entities.
    public var layout: MessagePart

    public init(size: Int, envelope: Envelope, body: BodyStructure, layout: MessagePart) {
        self.size = size
        self.envelope = envelope
        self.body = body
        self.layout = layout
    }

    /// The octets of `section` of this message (RFC 3501 §6.4.5), taken from `bytes` — the
    /// very bytes this was parsed from. Nil when the section names no part of this message
    /// (a FETCH then answers the part as empty, as Dovecot does).
    public func section(_ section: SectionSpecifier, of bytes: [UInt8]) -> [UInt8]? {
        guard let whole = bytes.withUnsafeBufferPointer({ extract(section, from: $0) }) else { return nil }
        guard let partial = section.partial else { return whole }
        // RFC 3501 §6.4.5: an origin past the end gives an empty string.
        guard partial.offset < whole.count else { return [] }
        return Array(whole[partial.offset..<min(whole.count, partial.offset + partial.length)])
    }

    private func extract(_ section: SectionSpecifier, from bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard layout.body.upperBound <= bytes.count else { return nil }
        func slice(_ range: Range<Int>) -> [UInt8] { Array(bytes[range]) }
        guard let target = layout.resolve(section.part) else { return nil }
        // HEADER, TEXT and HEADER.FIELDS apply to a message: the top level or an encapsulated one.
        let message: MessagePart? =
            if section.part.isEmpty { layout } else if case .message(let inner) = target.content { inner } else { nil }
        switch section.text {
        case .whole:
            return section.part.isEmpty ? slice(layout.header.lowerBound..<layout.body.upperBound) : slice(target.body)
        case .mime:
            return slice(target.header)
        case .header:
            return message.map { slice($0.header) }
        case .text:
            return message.map { slice($0.body) }
        case .headerFields(let names), .headerFieldsNot(let names):
            guard let message else { return nil }
            let keep: Bool
            if case .headerFields = section.text { keep = true } else { keep = false }
            let block = HeaderBlock(bytes, from: message.header.lowerBound, end: message.header.upperBound)
            var result: [UInt8] = []
            for field in block.fields where names.contains(where: { $0.caseInsensitiveEquals(field.name) }) == keep {
                result.append(contentsOf: bytes[field.range])
            }
            // RFC 3501 §6.4.5: the subset "includes the blank line".
            result.append(contentsOf: [0x0D, 0x0A])
            return result
        }
    }
}

/// One MIME entity located in a message's bytes: its header block and its body.
public struct MessagePart: Sendable, Hashable, Codable {
    /// The header block, the blank line that ends it included.
    public var header: Range<Int>
    /// The body as transmitted: for a part of a multipart, up to (not including) the line
    /// break that belongs to the next boundary (RFC 2046 §5.1.1).
    public var body: Range<Int>
    public var content: Content

    public indirect enum Content: Sendable, Hashable, Codable {
        case single
        case multipart([MessagePart])
        /// `message/rfc822`: the encapsulated message, located within `body`.
        case message(MessagePart)
    }

    public init(header: Range<Int>, body: Range<Int>, content: Content) {
        self.header = header
        self.body = body
        self.content = content
    }

    /// The entity that the part numbers `path` name, with this entity as a message (RFC 3501
    /// §6.4.5): in a multipart, `n` is the n-th child; in anything else `1` is the body itself;
    /// a number below a `message/rfc822` part addresses that message's parts.
    public func resolve(_ path: [Int]) -> MessagePart? {
        var current = self
        for (step, number) in path.enumerated() {
            if step > 0 {
                switch current.content {
                case .single: return nil
                case .message(let inner): current = inner
                case .multipart: break
                }
            }
            switch current.content {
            case .multipart(let children):
                guard number >= 1, number <= children.count else { return nil }
                current = children[number - 1]
            case .single, .message:
                // The body of a non-multipart message is its part 1.
                guard number == 1 else { return nil }
            }
        }
        return current
    }
}
