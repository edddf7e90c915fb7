import MailvoxIMAPCore

extension IMAPSession {
    /// RENAME (RFC 3501 §6.3.5): children move along and UIDVALIDITY is kept. Renaming INBOX
    /// moves its messages into a new folder of that name and leaves INBOX in place, empty; its
    /// own children stay where they are.
    mutating func rename(_ from: MailboxName, to: MailboxName, tag: String) async throws {
        guard let store = state.store else { return }
        if to.isInbox {
            no(tag, code: .alreadyExists, "INBOX already exists")
            return
        }
        if let problem = to.problemAsNewFolder {
            no(tag, code: .cannot, "Invalid folder name: \(problem)")
            return
        }
        try await store.renameFolder(from.name, to: to.name)
        await ok(tag, "RENAME completed")
    }
}
