import MailvoxCore
import MailvoxIMAPCore

extension IMAPSession {
    /// LIST (RFC 3501 §6.3.8) with LIST-EXTENDED (RFC 5258) selection and return options,
    /// SPECIAL-USE (RFC 6154) and CHILDREN (RFC 3348) attributes, and LIST-STATUS (RFC 5819).
    mutating func list(_ command: ListCommand, tag: String) async throws {
        guard let store = state.store else { return }
        // RFC 3501 §6.3.8: an empty pattern asks for the delimiter and root.
        if command.patterns == [""] && !command.isExtended {
            send(.list(MailboxListItem(attributes: [.noSelect], name: MailboxName(""))))
            await ok(tag, "LIST completed")
            return
        }
        let recursive = command.selectOptions.contains(.recursiveMatch)
        let subscribedOnly = command.selectOptions.contains(.subscribed)
        let specialUseOnly = command.selectOptions.contains(.specialUse)
        // RFC 5258 §3: RECURSIVEMATCH only qualifies another selection option.
        if recursive && !subscribedOnly && !specialUseOnly {
            bad(tag, "RECURSIVEMATCH needs another selection option")
            return
        }
        let folders = try await store.folders()
        let returnSubscribed = subscribedOnly || command.returnOptions.contains(.subscribed)
        var statusAttributes: [StatusAttribute]?
        for case .status(let attributes) in command.returnOptions { statusAttributes = attributes }
        let patterns = command.patterns.map { Self.combine(reference: command.reference, pattern: $0) }
        let existing = Dictionary(folders.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // The candidates: with SUBSCRIBED the subscribed names — a subscription outlives its
        // folder — and, for RECURSIVEMATCH, their parents; otherwise the folders and any level
        // above one that is no folder itself (left by another client's DELETE), listed as
        // \Noselect (RFC 3501 §6.3.8) or \NonExistent (RFC 5258 §3).
        let subscriptions = subscribedOnly ? Set(try await store.subscriptions()) : []
        var names = subscribedOnly ? subscriptions : Set(folders.map(\.name))
        if !subscribedOnly || recursive { for name in Array(names) { names.formUnion(Self.parents(of: name)) } }
        let candidates = names.sorted(by: Self.listOrder)
        for name in candidates where patterns.contains(where: { Self.matches(name, pattern: $0) }) {
            let folder = existing[name]
            var childInfo = false
            if subscribedOnly && !subscriptions.contains(name) {
                // RFC 5258 §3.5: a name that matches but is not subscribed itself is listed for
                // RECURSIVEMATCH when a folder below it is, with CHILDINFO.
                guard recursive, subscriptions.contains(where: { $0.hasPrefix(name + "/") }) else { continue }
                childInfo = true
            }
            if specialUseOnly && folder?.specialUse == nil { continue }
            let subscribed =
                returnSubscribed && (subscribedOnly ? subscriptions.contains(name) : folder?.subscribed == true)
            var attributes: [MailboxAttribute]
            if let folder {
                attributes = Self.attributes(of: folder, subscribed: subscribed)
            } else {
                attributes = [command.isExtended ? .nonExistent : .noSelect]
                if folders.contains(where: { $0.name.hasPrefix(name + "/") }) { attributes.append(.hasChildren) }
                if subscribed { attributes.append(.subscribed) }
            }
            let mailboxName = MailboxName(name)
            send(.list(MailboxListItem(attributes: attributes, name: mailboxName, childInfoSubscribed: childInfo)))
            if let statusAttributes, folder?.selectable == true {
                if let status = try? await store.status(of: name) {
                    send(.status(mailboxName, Self.statusValues(status, statusAttributes)))
                }
            }
            try await flushIfLarge()
        }
        await ok(tag, "LIST completed")
    }

    /// An existing folder's LIST attributes: CHILDREN (RFC 3348), `\Subscribed` when asked for,
    /// SPECIAL-USE (RFC 6154).
    static func attributes(of folder: FolderInfo, subscribed: Bool) -> [MailboxAttribute] {
        var attributes: [MailboxAttribute] = [folder.hasChildren ? .hasChildren : .hasNoChildren]
        if !folder.selectable { attributes.insert(.noSelect, at: 0) }
        if subscribed { attributes.append(.subscribed) }
        if let use = folder.specialUse, let attribute = MailboxAttribute(specialUse: use) {
            attributes.append(attribute)
        }
        return attributes
    }

    /// LSUB (RFC 3501 §6.3.9): subscribed names matching the pattern, whether or not their
    /// folders still exist; a parent that matches when its subscribed child does not (`%`) is
    /// listed `\Noselect` if it is not subscribed itself.
    mutating func lsub(reference: String, pattern: String, tag: String) async throws {
        guard let store = state.store else { return }
        let full = Self.combine(reference: reference, pattern: pattern)
        let subscriptions = Set(try await store.subscriptions())
        var specialUse: [String: String] = [:]
        for folder in try await store.folders() { specialUse[folder.name] = folder.specialUse }
        var names = subscriptions
        for name in subscriptions where !Self.matches(name, pattern: full) { names.formUnion(Self.parents(of: name)) }
        for name in names.sorted(by: Self.listOrder) where Self.matches(name, pattern: full) {
            var attributes: [MailboxAttribute] = []
            if !subscriptions.contains(name) { attributes.append(.noSelect) }
            if let use = specialUse[name], let attribute = MailboxAttribute(specialUse: use) {
                attributes.append(attribute)
            }
            send(.lsub(MailboxListItem(attributes: attributes, name: MailboxName(name))))
        }
        await ok(tag, "LSUB completed")
    }

    /// `a` and `a/b` for `a/b/c`.
    static func parents(of name: String) -> [String] {
        let levels = name.split(separator: "/", omittingEmptySubsequences: false)
        return (1..<max(levels.count, 1)).map { levels.prefix($0).joined(separator: "/") }
    }

    /// INBOX first, then by name, as `MailStore.folders()` orders folders.
    static func listOrder(_ a: String, _ b: String) -> Bool {
        if a == "INBOX" { return b != "INBOX" }
        if b == "INBOX" { return false }
        return a < b
    }

    /// The reference and pattern joined as RFC 3501 §6.3.8 describes for a hierarchical store.
    static func combine(reference: String, pattern: String) -> String {
        if reference.isEmpty || pattern.hasPrefix("/") { return pattern }
        return reference.hasSuffix("/") ? reference + pattern : reference + "/" + pattern
    }

    /// `*` matches anything, `%` anything but the delimiter; INBOX matches case-insensitively.
    static func matches(_ name: String, pattern: String) -> Bool {
        let nameScalars = Array(name.unicodeScalars)
        var patternScalars = Array(pattern.unicodeScalars)
        if pattern.uppercased().hasPrefix("INBOX") && name.hasPrefix("INBOX") {
            patternScalars.replaceSubrange(0..<5, with: "INBOX".unicodeScalars)
        }
        // Iterative matching with memo, bounded by name × pattern.
        var memo = [[Bool?]](
            repeating: [Bool?](repeating: nil, count: patternScalars.count + 1), count: nameScalars.count + 1)
        func match(_ i: Int, _ j: Int) -> Bool {
            if let known = memo[i][j] { return known }
            let result: Bool
            if j == patternScalars.count {
                result = i == nameScalars.count
            } else {
                switch patternScalars[j] {
                case "*":
                    result = match(i, j + 1) || (i < nameScalars.count && match(i + 1, j))
                case "%":
                    result = match(i, j + 1) || (i < nameScalars.count && nameScalars[i] != "/" && match(i + 1, j))
                default:
                    result = i < nameScalars.count && nameScalars[i] == patternScalars[j] && match(i + 1, j + 1)
                }
            }
            memo[i][j] = result
            return result
        }
        return match(0, 0)
    }
}
