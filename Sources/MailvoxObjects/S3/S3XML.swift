/// The little XML S3 answers with (`ListBucketResult`, `Error`), read by a small strict reader
/// instead of a general parser: no DTDs, no entities beyond the five predefined ones and
/// character references, bounded depth. Anything else is `S3XML.Problem`, never a crash —
/// `Fuzz/` feeds it arbitrary bytes.
public enum S3XML {
    /// Why an answer could not be read.
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// An element's path from the root (`["ListBucketResult", "Contents", "Key"]`) and its text.
    public typealias Leaf = (path: [String], text: String)

    static let maxDepth = 16

    /// Every element that holds text, in document order. Mixed content keeps only the text.
    public static func leaves(_ bytes: [UInt8]) throws(Problem) -> [Leaf] {
        var reader = Reader(bytes: bytes)
        return try reader.read()
    }

    /// A ListObjectsV2 page: keys, whether more follow, the token for them.
    public struct ListPage: Equatable, Sendable {
        public var keys: [String]
        public var isTruncated: Bool
        public var nextContinuationToken: String?

        public init(keys: [String], isTruncated: Bool, nextContinuationToken: String?) {
            self.keys = keys
            self.isTruncated = isTruncated
            self.nextContinuationToken = nextContinuationToken
        }
    }

    public static func listPage(_ bytes: [UInt8]) throws(Problem) -> ListPage {
        let leaves = try leaves(bytes)
        guard let root = leaves.first?.path.first ?? rootName(bytes) else {
            throw Problem(description: "empty listing")
        }
        guard root == "ListBucketResult" else {
            throw Problem(description: "listing has root element <\(root.prefix(40))>, not <ListBucketResult>")
        }
        var page = ListPage(keys: [], isTruncated: false, nextContinuationToken: nil)
        var sawTruncated = false
        for (path, text) in leaves {
            switch path {
            case ["ListBucketResult", "Contents", "Key"]: page.keys.append(text)
            case ["ListBucketResult", "IsTruncated"]:
                guard text == "true" || text == "false" else {
                    throw Problem(description: "IsTruncated is neither true nor false")
                }
                page.isTruncated = text == "true"
                sawTruncated = true
            case ["ListBucketResult", "NextContinuationToken"]: page.nextContinuationToken = text
            default: continue
            }
        }
        guard sawTruncated else { throw Problem(description: "listing without IsTruncated") }
        if page.isTruncated && (page.nextContinuationToken ?? "").isEmpty {
            throw Problem(description: "truncated listing without NextContinuationToken")
        }
        return page
    }

    /// The `Code` and `Message` of an S3 `<Error>` body, when it is one.
    public static func errorCode(_ bytes: [UInt8]) -> (code: String, message: String)? {
        guard let leaves = try? leaves(bytes) else { return nil }
        var code: String?
        var message = ""
        for (path, text) in leaves {
            if path == ["Error", "Code"] { code = text }
            if path == ["Error", "Message"] { message = text }
        }
        return code.map { ($0, message) }
    }

    /// The root element's name for a document whose root holds no text (an empty listing).
    private static func rootName(_ bytes: [UInt8]) -> String? {
        var reader = Reader(bytes: bytes)
        return try? reader.firstElementName()
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func firstElementName() throws(Problem) -> String? {
            while index < bytes.count {
                guard bytes[index] == UInt8(ascii: "<") else {
                    index += 1
                    continue
                }
                index += 1
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: "?") || bytes[index] == UInt8(ascii: "!") {
                    continue
                }
                return try name()
            }
            return nil
        }

