import Foundation

/// The Date: header's date-time (RFC 5322 §3.3, with §4.3's obsolete forms): as an instant for
/// SORT's DATE key and a voicemail's received time, and as the day written for SEARCH SENT*.
/// The one reader of message dates, in MailvoxCore so the IMAP layer needs no MIME library.
public enum MessageDate {
    /// `Mon, 7 Feb 1994 21:52:25 -0800` and its variants (no weekday, no seconds, two- or
    /// three-digit years, zone names, comments); nil when it is not a date.
    public static func parse(_ text: String) -> Date? {
        guard let fields = fields(text) else { return nil }
        let days = daysSinceEpoch(year: fields.day.year, month: fields.day.month, day: fields.day.day)
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + fields.seconds - fields.offset))
    }

    /// The day the text names as written, whatever its time and zone: `Sun, 25 Mar 2007
    /// 23:59:59 +1100` is 25 March 2007, as SENTON compares it (RFC 3501 §6.4.4).
    public static func writtenDay(_ text: String) -> SearchDay? { fields(text)?.day }

    /// The written day, the seconds into it and the zone's offset east of UTC.
    private static func fields(_ text: String) -> (day: SearchDay, seconds: Int, offset: Int)? {
        var tokens = Self.tokens(withoutComments: text)
        // The optional day of the week (RFC 5322 §3.3: `day-of-week ","`).
        if let first = tokens.first, Int(first) == nil {
            guard weekdays.contains(first.lowercased()) else { return nil }
            tokens.removeFirst()
        }
        guard tokens.count >= 4, let day = Int(tokens[0]), (1...31).contains(day),
            let monthIndex = months.firstIndex(of: tokens[1].lowercased()),
            var year = Int(tokens[2]), tokens[2].count >= 2
        else { return nil }
        // RFC 5322 §4.3: two digits from 50 are 19xx, below 50 20xx; three digits add 1900.
        switch tokens[2].count {
        case 2: year += year < 50 ? 2000 : 1900
        case 3: year += 1900
        default: break
        }
        let clock = tokens[3].split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(clock.count), let hour = Int(clock[0]), let minute = Int(clock[1]),
            (0...23).contains(hour), (0...59).contains(minute)
        else { return nil }
        let second = clock.count == 3 ? Int(clock[2]) : 0
        guard let second, (0...60).contains(second) else { return nil }
        let offset = tokens.count > 4 ? zoneOffset(tokens[4]) : 0
        guard let offset else { return nil }
        return (SearchDay(year: year, month: monthIndex + 1, day: day), hour * 3_600 + minute * 60 + second, offset)
    }

    private static let weekdays: Set<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// The words of `text`, comments `(…)` (nested) removed and the weekday's comma a separator.
    private static func tokens(withoutComments text: String) -> [String] {
        var cleaned = ""
        var depth = 0
        for character in text {
            switch character {
            case "(": depth += 1
            case ")": depth = max(0, depth - 1)
            case ",", "\t", "\r", "\n": if depth == 0 { cleaned.append(" ") }
            default: if depth == 0 { cleaned.append(character) }
            }
        }
        return cleaned.split(separator: " ").map(String.init)
    }

    /// Seconds east of UTC: `+hhmm`/`-hhmm`, or an obsolete zone name (RFC 5322 §4.3; military
    /// letters and unknown names are "-0000", unknown offset, taken as UTC).
    private static func zoneOffset(_ zone: String) -> Int? {
        if let sign = zone.first, sign == "+" || sign == "-" {
            let digits = zone.dropFirst()
            guard digits.count == 4, let value = Int(digits), value % 100 < 60 else { return nil }
            let seconds = (value / 100 * 3_600) + (value % 100 * 60)
            return sign == "-" ? -seconds : seconds
        }
        switch zone.uppercased() {
        case "UT", "GMT", "Z": return 0
        case "EDT": return -4 * 3_600
        case "EST", "CDT": return -5 * 3_600
        case "CST", "MDT": return -6 * 3_600
        case "MST", "PDT": return -7 * 3_600
        case "PST": return -8 * 3_600
        default: return zone.allSatisfy(\.isLetter) ? 0 : nil
        }
    }

    /// Days from 1970-01-01 to the civil date (proleptic Gregorian; Howard Hinnant's algorithm).
    private static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
