import Foundation
import Synchronization

/// The facts a voicemail template may show; every one is documented in `Templates/README.md`.
public struct TemplateContext: Sendable {
    public var callerName: String?
    /// As received; nil or empty when withheld.
    public var callerNumber: String?
    public var mailboxID: String
    public var mailboxName: String
    public var receivedAt: Date
    public var timeZone: TimeZone
    /// BCP 47 tag such as `de-CH`; nil formats in English.
    public var language: String?
    public var duration: Double
    public var urgent: Bool
    public var transcript: String?
    /// `[server] hostname`.
    public var serverName: String
    public var depositID: String
    /// Set in the alert of the voicemail that took the mailbox past `[quota] warn_percent`:
    /// the share of the fuller limit in use.
    public var quotaPercent: Int? = nil
    /// The voicemail in the web inbox (`[web] alert_links`); nil leaves the link out.
    public var webURL: String? = nil

    public init(
        callerName: String?, callerNumber: String?, mailboxID: String, mailboxName: String, receivedAt: Date,
        timeZone: TimeZone, language: String?, duration: Double, urgent: Bool, transcript: String? = nil,
        serverName: String, depositID: String
    ) {
        self.callerName = callerName
        self.callerNumber = callerNumber
        self.mailboxID = mailboxID
        self.mailboxName = mailboxName
        self.receivedAt = receivedAt
        self.timeZone = timeZone
        self.language = language
        self.duration = duration
        self.urgent = urgent
        self.transcript = transcript
        self.serverName = serverName
        self.depositID = depositID
    }

    /// The number as received, nil when it means "withheld" (docs/DESIGN.md §3.6).
    var callerNumberShown: String? {
        guard let number = callerNumber?.trimmingCharacters(in: .whitespaces), !number.isEmpty,
            !["anonymous", "unknown", "private", "withheld"].contains(number.lowercased())
        else { return nil }
        return number
    }

    /// The variables as Mustache sees them; absent keys are false in sections.
    public var variables: [String: Any] {
        let seconds = max(0, Int(duration.rounded()))
        var values: [String: Any] = [
            "mailbox_id": mailboxID,
            "mailbox_name": mailboxName,
            "duration": "\(seconds / 60):\(seconds % 60 < 10 ? "0" : "")\(seconds % 60)",
            "duration_seconds": seconds,
            "urgent": urgent,
            "server_name": serverName,
            "deposit_id": depositID,
            "received": format(date: .long, time: .short),
            "received_date": format(date: .long, time: .none),
            "received_time": format(date: .none, time: .short),
            "received_iso": iso8601,
            "caller_withheld": callerNumberShown == nil,
        ]
        if let name = callerName?.trimmingCharacters(in: .whitespaces), !name.isEmpty { values["caller_name"] = name }
        if let number = callerNumberShown {
            values["caller_number"] = Self.readable(number)
            values["caller_number_raw"] = number
            if Self.isE164(number) { values["caller_number_e164"] = number }
        }
        if let transcript, !transcript.isEmpty { values["transcript"] = transcript }
        if let webURL { values["web_url"] = webURL }
        if let quotaPercent {
            values["quota_warning"] = true
            values["quota_percent"] = quotaPercent
        }
        return values
    }

    private func format(date: DateFormatter.Style, time: DateFormatter.Style) -> String {
        DateFormatterCache.shared.string(
            from: receivedAt, locale: language ?? "en", timeZone: timeZone, date: date, time: time)
    }

    private var iso8601: String { DateFormatterCache.shared.iso8601(receivedAt, timeZone: timeZone) }

    static func isE164(_ number: String) -> Bool {
        guard number.first == "+" else { return false }
        let digits = number.dropFirst()
        return (8...15).contains(digits.count) && digits.first != "0" && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// E.164 grouped for reading, `+49 30 1234 5678`: the country code (ITU-T E.164 zone
    /// prefixes), then groups of four from the end, the first group taking the remainder.
    /// Anything else is shown as received.
    static func readable(_ number: String) -> String {
        guard isE164(number) else { return number }
        let digits = Array(number.dropFirst())
        let codeLength: Int
        if digits[0] == "1" || digits[0] == "7" {
            codeLength = 1
        } else if twoDigitCodes.contains(String(digits[0...1])) {
            codeLength = 2
        } else {
            codeLength = 3
        }
        let national = Array(digits[codeLength...])
        // North America (+1): NPA NXX XXXX.
        if codeLength == 1, digits[0] == "1", national.count == 10 {
            return "+1 \(String(national[0..<3])) \(String(national[3..<6])) \(String(national[6...]))"
        }
        var groups: [String] = []
        var end = national.count
        while end > 0 {
            let start = max(0, end - 4)
            groups.insert(String(national[start..<end]), at: 0)
            end = start
        }
        // A lone leading digit reads better joined to the next group.
        if groups.count > 1, groups[0].count == 1 {
            groups[1] = groups[0] + groups[1]
            groups.removeFirst()
        }
        return "+" + String(digits[..<codeLength]) + " " + groups.joined(separator: " ")
    }

    private static let twoDigitCodes: Set<String> = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49",
        "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
        "86", "90", "91", "92", "93", "94", "95", "98",
    ]
}

/// Formatters by locale, zone and style, made once: creating a `DateFormatter` loads ICU data
/// and cost about 0.2 ms each, four of them per rendered template, which made rendering a
/// voicemail's texts cost more than sealing it. Formatting itself is cheap.
final class DateFormatterCache: Sendable {
    static let shared = DateFormatterCache()

    private struct Key: Hashable {
        var locale: String
        var timeZone: String
        var date: UInt
        var time: UInt
    }

    /// Few servers see more than a handful of languages and zones; past this the cache starts over.
    private static let limit = 64
    private let formatters = Mutex<[Key: DateFormatter]>([:])
    private let isoFormatters = Mutex<[String: ISO8601DateFormatter]>([:])

    func string(
        from date: Date, locale: String, timeZone: TimeZone, date dateStyle: DateFormatter.Style,
        time timeStyle: DateFormatter.Style
    ) -> String {
        let key = Key(
            locale: locale, timeZone: timeZone.identifier, date: dateStyle.rawValue, time: timeStyle.rawValue)
        // Formatting inside the lock: a formatter is a mutable object, not meant to be shared
        // by threads at once.
        return formatters.withLock { cache in
            if let formatter = cache[key] { return formatter.string(from: date) }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: locale)
            formatter.timeZone = timeZone
            formatter.dateStyle = dateStyle
            formatter.timeStyle = timeStyle
            if cache.count >= Self.limit { cache.removeAll() }
            cache[key] = formatter
            return formatter.string(from: date)
        }
    }

    func iso8601(_ date: Date, timeZone: TimeZone) -> String {
        isoFormatters.withLock { cache in
            if let formatter = cache[timeZone.identifier] { return formatter.string(from: date) }
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = timeZone
            if cache.count >= Self.limit { cache.removeAll() }
            cache[timeZone.identifier] = formatter
            return formatter.string(from: date)
        }
    }
}
