import Foundation
import MailvoxCore

/// SEARCH's view of a message held as plain bytes: header fields unfolded but not RFC 2047
/// decoded, the body as raw text (no transfer decoding). Enough for the in-memory store until
/// MailvoxMIME's decoding `SearchableMessage` is on main.
struct ByteSearchCandidate: SearchCandidate {
    let summary: MessageSummary
    let bytes: [UInt8]

    private var header: HeaderBlock {
        bytes.withUnsafeBufferPointer { HeaderBlock($0, from: 0) }
    }

    func headerValues(_ name: String) throws -> [String] {
        let block = header
        return block.fields.filter { $0.name.lowercased() == name.lowercased() }.map { field in
            var value = Array(bytes[field.range])
            if let colon = value.firstIndex(of: UInt8(ascii: ":")) { value.removeSubrange(...colon) }
            value.removeAll { $0 == 0x0D || $0 == 0x0A }
            return String(decoding: value, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        }
    }

    func headerText() throws -> String {
        String(decoding: bytes[header.range], as: UTF8.self)
    }

    func sentDate() throws -> Date? {
        guard let value = try headerValues("Date").first else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        for format in ["EEE, d MMM yyyy HH:mm:ss Z", "d MMM yyyy HH:mm:ss Z", "EEE, d MMM yyyy HH:mm Z"] {
            formatter.dateFormat = format
            let trimmed = value.replacingOccurrences(of: #"\s*\(.*\)$"#, with: "", options: .regularExpression)
            if let date = formatter.date(from: trimmed) { return date }
        }
        return nil
    }

    func bodyText() throws -> String {
        String(decoding: bytes[header.bodyStart...], as: UTF8.self)
    }
}
