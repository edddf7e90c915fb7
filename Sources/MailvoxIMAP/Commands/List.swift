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
        let folders = try await store.folders()
        let subscribedOnly = command.selectOptions.contains(.subscribed)
        let specialUseOnly = command.selectOptions.contains(.specialUse)
        let recursive = command.selectOptions.contains(.recursiveMatch)
        let returnSubscribed = subscribedOnly || command.returnOptions.contains(.subscribed)
        var statusAttributes: [StatusAttribute]?
        for case .status(let attributes) in command.returnOptions { statusAttributes = attributes }
        let patterns = command.patterns.map { Self.combine(reference: command.reference, pattern: $0) }
        for folder in folders {
            let matches = patterns.contains { Self.matches(folder.name, pattern: $0) }
            guard matches else { continue }
            var childInfo = false
            if subscribedOnly && !folder.subscribed {
                // RFC 5258 §3.5: with RECURSIVEMATCH a parent of a subscribed folder is listed
                // with CHILDINFO even though it does not match itself.
                guard recursive,
                    folders.contains(where: { $0.subscribed && $0.name.hasPrefix(folder.name + "/") })
                else { continue }
                childInfo = true
            }
            if specialUseOnly && folder.specialUse == nil { continue }
            var attributes: [MailboxAttribute] = [folder.hasChildren ? .hasChildren : .hasNoChildren]
            if returnSubscribed && folder.subscribed { attributes.append(.subscribed) }
            if let use = folder.specialUse, let attribute = MailboxAttribute(specialUse: use) {
                attributes.append(attribute)
            }
            let name = MailboxName(folder.name)
            send(.list(MailboxListItem(attributes: attributes, name: name, childInfoSubscribed: childInfo)))
            if let statusAttributes, !childInfo {
                if let status = try? await store.status(of: folder.name) {
                    send(.status(name, Self.statusValues(status, statusAttributes)))
                }
            }
            try await flushIfLarge()
        }
        await ok(tag, "LIST completed")
    }

    /// LSUB (RFC 3501 §6.3.9): subscribed folders matching the pattern.
    mutating func lsub(reference: String, pattern: String, tag: String) async throws {
        guard let store = state.store else { return }
        let full = Self.combine(reference: reference, pattern: pattern)
        for folder in try await store.folders() where folder.subscribed && Self.matches(folder.name, pattern: full) {
            var attributes: [MailboxAttribute] = []
            if let use = folder.specialUse, let attribute = MailboxAttribute(specialUse: use) {
                attributes.append(attribute)
            }
            send(.lsub(MailboxListItem(attributes: attributes, name: MailboxName(folder.name))))
        }
        await ok(tag, "LSUB completed")
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
