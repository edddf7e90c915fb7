/// Why a FETCH BINARY of a section is refused.
public enum BinarySectionError: Error, Sendable, Hashable {
    /// The part's Content-Transfer-Encoding is none this server can undo: RFC 3516 §4.3 wants
    /// `NO [UNKNOWN-CTE]`, and the client can still fetch BODY[…] and decode it itself.
    case unknownEncoding(String)
    /// A multipart or message/rfc822 part, or the whole of a multipart message: RFC 9051 §6.4.5
    /// allows BINARY of leaf parts only.
    case notALeaf
}

extension ParsedMessage {
    /// Whether BINARY / BINARY.SIZE of `part` can be answered, known from the structure alone,
    /// so a FETCH can refuse a message before it sets `\Seen` or writes anything of it. Part
    /// numbers that name nothing are not an error: the section is answered as empty, as
    /// BODY[…] is.
    public func binaryRefusal(_ part: [Int]) -> BinarySectionError? {
        do {
            _ = try binaryTarget(part)
            return nil
        } catch {
            return error
        }
    }

    /// The octets of BINARY[`part`] (RFC 3516 §4.2): the part's body with its
    /// Content-Transfer-Encoding undone, taken from `bytes` — the very bytes this was parsed
    /// from. A `text/*` part has its line breaks made CRLF (§4.3). The empty section is a
    /// whole non-multipart message: its header, with `Content-Transfer-Encoding: binary` when
    /// the body was encoded, then the decoded body. Nil when the numbers name no part.
    public func binarySection(_ part: [Int], of bytes: [UInt8]) throws(BinarySectionError) -> [UInt8]? {
        guard layout.body.upperBound <= bytes.count, let (entity, single) = try binaryTarget(part) else { return nil }
        guard var decoded = TransferDecoding.decode(bytes[entity.body], encoding: single.encoding) else {
            throw .unknownEncoding(single.encoding)
        }
        if single.type == "text" { decoded = TransferDecoding.canonicalLineBreaks(decoded) }
        guard part.isEmpty else { return decoded }
        if TransferDecoding.identityEncodings.contains(single.encoding) {
            return Array(bytes[entity.header]) + decoded
        }
        // The header must not go on calling the decoded body base64 or quoted-printable.
        let block = bytes.withUnsafeBufferPointer {
            HeaderBlock($0, from: entity.header.lowerBound, end: entity.header.upperBound)
        }
        var result: [UInt8] = []
        result.reserveCapacity(entity.header.count + decoded.count)
        for field in block.fields where !field.name.caseInsensitiveEquals("Content-Transfer-Encoding") {
            result.append(contentsOf: bytes[field.range])
        }
        result.append(contentsOf: Array("Content-Transfer-Encoding: binary\r\n\r\n".utf8))
        result.append(contentsOf: decoded)
        return result
    }

    /// The entity BINARY[`path`] reads and its structure; nil when the numbers name no part.
    /// Walks the layout and the BODYSTRUCTURE together, as `MessagePart.resolve` walks the layout.
    private func binaryTarget(_ path: [Int]) throws(BinarySectionError) -> (MessagePart, BodyStructure.SinglePart)? {
        var entity = layout
        var structure = body
        for (step, number) in path.enumerated() {
            if step > 0, case .message(let inner) = entity.content {
                guard case .single(let single) = structure, let message = single.message else { return nil }
                entity = inner
                structure = message.body
            } else if step > 0, case .single = entity.content {
                return nil
            }
            switch entity.content {
            case .multipart(let children):
                guard case .multipart(let multipart) = structure, children.count == multipart.parts.count,
                    number >= 1, number <= children.count
                else { return nil }
                entity = children[number - 1]
                structure = multipart.parts[number - 1]
            case .single, .message:
                // The body of a non-multipart entity is its part 1 (RFC 3501 §6.4.5).
                guard number == 1 else { return nil }
            }
        }
        guard case .single(let single) = structure else { throw .notALeaf }
        if case .multipart = entity.content { throw .notALeaf }
        if !path.isEmpty, single.message != nil { throw .notALeaf }
        guard TransferDecoding.canDecode(single.encoding) else { throw .unknownEncoding(single.encoding) }
        return (entity, single)
    }
}
