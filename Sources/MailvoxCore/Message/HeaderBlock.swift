/// The header fields of one RFC 5322 header block, located by byte offsets.
///
/// Shared by the MIME limit check (before any C parser sees the bytes) and by section
/// fetches (`HEADER.FIELDS`), so both agree on where a header ends and a field begins.
public struct HeaderBlock: Sendable, Hashable {
    /// One field: its name and the whole field, folded lines and final line break included.
    public struct Field: Sendable, Hashable {
        public var name: String
        public var range: Range<Int>
    }

    /// The fields in order.
    public var fields: [Field]
    /// The whole block, the blank line that ends it included when there is one.
    public var range: Range<Int>
    /// Where the body starts: after the blank line, or the end when there is none.
    public var bodyStart: Int { range.upperBound }

    /// Reads the header block starting at `start`; stops early (returning what it has) once
    /// `maxFields` fields are exceeded, so a hostile header costs no more than the limit.
    public init(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, end: Int? = nil, maxFields: Int = .max) {
        let end = end ?? bytes.count
        var fields: [Field] = []
        var index = start
        var fieldStart: Int?
        var nameEnd = start
        func close(at position: Int) {
            if let begin = fieldStart {
                let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[begin..<nameEnd]), as: UTF8.self)
                fields.append(Field(name: name, range: begin..<position))
            }
            fieldStart = nil
        }
        while index < end {
            let lineStart = index
            var lineEnd = index
            while lineEnd < end, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            let next = lineEnd < end ? lineEnd + 1 : end
            let isBlank = lineEnd == lineStart || (lineEnd == lineStart + 1 && bytes[lineStart] == 0x0D)
            if isBlank && lineEnd < end {
                close(at: lineStart)
                index = next
                break
            }
            if isBlank {
                close(at: lineStart)
                index = next
                break
            }
            let first = bytes[lineStart]
            if (first == 0x20 || first == 0x09) && fieldStart != nil {
                // RFC 5322 §2.2.3: a continuation line belongs to the field above.
            } else {
                close(at: lineStart)
                if fields.count >= maxFields { break }
                fieldStart = lineStart
                var colon = lineStart
                while colon < lineEnd, bytes[colon] != UInt8(ascii: ":") { colon += 1 }
                nameEnd = colon
                // Trailing white space before the colon is obsolete syntax (RFC 5322 §4.5).
                while nameEnd > lineStart, bytes[nameEnd - 1] == 0x20 || bytes[nameEnd - 1] == 0x09 { nameEnd -= 1 }
            }
            index = next
        }
        if index >= end { close(at: end) }
        self.fields = fields
        self.range = start..<index
    }

    /// The unfolded value of the first field named `name` (case-insensitive), white space trimmed.
    public func value(of name: String, in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        fields.first(where: { $0.name.caseInsensitiveEquals(name) }).map { value(of: $0, in: bytes) }
    }

    /// The unfolded values of every field named `name`, in order.
    public func values(of name: String, in bytes: UnsafeBufferPointer<UInt8>) -> [String] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }.map { value(of: $0, in: bytes) }
    }

    /// The unfolded value of `field`, white space trimmed.
    public func value(of field: Field, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        var value: [UInt8] = []
        var index = field.range.lowerBound + field.name.utf8.count
        while index < field.range.upperBound, bytes[index] != UInt8(ascii: ":") { index += 1 }
        index += 1
        while index < field.range.upperBound {
            let byte = bytes[index]
            if byte != 0x0D && byte != 0x0A { value.append(byte) }
            index += 1
        }
        return String(decoding: value, as: UTF8.self).trimmingASCIIWhitespace()
    }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        utf8.count == other.utf8.count && lowercased() == other.lowercased()
    }

    func trimmingASCIIWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
