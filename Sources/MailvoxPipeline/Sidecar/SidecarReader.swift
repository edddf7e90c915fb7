import Foundation
import MailvoxCore

/// What a drop-folder sidecar says about its recording; nil where it says nothing.
public struct SidecarFields: Sendable, Equatable {
    public var mailbox: String?
    public var callerNumber: String?
    public var callerName: String?
    public var receivedAt: Date?
    public var urgent: Bool?

    public init(
        mailbox: String? = nil, callerNumber: String? = nil, callerName: String? = nil, receivedAt: Date? = nil,
        urgent: Bool? = nil
    ) {
        self.mailbox = mailbox
        self.callerNumber = callerNumber
        self.callerName = callerName
        self.receivedAt = receivedAt
        self.urgent = urgent
    }
}

/// Why a sidecar was refused, in words for the `.error` file.
public struct SidecarError: Error, Equatable, CustomStringConvertible {
    public var description: String

    init(_ description: String) { self.description = description }
}

/// Readers of the two sidecar formats (docs/DESIGN.md §3.7): pure functions over bytes, so the
/// fuzzer (`Fuzz/Sources/FuzzIntake`) compiles this folder alone.
public enum SidecarReader {
    /// Sidecars are a few lines; anything bigger is not one.
    static let maxBytes = 65_536

    /// `{"mailbox", "caller_number", "caller_name", "received_at", "urgent"}`.
    public static func json(_ data: Data) throws(SidecarError) -> SidecarFields {
        guard data.count <= maxBytes, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw SidecarError("the .json sidecar is not a JSON object")
        }
        func text(_ key: String) throws(SidecarError) -> String? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            if let string = value as? String { return string }
            if let number = value as? NSNumber, key == "caller_number" { return number.stringValue }
            throw SidecarError("sidecar field \(key) must be a string")
        }
        var fields = SidecarFields()
        fields.mailbox = try text("mailbox")
        fields.callerNumber = try text("caller_number")
        fields.callerName = try text("caller_name")
        if let received = try text("received_at") {
            guard let date = ISO8601.parse(received, defaultTimeZone: "UTC") else {
                throw SidecarError("sidecar received_at is not an ISO 8601 date and time")
            }
            fields.receivedAt = date
        }
        if let urgent = object["urgent"] {
            guard let flag = urgent as? Bool else { throw SidecarError("sidecar urgent must be true or false") }
            fields.urgent = flag
        }
        return fields
    }

    /// Asterisk's `msgNNNN.txt`: `origmailbox`, `callerid` (`"Name" <number>`), `origtime`, `flag`.
    public static func asterisk(_ text: String) throws(SidecarError) -> SidecarFields {
        guard text.utf8.count <= maxBytes else { throw SidecarError("the .txt sidecar is too large") }
        var values: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.hasPrefix(";"), !trimmed.hasPrefix("["), let equals = trimmed.firstIndex(of: "=") else {
                continue
            }
            values[trimmed[..<equals].trimmingCharacters(in: .whitespaces).lowercased()] =
                trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        var fields = SidecarFields()
        if let mailbox = values["origmailbox"], !mailbox.isEmpty { fields.mailbox = mailbox }
        if let callerID = values["callerid"] {
            (fields.callerName, fields.callerNumber) = parseCallerID(callerID)
        }
        if let time = values["origtime"], !time.isEmpty {
            guard let seconds = Double(time), seconds > 0, seconds < 1e11 else {
                throw SidecarError("the .txt sidecar's origtime is not a Unix time")
            }
            fields.receivedAt = Date(timeIntervalSince1970: seconds)
        }
        if values["flag"]?.lowercased().contains("urgent") == true { fields.urgent = true }
        return fields
    }

    /// `"Jürgen Groß" <+4930123456>`, `Name <123>`, `<123>`, `123`, `Unknown`.
    static func parseCallerID(_ text: String) -> (name: String?, number: String?) {
        guard let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close else {
            let bare = text.trimmingCharacters(in: .whitespaces)
            return bare.allSatisfy({ "+0123456789*#".contains($0) }) ? (nil, bare) : (bare, nil)
        }
        var name = text[..<open].trimmingCharacters(in: .whitespaces)
        if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
        let number = text[text.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
        return (name.isEmpty ? nil : name, number.isEmpty ? nil : number)
    }
}
