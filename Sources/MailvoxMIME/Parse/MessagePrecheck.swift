import Foundation
import MailvoxCore

/// The limits check that runs before libetpan sees a byte (docs/DESIGN.md §2): a linear walk of the
/// MIME structure as boundaries and Content-Type headers lay it out, counting header fields,
/// header octets, nesting depth and parts.
///
/// libetpan recurses once per nesting level; every level needs a Content-Type field of its own
/// (or a multipart/digest default), so the plain count of Content-Type fields bounds libetpan's
/// depth whatever this walk concludes, and is held to `maxParts`.
struct MessagePrecheck {
    let bytes: UnsafeBufferPointer<UInt8>
    let limits: MessageLimits
    var parts = 0

    static func check(_ bytes: UnsafeBufferPointer<UInt8>, limits: MessageLimits) throws(MessageParseError) {
        guard bytes.count <= limits.maxBytes else {
            throw .tooLarge(bytes: bytes.count, limit: limits.maxBytes)
        }
        let contentTypes = countContentTypeFields(bytes)
        guard contentTypes <= limits.maxParts else { throw .tooManyParts(count: contentTypes, limit: limits.maxParts) }
        var walk = MessagePrecheck(bytes: bytes, limits: limits)
        try walk.entity(0..<bytes.count, depth: 0, digest: false)
    }

    /// Lines that start a `Content-Type` field, anywhere in the message.
    static func countContentTypeFields(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let name = Array("content-type".utf8)
        var count = 0
        var lineStart = 0
        while lineStart < bytes.count {
            var index = 0
            while index < name.count, lineStart + index < bytes.count, bytes[lineStart + index] | 0x20 == name[index] {
                index += 1
            }
            if index == name.count {
                var colon = lineStart + index
                while colon < bytes.count, bytes[colon] == 0x20 || bytes[colon] == 0x09 { colon += 1 }
                if colon < bytes.count, bytes[colon] == UInt8(ascii: ":") { count += 1 }
            }
            lineStart = bytes.lineFeed(from: lineStart, before: bytes.count) + 1
        }
        return count
    }

    private mutating func entity(_ range: Range<Int>, depth: Int, digest: Bool) throws(MessageParseError) {
        parts += 1
        guard parts <= limits.maxParts else { throw .tooManyParts(count: parts, limit: limits.maxParts) }
        guard depth <= limits.maxDepth else { throw .tooDeep(depth: depth, limit: limits.maxDepth) }
        let header = HeaderBlock(
            bytes, from: range.lowerBound, end: range.upperBound, maxFields: limits.maxHeaderFields + 1)
        guard header.fields.count <= limits.maxHeaderFields else {
            throw .tooManyHeaderFields(count: header.fields.count, limit: limits.maxHeaderFields)
        }
        guard header.range.count <= limits.maxHeaderBytes else {
            throw .headerTooLarge(bytes: header.range.count, limit: limits.maxHeaderBytes)
        }
        for field in header.fields where field.range.count > limits.maxFieldBytes {
            throw .fieldTooLarge(bytes: field.range.count, limit: limits.maxFieldBytes)
        }
        let contentType = header.value(of: "Content-Type", in: bytes).map(ContentTypeSketch.init)
        let type = contentType?.type ?? (digest ? "message" : "text")
        let body = header.bodyStart..<range.upperBound
        if type == "multipart", let boundary = contentType?.boundary {
            for part in partRanges(body, boundary: Array(("--" + boundary).utf8)) {
                try entity(part, depth: depth + 1, digest: contentType?.subtype == "digest")
            }
        } else if type == "message", contentType?.subtype ?? "rfc822" == "rfc822" || contentType?.subtype == "global" {
            try entity(body, depth: depth + 1, digest: false)
        }
    }

    /// RFC 2046 §5.1.1: after the boundary only "--" and then white space may follow.
    private func isDelimiterTail(_ range: Range<Int>) -> Bool {
        var index = range.lowerBound
        if index + 1 < range.upperBound, bytes[index] == UInt8(ascii: "-"), bytes[index + 1] == UInt8(ascii: "-") {
            index += 2
        }
        return range[index...].allSatisfy { bytes[$0] == 0x20 || bytes[$0] == 0x09 || bytes[$0] == 0x0D }
    }

    /// The ranges between `--boundary` lines (RFC 2046 §5.1.1), up to the closing `--boundary--`.
    private func partRanges(_ body: Range<Int>, boundary: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var partStart: Int?
        var lineStart = body.lowerBound
        while lineStart < body.upperBound {
            let lineEnd = bytes.lineFeed(from: lineStart, before: body.upperBound)
            if lineEnd - lineStart >= boundary.count,
                (0..<boundary.count).allSatisfy({ bytes[lineStart + $0] == boundary[$0] }),
                isDelimiterTail(lineStart + boundary.count..<lineEnd)
            {
                if let start = partStart { ranges.append(start..<max(start, lineStart)) }
                let after = lineStart + boundary.count
                if after + 1 < body.upperBound, bytes[after] == UInt8(ascii: "-"), bytes[after + 1] == UInt8(ascii: "-")
                {
                    return ranges
                }
                partStart = min(lineEnd + 1, body.upperBound)
            }
            lineStart = lineEnd + 1
        }
        if let start = partStart { ranges.append(start..<body.upperBound) }
        return ranges
    }
}

/// Just enough of a Content-Type value to follow the structure: type, subtype, boundary.
struct ContentTypeSketch {
    var type: String
    var subtype: String
    var boundary: String?

    init(_ value: String) {
        let pieces = value.split(separator: ";", omittingEmptySubsequences: false)
        let media = pieces.first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let slash = media.split(separator: "/", maxSplits: 1)
        type = slash.first.map(String.init) ?? ""
        subtype = slash.count > 1 ? String(slash[1]).trimmingCharacters(in: .whitespaces) : ""
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else {
                continue
            }
            var raw = pair[1].trimmingCharacters(in: .whitespaces)
            if raw.hasPrefix("\""), let close = raw.dropFirst().firstIndex(of: "\"") {
                raw = String(raw[raw.index(after: raw.startIndex)..<close])
            }
            boundary = raw.isEmpty ? nil : raw
        }
    }
}
