/// A calendar day as SEARCH BEFORE/ON/SINCE and SENTBEFORE/SENTON/SENTSINCE carry it (`1-Feb-1994`).
public struct IMAPDate: Sendable, Hashable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    /// Nil for an impossible day (month 1–12, day within the month, year 1–9999).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...IMAPDate.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// `d-Mon-yyyy`.
    public var description: String {
        "\(day)-\(Self.monthNames[month - 1])-\(year.paddedDigits(4))"
    }
}

/// An INTERNALDATE (`"17-Jul-1996 02:44:25 -0700"`, RFC 3501 date-time): APPEND's optional date
/// and the FETCH INTERNALDATE item.
public struct InternalDate: Sendable, Hashable, CustomStringConvertible {
    public var date: IMAPDate
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// Offset from UTC in minutes, e.g. -420 for `-0700`.
    public var zoneMinutes: Int

    public init?(date: IMAPDate, hour: Int, minute: Int, second: Int, zoneMinutes: Int) {
        guard (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
            (-(99 * 60 + 59)...(99 * 60 + 59)).contains(zoneMinutes)
        else { return nil }
        self.date = date
        self.hour = hour
        self.minute = minute
        self.second = second
        self.zoneMinutes = zoneMinutes
    }

    /// The date at `secondsSince1970` UTC shown in the given zone.
    public init(secondsSince1970: Int64, zoneMinutes: Int = 0) {
        let local = secondsSince1970 + Int64(zoneMinutes) * 60
        var days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let secondsOfDay = Int(local - days * 86_400)
        // Howard Hinnant's days-to-civil algorithm.
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        self.date = IMAPDate(year: min(max(year, 1), 9999), month: month, day: day)!
        self.hour = secondsOfDay / 3600
        self.minute = secondsOfDay / 60 % 60
        self.second = secondsOfDay % 60
        self.zoneMinutes = zoneMinutes
    }

    /// Seconds since 1970-01-01 UTC.
    public var secondsSince1970: Int64 {
        let y = Int64(date.month <= 2 ? date.year - 1 : date.year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(date.month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(date.day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(zoneMinutes) * 60
    }

    /// `dd-Mon-yyyy hh:mm:ss +zzzz` (without the quotes); the day is space-padded (date-day-fixed).
    public var description: String {
        let day = date.day < 10 ? " \(date.day)" : "\(date.day)"
        let sign = zoneMinutes < 0 ? "-" : "+"
        let zone = abs(zoneMinutes)
        return "\(day)-\(IMAPDate.monthNames[date.month - 1])-\(date.year.paddedDigits(4)) "
            + "\(hour.paddedDigits(2)):\(minute.paddedDigits(2)):\(second.paddedDigits(2)) "
            + "\(sign)\((zone / 60).paddedDigits(2))\((zone % 60).paddedDigits(2))"
    }
}

extension Int {
    func paddedDigits(_ width: Int) -> String {
        let text = String(self)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
