extension IMAPSession {
    /// RENAME (RFC 3501 §6.3.5): children move along and UIDVALIDITY is kept; renaming INBOX
    /// is refused rather than emulated.
    mutating func rename(_ from: MailboxName, to: MailboxName, tag: String) async throws {
        guard let store = state.store else { return }
        if from.isInbox {
            no(tag, code: .cannot, "INBOX cannot be renamed")
            return
        }
        if to.isInbox {
            no(tag, code: .alreadyExists, "INBOX already exists")
            return
        }
        try await store.renameFolder(from.name, to: to.name)
        await ok(tag, "RENAME completed")
    }
}
