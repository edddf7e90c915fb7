/// A mailbox's id: the name PBXs deposit to and the IMAP login, e.g. `1000` or `sales.emea`.
///
/// docs/DESIGN.md §3.2: `[0-9A-Za-z][0-9A-Za-z._-]{0,63}`. The id also names the mailbox's spool
/// directory, so nothing outside that alphabet (no `/`, no leading `.`) can ever reach a path.
public struct MailboxID: ValidatedString, Comparable {
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

    public static let kindName = "mailbox id"

    public static func < (lhs: MailboxID, rhs: MailboxID) -> Bool { lhs.rawValue < rhs.rawValue }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
    }
}
