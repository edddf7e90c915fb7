/// What a login may do in a mailbox it reaches: RFC 4314's rights, one letter each. A
/// mailbox's owner holds them all; a member of a department holds what `mailbox member add
/// --rights` or `SETACL` gave (docs/DEPARTMENTS.md). Rights hold for every folder of the
/// mailbox: Mailvox keeps one access list per mailbox, not per folder.
public struct Rights: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// `l`: the mailbox is visible (LIST, LSUB, the shared namespace).
    public static let lookup = Rights(rawValue: 1 << 0)
    /// `r`: SELECT, EXAMINE, STATUS, FETCH, SEARCH, COPY from.
    public static let read = Rights(rawValue: 1 << 1)
    /// `s`: keep `\Seen` (set or clear it).
    public static let keepSeen = Rights(rawValue: 1 << 2)
    /// `w`: flags other than `\Seen` and `\Deleted`, keywords included.
    public static let write = Rights(rawValue: 1 << 3)
    /// `i`: APPEND, COPY and MOVE into.
    public static let insert = Rights(rawValue: 1 << 4)
    /// `p`: post (send mail to the submission address): nothing in Mailvox needs it.
    public static let post = Rights(rawValue: 1 << 5)
    /// `k`: CREATE folders.
    public static let createFolders = Rights(rawValue: 1 << 6)
    /// `x`: DELETE and RENAME folders.
    public static let deleteFolders = Rights(rawValue: 1 << 7)
    /// `t`: set or clear `\Deleted`; MOVE out (with `e`).
    public static let deleteMessages = Rights(rawValue: 1 << 8)
    /// `e`: EXPUNGE, and the expunge of CLOSE and MOVE.
    public static let expunge = Rights(rawValue: 1 << 9)
    /// `a`: administer: GETACL, SETACL, DELETEACL, LISTRIGHTS.
    public static let administer = Rights(rawValue: 1 << 10)

    /// RFC 4314's rights in the order its responses list them.
    public static let letters: [(Character, Rights)] = [
        ("l", .lookup), ("r", .read), ("s", .keepSeen), ("w", .write), ("i", .insert), ("p", .post),
        ("k", .createFolders), ("x", .deleteFolders), ("t", .deleteMessages), ("e", .expunge), ("a", .administer),
    ]

    public static let all: Rights = letters.reduce(into: []) { $0.formUnion($1.1) }

    /// What `mailbox member add` gives without `--rights`: see, read, keep seen, flag, delete,
    /// expunge, insert — everything but folder management and administration.
    public static let member: Rights = [.lookup, .read, .keepSeen, .write, .deleteMessages, .expunge, .insert]

    /// Any of these lets a session change the folder; without them SELECT opens it read-only.
    public static let changing: Rights = [.keepSeen, .write, .deleteMessages, .expunge, .insert]

    /// Parses RFC 4314 letters, in any order. The obsolete RFC 2086 letters are taken as RFC
    /// 4314 §2.1.1 maps them: `c` is `k`, `d` is `x t e`. Nil for any other character.
    public init?(letters: some StringProtocol) {
        var rights: Rights = []
        for character in letters {
            switch character {
            case "c": rights.formUnion(.createFolders)
            case "d": rights.formUnion([.deleteFolders, .deleteMessages, .expunge])
            default:
                guard let right = Self.letters.first(where: { $0.0 == character })?.1 else { return nil }
                rights.formUnion(right)
            }
        }
        self = rights
    }

    /// The letters in RFC 4314's order, e.g. `lrswtei` → `lrswite`.
    public var letters: String {
        String(Self.letters.compactMap { contains($0.1) ? $0.0 : nil })
    }

    public var description: String { letters }

    /// The letters as MYRIGHTS and ACL responses give them: with the obsolete `c` when `k` is
    /// held and `d` when any of `x t e` is (RFC 4314 §2.1.1), for clients that still read RFC
    /// 2086's letters.
    public var responseLetters: String {
        letters + (contains(.createFolders) ? "c" : "")
            + (isDisjoint(with: [.deleteFolders, .deleteMessages, .expunge]) ? "" : "d")
    }

    /// What of `flags` these rights let a login set or clear: `\Seen` with `s`, `\Deleted`
    /// with `t`, the other flags and keywords with `w`.
    public func permitted(_ flags: MessageFlags) -> MessageFlags {
        var system = flags.system
        if !contains(.keepSeen) { system.remove(.seen) }
        if !contains(.deleteMessages) { system.remove(.deleted) }
        if !contains(.write) { system.formIntersection([.seen, .deleted]) }
        return MessageFlags(system: system, keywords: contains(.write) ? flags.keywords : [])
    }

    /// The rights a STORE needs (RFC 4314 §4): `s` for `\Seen`, `t` for `\Deleted`, `w` for
    /// any other flag or keyword. Replacing the flags may clear any of them, so it needs all three.
    public static func needed(toStore operation: FlagOperation, _ flags: MessageFlags) -> Rights {
        if operation == .replace { return [.keepSeen, .deleteMessages, .write] }
        var needed: Rights = []
        if flags.system.contains(.seen) { needed.insert(.keepSeen) }
        if flags.system.contains(.deleted) { needed.insert(.deleteMessages) }
        if !flags.system.subtracting([.seen, .deleted]).isEmpty || !flags.keywords.isEmpty { needed.insert(.write) }
        return needed
    }
}

/// One identifier's rights in a mailbox's access list (GETACL, `mailbox member list`).
public struct ACLEntry: Sendable, Hashable {
    /// A mailbox id: the owner's own, or a member's.
    public var identifier: String
    public var rights: Rights

    public init(identifier: String, rights: Rights) {
        self.identifier = identifier
        self.rights = rights
    }
}
