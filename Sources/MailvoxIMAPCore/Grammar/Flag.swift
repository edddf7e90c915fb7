import MailvoxCore

/// A message flag as it appears in commands and responses (RFC 3501 §2.3.2, flag / flag-fetch).
public enum Flag: Sendable, Hashable, CustomStringConvertible {
    case answered, flagged, deleted, seen, draft
    /// `\Recent`: only ever sent by the server (flag-fetch).
    case recent
    /// A keyword such as `$Forwarded` or `Junk` (an atom).
    case keyword(String)
    /// Another `\Name` flag (flag-extension).
    case `extension`(String)

    /// Builds a flag from its wire text, e.g. `\Seen` or `$Label1`; system flags match case-insensitively.
    public init(_ text: String) {
        if text.first == "\\" {
            switch text.uppercased() {
            case "\\ANSWERED": self = .answered
            case "\\FLAGGED": self = .flagged
            case "\\DELETED": self = .deleted
            case "\\SEEN": self = .seen
            case "\\DRAFT": self = .draft
            case "\\RECENT": self = .recent
            default: self = .extension(String(text.dropFirst()))
            }
        } else {
            self = .keyword(text)
        }
    }

    public var description: String {
        switch self {
        case .answered: "\\Answered"
        case .flagged: "\\Flagged"
        case .deleted: "\\Deleted"
        case .seen: "\\Seen"
        case .draft: "\\Draft"
        case .recent: "\\Recent"
        case .keyword(let name): name
        case .extension(let name): "\\" + name
        }
    }

    /// The system flag this names, if it is one the index stores.
    public var systemFlag: SystemFlags? {
        switch self {
        case .answered: .answered
        case .flagged: .flagged
        case .deleted: .deleted
        case .seen: .seen
        case .draft: .draft
        case .recent, .keyword, .extension: nil
        }
    }

    /// The flags of a stored message as FETCH FLAGS lists them: system flags first, then sorted keywords.
    public static func list(_ flags: MessageFlags, recent: Bool = false) -> [Flag] {
        var result: [Flag] = []
        let order: [(SystemFlags, Flag)] = [
            (.answered, .answered), (.flagged, .flagged), (.deleted, .deleted), (.seen, .seen), (.draft, .draft),
        ]
        for (system, flag) in order where flags.system.contains(system) { result.append(flag) }
        if recent { result.append(.recent) }
        result += flags.keywords.sorted().map(Flag.keyword)
        return result
    }
}

extension MessageFlags {
    /// The index's form of a STORE or APPEND flag list; `\Recent` and unknown `\` flags are dropped
    /// (RFC 3501 §6.4.6: the server may refuse to set them).
    public init(_ flags: [Flag]) {
        var system: SystemFlags = []
        var keywords: Set<String> = []
        for flag in flags {
            if let bit = flag.systemFlag {
                system.insert(bit)
            } else if case .keyword(let name) = flag {
                keywords.insert(name)
            }
        }
        self.init(system: system, keywords: keywords)
    }
}
