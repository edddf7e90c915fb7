/// An HTTP `Range` request header against a representation of known length (RFC 9110 §14):
/// what the audio endpoint answers, because Safari and iOS play audio only through ranges.
///
/// One range is served as it is asked; a list of several is answered with the whole
/// representation (a server may ignore Range, §14.2), which every player accepts.
public enum ByteRangeRequest: Equatable, Sendable {
    /// No Range header, another unit, or several ranges: send everything with 200.
    case whole
    /// Send these bytes with 206 and `Content-Range: bytes first-last/length`.
    case partial(Range<Int>)
    /// 416 with `Content-Range: bytes */length`: the range lies past the end, or cannot be read.
    case unsatisfiable

    /// Longer headers are refused unread: no player sends one.
    public static let maxHeaderLength = 256

    /// Reads `header` (the Range field's value, or nil) for a representation of `length` bytes.
    public init(header: String?, length: Int) {
        guard let header else {
            self = .whole
            return
        }
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.utf8.count <= Self.maxHeaderLength else {
            self = .unsatisfiable
            return
        }
        guard let equals = text.firstIndex(of: "="), text[..<equals].lowercased() == "bytes" else {
            // Another unit: ignored, as RFC 9110 §14.2 has it.
            self = .whole
            return
        }
        let specs = text[text.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
        guard specs.count == 1 else {
            self =
                specs.allSatisfy { Self.spec($0.trimmingCharacters(in: .whitespaces)) != nil } ? .whole : .unsatisfiable
            return
        }
        guard let spec = Self.spec(specs[0].trimmingCharacters(in: .whitespaces)) else {
            self = .unsatisfiable
            return
        }
        switch spec {
        case .from(let first, let last):
            guard first < length else {
                self = .unsatisfiable
                return
            }
            let end = min(last.map { $0 + 1 } ?? length, length)
            self = .partial(first..<end)
        case .suffix(let count):
            guard count > 0, length > 0 else {
                self = .unsatisfiable
                return
            }
            self = .partial(max(0, length - count)..<length)
        }
    }

    /// The `Content-Range` value of the answer, nil for a whole one.
    public func contentRange(length: Int) -> String? {
        switch self {
        case .whole: nil
        case .partial(let range): "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(length)"
        case .unsatisfiable: "bytes */\(length)"
        }
    }

    private enum Spec {
        case from(Int, last: Int?)
        case suffix(Int)
    }

    /// `first-last`, `first-` or `-suffix`, digits only; nil when malformed or `last < first`.
    private static func spec(_ text: String) -> Spec? {
        guard let dash = text.firstIndex(of: "-") else { return nil }
        let head = text[..<dash]
        let tail = text[text.index(after: dash)...]
        func number(_ digits: Substring) -> Int? {
            guard !digits.isEmpty, digits.utf8.count <= 18, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                return nil
            }
            return Int(digits)
        }
        if head.isEmpty { return number(tail).map { .suffix($0) } }
        guard let first = number(head) else { return nil }
        if tail.isEmpty { return .from(first, last: nil) }
        guard let last = number(tail), last >= first else { return nil }
        return .from(first, last: last)
    }
}
