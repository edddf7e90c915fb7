import Foundation

/// A caller as the PBX reported them (docs/DESIGN.md §3.6): a number of digits with an optional
/// leading `+` and `*`/`#` (1–32 characters) kept as received, and an optional name.
/// Empty, `anonymous`, `unknown`, `private` and `withheld` mean withheld (nil).
public enum CallerID {
    public static let withheldWords: Set<String> = ["", "anonymous", "unknown", "private", "withheld"]

    /// The number as given, nil when withheld; throws-free: returns `.invalid` for anything else.
    public static func parseNumber(_ raw: String?) -> Result<String?, CallerIDError> {
        guard let raw else { return .success(nil) }
        let text = raw.trimmingCharacters(in: .whitespaces)
        if withheldWords.contains(text.lowercased()) { return .success(nil) }
        let body = text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard (1...32).contains(text.count), !body.isEmpty,
            body.allSatisfy({ ("0"..."9").contains($0) || $0 == "*" || $0 == "#" })
        else { return .failure(CallerIDError(field: "caller_number", value: raw)) }
        return .success(text)
    }

    /// The display name, nil when withheld; control characters are refused, length capped at 128.
    public static func parseName(_ raw: String?) -> Result<String?, CallerIDError> {
        guard let raw else { return .success(nil) }
        let text = raw.trimmingCharacters(in: .whitespaces)
        if withheldWords.contains(text.lowercased()) { return .success(nil) }
        guard text.count <= 128, !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { return .failure(CallerIDError(field: "caller_name", value: raw)) }
        return .success(text)
    }
}

/// A malformed caller field; its message never repeats the value (it may be a caller's data).
public struct CallerIDError: MailvoxFailure, Equatable {
    public var field: String
    public var value: String
    public var kind: FailureKind { .input }
    public var description: String {
        field == "caller_number"
            ? "caller_number must be digits with an optional leading + and * or # (1–32 characters), or empty/anonymous"
            : "caller_name must be at most 128 characters without control characters"
    }
}
