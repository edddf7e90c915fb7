/// The name of a blob: slash-separated printable ASCII such as
/// `spool/2000/3/1733000000.M1P2.host:2,S` or `queue/abc.mvx`, checked once so that neither a
/// file path nor an S3 request is ever built from an unchecked string.
///
/// Rules (the same for every backend, so a key that works on disk works in a bucket):
/// 1–1024 bytes of ASCII 0x20–0x7E except `\`; no leading or trailing `/`, no empty segment,
/// no `.` or `..` segment, no segment over 255 bytes (a file name's limit); the first segment
/// `.blobstore` is reserved for the filesystem store's own files.
public struct BlobKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The key as given.
    public let value: String

    public static let maxBytes = 1024
    public static let maxSegmentBytes = 255
    /// The filesystem store's temp files live under this first segment.
    public static let reservedSegment = ".blobstore"

    public init(_ value: String) throws(BlobStoreError) {
        try Self.checkCharacters(value, what: "key")
        guard !value.isEmpty else { throw .invalidKey("empty key") }
        guard value.utf8.count <= Self.maxBytes else {
            throw .invalidKey("key longer than \(Self.maxBytes) bytes")
        }
        let segments = value.split(separator: "/", omittingEmptySubsequences: false)
        for segment in segments { try Self.checkSegment(segment, in: value) }
        if segments.first == Substring(Self.reservedSegment) {
            throw .invalidKey("\(Self.quoted(value)) uses the reserved first segment \(Self.reservedSegment)")
        }
        self.value = value
    }

    public var description: String { value }

    /// The segments between slashes.
    public var segments: [Substring] { value.split(separator: "/") }

    /// Byte order, as S3 lists keys.
    public static func < (lhs: BlobKey, rhs: BlobKey) -> Bool {
        lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
    }

    static func checkSegment(_ segment: Substring, in value: String) throws(BlobStoreError) {
        if segment.isEmpty {
            if value.hasPrefix("/") { throw .invalidKey("\(quoted(value)) starts with /") }
            if value.hasSuffix("/") { throw .invalidKey("\(quoted(value)) ends with /") }
            throw .invalidKey("\(quoted(value)) has an empty segment (//)")
        }
        if segment == "." || segment == ".." {
            throw .invalidKey("\(quoted(value)) has a \(segment) segment")
        }
        if segment.utf8.count > maxSegmentBytes {
            throw .invalidKey("\(quoted(value)) has a segment longer than \(maxSegmentBytes) bytes")
        }
    }

    static func checkCharacters(_ value: String, what: String) throws(BlobStoreError) {
        for byte in value.utf8 where byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "\\") {
            let shown = byte < 0x20 || byte == 0x7F ? "control character 0x\(String(byte, radix: 16))" : "byte"
            if byte > 0x7E && byte != 0x7F { throw .invalidKey("\(what) has a non-ASCII character") }
            if byte == UInt8(ascii: "\\") { throw .invalidKey("\(what) has a backslash") }
            throw .invalidKey("\(what) has a \(shown)")
        }
    }

    /// The key for error texts: printable ASCII by construction once checked; before the check
    /// only its length is shown.
    static func quoted(_ value: String) -> String {
        value.utf8.count <= 200 ? "'\(value)'" : "'\(value.prefix(200))…'"
    }
}

/// A prefix to list by: empty (everything), a folder such as `spool/2000/`, or any start of a
/// key such as `queue/ab`. Same characters as `BlobKey`; no leading `/` or empty segment.
public struct BlobPrefix: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    public static let all = BlobPrefix(checked: "")

    public init(_ value: String) throws(BlobStoreError) {
        try BlobKey.checkCharacters(value, what: "prefix")
        guard value.utf8.count <= BlobKey.maxBytes else { throw .invalidKey("prefix longer than a key can be") }
        if value.hasPrefix("/") { throw .invalidKey("prefix \(BlobKey.quoted(value)) starts with /") }
        var segments = value.split(separator: "/", omittingEmptySubsequences: false)
        // The last piece is a partial segment ("" after a trailing slash, or the start of a name).
        segments.removeLast()
        for segment in segments {
            if segment.isEmpty { throw .invalidKey("prefix \(BlobKey.quoted(value)) has an empty segment (//)") }
            if segment == "." || segment == ".." {
                throw .invalidKey("prefix \(BlobKey.quoted(value)) has a \(segment) segment")
            }
        }
        self.value = value
    }

    private init(checked: String) { value = checked }

    public var description: String { value }

    /// Whether `key` starts with this prefix.
    public func matches(_ key: BlobKey) -> Bool { key.value.utf8.starts(with: value.utf8) }
}
