/// One end of a sequence range: a number, or `*` (the highest number in use).
public enum SequenceBound: Sendable, Hashable {
    case number(UInt32)
    /// `*`: the largest message sequence number or UID in the mailbox (RFC 3501 §9 seq-number).
    case last
}

/// `a:b`, or a single number when both ends are the same.
public struct SequenceRange: Sendable, Hashable {
    public var first: SequenceBound
    public var second: SequenceBound

    public init(_ first: SequenceBound, _ second: SequenceBound) {
        self.first = first
        self.second = second
    }

    public init(_ single: SequenceBound) { self.init(single, single) }

    public init(_ number: UInt32) { self.init(.number(number)) }

    public init(_ range: ClosedRange<UInt32>) { self.init(.number(range.lowerBound), .number(range.upperBound)) }

    /// The numbers this range covers once `*` is known; `a:b` and `b:a` are the same range (RFC 3501 §9).
    public func resolved(last: UInt32) -> ClosedRange<UInt32> {
        func value(_ bound: SequenceBound) -> UInt32 {
            switch bound {
            case .number(let number): number
            case .last: last
            }
        }
        let (a, b) = (value(first), value(second))
        return min(a, b)...max(a, b)
    }
}

/// An RFC 3501 sequence-set (`1:4,7,9:*`), used for message sequence numbers and UIDs alike.
///
/// Never empty; every number is non-zero. The ranges keep the client's order so that
/// `parse(encode(set)) == set`. `$` (RFC 5182 SEARCHRES) is the one set without ranges: the
/// session's saved search result, which only the session can resolve.
public struct SequenceSet: Sendable, Hashable, CustomStringConvertible {
    public private(set) var ranges: [SequenceRange]
    /// `$`: the result the last `SEARCH RETURN (SAVE)` saved (RFC 5182 §2.1); `ranges` is empty.
    public private(set) var isSavedResult = false

    /// Nil when `ranges` is empty or names the number 0, which no sequence-set can hold.
    public init?(_ ranges: [SequenceRange]) {
        guard !ranges.isEmpty else { return nil }
        for range in ranges {
            for bound in [range.first, range.second] where bound == .number(0) { return nil }
        }
        self.ranges = ranges
    }

    /// `1:*`.
    public static let all = SequenceSet(unchecked: [SequenceRange(.number(1), .last)])

    /// `$` (RFC 5182 §2.1).
    public static let savedResult: SequenceSet = {
        var set = SequenceSet(unchecked: [])
        set.isSavedResult = true
        return set
    }()

    init(unchecked ranges: [SequenceRange]) { self.ranges = ranges }

    /// A set of the given numbers, coalesced into ascending ranges; nil when empty or holding 0.
    public init?(numbers: some Sequence<UInt32>) {
        let sorted = Set(numbers).sorted()
        guard let firstNumber = sorted.first, firstNumber > 0 else { return nil }
        var ranges: [SequenceRange] = []
        var start = firstNumber
        var end = firstNumber
        for number in sorted.dropFirst() {
            if number == end &+ 1 {
                end = number
            } else {
                ranges.append(SequenceRange(start...end))
                start = number
                end = number
            }
        }
        ranges.append(SequenceRange(start...end))
        self.ranges = ranges
    }

    /// The numbers in the order given, as ESORT's ALL reports them (RFC 5267 §3.1): only a run
    /// ascending by one becomes a range (`a:b` with a < b reads in that order; a descending
    /// `b:a` would mean the same set ascending). Nil when empty or holding 0.
    public init?(inOrder numbers: [UInt32]) {
        guard let firstNumber = numbers.first, !numbers.contains(0) else { return nil }
        var ranges: [SequenceRange] = []
        var start = firstNumber
        var end = firstNumber
        for number in numbers.dropFirst() {
            if end != .max, number == end + 1 {
                end = number
            } else {
                ranges.append(SequenceRange(start...end))
                start = number
                end = number
            }
        }
        ranges.append(SequenceRange(start...end))
        self.ranges = ranges
    }

    /// Whether `number` is in the set once `*` is known to be `last`.
    public func contains(_ number: UInt32, last: UInt32) -> Bool {
        ranges.contains { $0.resolved(last: last).contains(number) }
    }

    /// The wire form, e.g. `1:4,7,9:*`.
    public var description: String {
        if isSavedResult { return "$" }
        return ranges.map { range in
            func text(_ bound: SequenceBound) -> String {
                switch bound {
                case .number(let number): String(number)
                case .last: "*"
                }
            }
            return range.first == range.second ? text(range.first) : "\(text(range.first)):\(text(range.second))"
        }.joined(separator: ",")
    }
}
