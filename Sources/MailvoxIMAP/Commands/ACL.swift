import MailvoxCore
import MailvoxIMAPCore

/// RFC 4314 ACL over the one access list each mailbox keeps (docs/DEPARTMENTS.md): rights
/// are per mailbox, so a command on any folder of it reads or changes that list. The store
/// checks every right (`a` to see or change the list); these commands only shape the answers.
extension IMAPSession {
    /// MYRIGHTS (RFC 4314 §3.5): any right at all lets a login ask.
    mutating func myRights(_ name: MailboxName, tag: String) async throws {
        guard let store = state.store else { return }
        send(.myRights(name, try await store.myRights(in: name.name)))
        await ok(tag, "MYRIGHTS completed")
    }

    /// GETACL (RFC 4314 §3.3): the owner with every right, then each member.
    mutating func getACL(_ name: MailboxName, tag: String) async throws {
        guard let store = state.store else { return }
        send(.acl(name, try await store.accessList(of: name.name)))
        await ok(tag, "GETACL completed")
    }

    /// LISTRIGHTS (RFC 4314 §3.4): the owner's rights are all, fixed; anyone else may be given
    /// any of them, each on its own (RIGHTS=texk: t, e, x and k separately).
    mutating func listRights(_ name: MailboxName, identifier: String, tag: String) async throws {
        guard let store = state.store else { return }
        let entries = try await store.accessList(of: name.name)
        if let owner = entries.first, owner.identifier.lowercased() == identifier.lowercased() {
            send(.listRights(name, identifier: identifier, required: .all, optional: []))
        } else {
            send(
                .listRights(name, identifier: identifier, required: [], optional: Rights.letters.map(\.1)))
        }
        await ok(tag, "LISTRIGHTS completed")
    }

    /// SETACL (RFC 4314 §3.1): `rights` replaces the identifier's, `+rights` adds to them,
    /// `-rights` takes from them; no rights left ends the membership. An unknown right is BAD.
    mutating func setACL(_ name: MailboxName, identifier: String, rights text: String, tag: String) async throws {
        guard let store = state.store else { return }
        var letters = Substring(text)
        let modifier = letters.first.flatMap { $0 == "+" || $0 == "-" ? $0 : nil }
        if modifier != nil { letters = letters.dropFirst() }
        guard let given = Rights(letters: letters) else {
            bad(tag, "Unknown right in \"\(text)\" (known: \(Rights.all.letters), and c, d)")
            return
        }
        var rights = given
        if let modifier {
            let current =
                try await store.accessList(of: name.name)
                .first { $0.identifier.lowercased() == identifier.lowercased() }?.rights ?? []
            rights = modifier == "+" ? current.union(given) : current.subtracting(given)
        }
        try await store.setAccess(of: name.name, identifier: identifier, rights: rights)
        try await announceSideEffects(of: name, store: store)
        await ok(tag, "SETACL completed")
    }

    /// DELETEACL (RFC 4314 §3.2): ends the identifier's membership.
    mutating func deleteACL(_ name: MailboxName, identifier: String, tag: String) async throws {
        guard let store = state.store else { return }
        try await store.setAccess(of: name.name, identifier: identifier, rights: nil)
        try await announceSideEffects(of: name, store: store)
        await ok(tag, "DELETEACL completed")
    }

    /// The one access list changed for every folder of the mailbox, not only the one named:
    /// each of the others is announced with an untagged ACL response, as RFC 4314 asks of a
    /// server whose SETACL changes other mailboxes' lists.
    mutating func announceSideEffects(of name: MailboxName, store: any MailStore) async throws {
        let entries = try await store.accessList(of: name.name)
        let key = NamespaceStore.mailboxKey(of: name.name)
        for folder in try await store.folders()
        where folder.selectable && folder.name != name.name && NamespaceStore.mailboxKey(of: folder.name) == key {
            send(.acl(MailboxName(folder.name), entries))
        }
    }
}
