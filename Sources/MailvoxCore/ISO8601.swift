import Foundation

/// ISO 8601 date-times as PBXs send them: with an offset (`2026-11-26T09:15:00+01:00`, `…Z`),
/// with fractional seconds, or without an offset — then in the given default time zone.
public enum ISO8601 {
    public static func parse(_ text: String, defaultTimeZone: String) -> Date? {
        let withOffset = ISO8601DateFormatter()
        if let date = withOffset.date(from: text) { return date }
        withOffset.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withOffset.date(from: text) { return date }
        let local = DateFormatter()
        local.locale = Locale(identifier: "en_US_POSIX")
        local.timeZone = TimeZone(identifier: defaultTimeZone) ?? .gmt
        for pattern in [
            "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.SSS", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm:ss",
        ] {
            local.dateFormat = pattern
            if let date = local.date(from: text) { return date }
        }
        return nil
    }
}
