import MailvoxCore

/// A mailbox name, held in UTF-8 as the index stores it and written in modified UTF-7 on the
/// wire (RFC 3501 §5.1.3). `INBOX` is case-insensitive and always normalised to upper case.
public struct MailboxName: Sendable, Hashable, CustomStringConvertible {
    /// The name in UTF-8, `/` between hierarchy levels.
    public let name: String

    public init(_ name: String) {
        self.name = name.uppercased() == "INBOX" ? "INBOX" : name
    }

    public static let inbox = MailboxName("INBOX")

    public var isInbox: Bool { name == "INBOX" }

    /// Why this name cannot be given to a new folder (CREATE, RENAME's target), or nil:
    /// `FolderNameRules`, the store's own rules, checked before the store is asked so the
    /// answer is the same whichever `MailStore` is behind the session.
    public var problemAsNewFolder: String? {
        name.hasPrefix(Self.unreadableMark) ? "not valid modified UTF-7" : FolderNameRules.problem(name)
    }

    /// What a wire name that is not modified UTF-7 (RFC 3501 §5.1.3) stands for: a name behind a
    /// control character, which `FolderNameRules` gives no folder, so it names none and a
    /// pattern made of it matches none.
    public static func unreadable(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        // Marked once: such a name sent back as UTF-8 reads as the same name.
        return text.hasPrefix(unreadableMark) ? text : unreadableMark + text
    }

    private static let unreadableMark = "\u{1}"

    /// The modified UTF-7 wire form, e.g. `Entw&APw-rfe` for "Entwürfe".
    public var wireName: String { ModifiedUTF7.encode(name) }

    /// Decodes a name as sent on the wire; nil when the bytes are not valid modified UTF-7.
    public init?(wire bytes: [UInt8]) {
        guard let decoded = ModifiedUTF7.decode(bytes) else { return nil }
        self.init(decoded)
    }

    public var description: String { name }
}

/// How mailbox names travel: modified UTF-7 for IMAP4rev1 clients, UTF-8 once a client ENABLEd
/// UTF8=ACCEPT (RFC 6855 §3) or IMAP4rev2 (RFC 9051 §5.1), in both directions.
public enum NameEncoding: Sendable {
    case modifiedUTF7
    case utf8
}

/// The modified UTF-7 of RFC 3501 §5.1.3: printable ASCII stands for itself (`&` as `&-`), anything
/// else is `&` + base64 of UTF-16BE with `,` for `/` + `-`.
public enum ModifiedUTF7 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    public static func encode(_ text: String) -> String {
        var output: [UInt8] = []
        var pending: [UInt16] = []
        func flush() {
            guard !pending.isEmpty else { return }
            output.append(UInt8(ascii: "&"))
            var bytes: [UInt8] = []
            for unit in pending { bytes += [UInt8(unit >> 8), UInt8(unit & 0xFF)] }
            var index = 0
            while index < bytes.count {
                let chunk = bytes[index..<min(index + 3, bytes.count)]
                let b0 = chunk[chunk.startIndex]
                let b1 = chunk.count > 1 ? chunk[chunk.startIndex + 1] : 0
                let b2 = chunk.count > 2 ? chunk[chunk.startIndex + 2] : 0
                output.append(alphabet[Int(b0 >> 2)])
                output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
                if chunk.count > 1 { output.append(alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]) }
                if chunk.count > 2 { output.append(alphabet[Int(b2 & 0x3F)]) }
                index += 3
            }
            output.append(UInt8(ascii: "-"))
            pending.removeAll()
        }
        for scalar in text.unicodeScalars {
            if (0x20...0x7E).contains(scalar.value) {
                flush()
                output.append(UInt8(scalar.value))
                if scalar == "&" { output.append(UInt8(ascii: "-")) }
            } else {
                pending += Array(String(scalar).utf16)
            }
        }
        flush()
        return String(decoding: output, as: UTF8.self)
    }

    /// Nil for anything RFC 3501 forbids: 8-bit or control bytes, an unterminated shift, printable
    /// ASCII in base64, an unpaired surrogate, or non-zero padding bits.
    public static func decode(_ bytes: [UInt8]) -> String? {
        var result = String.UnicodeScalarView()
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard (0x20...0x7E).contains(byte) else { return nil }
            if byte != UInt8(ascii: "&") {
                result.append(Unicode.Scalar(byte))
                index += 1
                continue
            }
            guard let end = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "-")) else { return nil }
            let encoded = bytes[(index + 1)..<end]
            index = end + 1
            if encoded.isEmpty {
                result.append("&")
                continue
            }
            var bits: UInt32 = 0
            var bitCount = 0
            var units: [UInt16] = []
            for character in encoded {
                guard let value = alphabet.firstIndex(of: character) else { return nil }
                bits = (bits << 6) | UInt32(value)
                bitCount += 6
                if bitCount >= 16 {
                    bitCount -= 16
                    units.append(UInt16(truncatingIfNeeded: bits >> UInt32(bitCount)))
                    bits &= (1 << UInt32(bitCount)) - 1
                }
            }
            // Leftover bits are padding: fewer than 6 and all zero.
            guard bitCount < 6, bits == 0, !units.isEmpty else { return nil }
            var decoded = String.UnicodeScalarView()
            var iterator = units.makeIterator()
            var utf16 = UTF16()
            decodeLoop: while true {
                switch utf16.decode(&iterator) {
                case .scalarValue(let scalar):
                    // Printable ASCII must stand for itself, never be shifted (RFC 3501 §5.1.3).
                    if (0x20...0x7E).contains(scalar.value) { return nil }
                    decoded.append(scalar)
                case .emptyInput: break decodeLoop
                case .error: return nil
                }
            }
            result.append(contentsOf: decoded)
            // "&AAA-&AAA-" must be one shift: two adjacent shifts are not canonical, but harmless; accept.
        }
        return String(result)
    }
}
