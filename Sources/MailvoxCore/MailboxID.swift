/// A mailbox's id: the name PBXs deposit to and the IMAP login, e.g. `1000` or `sales.emea`.
///
/// docs/DESIGN.md §3.2: `[0-9A-Za-z][0-9A-Za-z._-]{0,63}`. The id also names the mailbox's spool
/// directory, so nothing outside that alphabet (no `/`, no leading `.`) can ever reach a path.
public struct MailboxID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: String

    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard (1...64).contains(bytes.count), Self.isAlphanumeric(bytes[0]) else { return nil }
        for byte in bytes.dropFirst()
        where
            !(Self.isAlphanumeric(byte) || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-"))
        {
            return nil
        }
        self.rawValue = text
    }

    public var description: String { rawValue }

    public static func < (lhs: MailboxID, rhs: MailboxID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = MailboxID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad mailbox id"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
    }
}