        mutating func read() throws(Problem) -> [Leaf] {
            var leaves: [Leaf] = []
            var stack: [String] = []
            // Whether each open element has a child element: only those without one are leaves.
            var hasChild: [Bool] = []
            var text: [UInt8] = []
            var sawRoot = false
            while index < bytes.count {
                let byte = bytes[index]
                if byte != UInt8(ascii: "<") {
                    guard !stack.isEmpty else {
                        // Only whitespace may stand outside the root element.
                        guard Self.isSpace(byte) else { throw Problem(description: "text outside the root element") }
                        index += 1
                        continue
                    }
                    if byte == UInt8(ascii: "&") {
                        try text.append(contentsOf: entity())
                    } else {
                        text.append(byte)
                        index += 1
                    }
                    continue
                }
                index += 1
                guard index < bytes.count else { throw Problem(description: "cut off inside a tag") }
                switch bytes[index] {
                case UInt8(ascii: "?"):
                    guard !sawRoot else { throw Problem(description: "processing instruction after the root") }
                    try skip(past: Array("?>".utf8))
                case UInt8(ascii: "!"):
                    // Comments are tolerated; DTDs and CDATA are not something S3 sends.
                    guard bytes[index...].starts(with: Array("!--".utf8)) else {
                        throw Problem(description: "DTD or CDATA in an S3 answer")
                    }
                    try skip(past: Array("-->".utf8))
                case UInt8(ascii: "/"):
                    index += 1
                    let closing = try name()
                    skipSpaces()
                    try expect(UInt8(ascii: ">"))
                    guard let open = stack.popLast(), open == closing, let parent = hasChild.popLast() else {
                        throw Problem(description: "closing tag </\(closing.prefix(40))> does not match")
                    }
                    if !parent { leaves.append((stack + [open], String(decoding: text, as: UTF8.self))) }
                    text = []
                default:
                    guard !(sawRoot && stack.isEmpty) else { throw Problem(description: "a second root element") }
                    let opened = try name()
                    // Attributes (xmlns) are skipped up to the end of the tag; quoted values may hold '>'.
                    var quote: UInt8?
                    var selfClosing = false
                    while true {
                        guard index < bytes.count else { throw Problem(description: "cut off inside <\(opened)>") }
                        let c = bytes[index]
                        index += 1
                        if let open = quote {
                            if c == open { quote = nil }
                        } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                            quote = c
                        } else if c == UInt8(ascii: "<") {
                            throw Problem(description: "'<' inside <\(opened)>")
                        } else if c == UInt8(ascii: ">") {
                            selfClosing = index >= 2 && bytes[index - 2] == UInt8(ascii: "/")
                            break
                        }
                    }
                    sawRoot = true
                    if !hasChild.isEmpty { hasChild[hasChild.count - 1] = true }
                    text = []
                    if selfClosing {
                        leaves.append((stack + [opened], ""))
                        continue
                    }
                    guard stack.count < S3XML.maxDepth else { throw Problem(description: "elements nested too deep") }
                    stack.append(opened)
                    hasChild.append(false)
                }
            }
            guard stack.isEmpty else {
                throw Problem(description: "cut off: <\(stack.last!.prefix(40))> is never closed")
            }
            guard sawRoot else { throw Problem(description: "no element at all") }
            return leaves
        }

        private mutating func name() throws(Problem) -> String {
            let start = index
            while index < bytes.count {
                let c = bytes[index]
                if Self.isSpace(c) || c == UInt8(ascii: ">") || c == UInt8(ascii: "/") { break }
                guard c > 0x20 && c != UInt8(ascii: "<") && c != UInt8(ascii: "&") else {
                    throw Problem(description: "bad character in a tag name")
                }
                index += 1
            }
            guard index > start, index - start <= 128 else { throw Problem(description: "empty or overlong tag name") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        private mutating func entity() throws(Problem) -> [UInt8] {
            guard let end = bytes[index...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                throw Problem(description: "unterminated entity")
            }
            let body = String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
            index = end + 1
            switch body {
            case "amp": return [UInt8(ascii: "&")]
            case "lt": return [UInt8(ascii: "<")]
            case "gt": return [UInt8(ascii: ">")]
            case "quot": return [UInt8(ascii: "\"")]
            case "apos": return [UInt8(ascii: "'")]
            default:
                var number: UInt32?
                if body.hasPrefix("#x") || body.hasPrefix("#X") {
                    number = UInt32(body.dropFirst(2), radix: 16)
                } else if body.hasPrefix("#") {
                    number = UInt32(body.dropFirst(), radix: 10)
                }
                guard let number, number != 0, let scalar = Unicode.Scalar(number) else {
                    throw Problem(description: "unknown entity &\(body.prefix(10));")
                }
                return Array(String(Character(scalar)).utf8)
            }
        }

        private mutating func skip(past terminator: [UInt8]) throws(Problem) {
            while index < bytes.count {
                if bytes[index...].starts(with: terminator) {
                    index += terminator.count
                    return
                }
                index += 1
            }
            throw Problem(description: "cut off before \(String(decoding: terminator, as: UTF8.self))")
        }

        private mutating func skipSpaces() {
            while index < bytes.count && Self.isSpace(bytes[index]) { index += 1 }
        }

        private mutating func expect(_ byte: UInt8) throws(Problem) {
            guard index < bytes.count, bytes[index] == byte else {
                throw Problem(description: "expected '\(Character(Unicode.Scalar(byte)))'")
            }
            index += 1
        }

        private static func isSpace(_ c: UInt8) -> Bool {
            c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D
        }
    }
}
