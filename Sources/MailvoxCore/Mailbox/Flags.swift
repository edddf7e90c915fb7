/// The IMAP system flags of a message (RFC 3501 §2.3.2), as a bit set the index stores.
public struct SystemFlags: OptionSet, Hashable, Sendable {
    public let rawValue: Int

    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let seen = SystemFlags(rawValue: 1 << 0)
    public static let answered = SystemFlags(rawValue: 1 << 1)
    public static let flagged = SystemFlags(rawValue: 1 << 2)
    public static let deleted = SystemFlags(rawValue: 1 << 3)
    public static let draft = SystemFlags(rawValue: 1 << 4)

    /// Each flag with its IMAP name and Maildir info letter (maildir(5): letters in ASCII order).
    public static let names: [(flag: SystemFlags, imap: String, maildir: Character)] = [
        (.draft, "\\Draft", "D"), (.flagged, "\\Flagged", "F"), (.answered, "\\Answered", "R"),
        (.seen, "\\Seen", "S"), (.deleted, "\\Deleted", "T"),
    ]

    /// The Maildir info suffix letters, e.g. `FS` for flagged and seen.
    public var maildirLetters: String {
        String(Self.names.filter { contains($0.flag) }.map(\.maildir))
    }

    /// Parses Maildir info letters; unknown letters (such as `P`, passed) are ignored.
    public init(maildirLetters: Substring) {
        var flags: SystemFlags = []
        for entry in Self.names where maildirLetters.contains(entry.maildir) { flags.insert(entry.flag) }
        self = flags
    }
}

/// A message's flags: system flags and keywords (`$Forwarded`, `Junk`, …).
public struct MessageFlags: Hashable, Sendable {
    public var system: SystemFlags
    public var keywords: Set<String>

    public init(system: SystemFlags = [], keywords: Set<String> = []) {
        self.system = system
        self.keywords = keywords
    }
}

extension MessageFlags {
    /// These flags after a STORE of `flags` with `operation` (RFC 3501 §6.4.6): every store
    /// applies a STORE through this one function. Keywords are atoms, so their case does not
    /// matter (RFC 3501 §9, note 1): removing `another` removes `Another`, and adding `junk`
    /// to a message with `Junk` keeps the spelling it has.
    public func applying(_ operation: FlagOperation, _ flags: MessageFlags) -> MessageFlags {
        var updated = self
        switch operation {
        case .add:
            updated.system.formUnion(flags.system)
            let present = Set(keywords.map { $0.lowercased() })
            updated.keywords.formUnion(flags.keywords.filter { !present.contains($0.lowercased()) })
        case .remove:
            updated.system.subtract(flags.system)
            let removed = Set(flags.keywords.map { $0.lowercased() })
            updated.keywords = updated.keywords.filter { !removed.contains($0.lowercased()) }
        case .replace:
            updated = flags
        }
        return updated
    }
}

/// How a STORE changes flags (RFC 3501 §6.4.6).
public enum FlagOperation: Sendable, Equatable {
    case add, remove, replace
}
