import MailvoxIMAPCore

extension IMAPSession {
    /// DELETE (RFC 3501 §6.3.4). INBOX and the special-use folders stay ([CANNOT]).
    mutating func delete(_ name: MailboxName, tag: String) async throws {
        guard let store = state.store else { return }
        if name.isInbox {
            no(tag, code: .cannot, "INBOX cannot be deleted")
            return
        }
        try await store.deleteFolder(name.name)
        if state.selected?.name == name.name {
            // The selected folder is gone: RFC 3501 leaves this open; going back to the
            // authenticated state is what Dovecot does.
            state.unselected()?.stop()
        }
        await ok(tag, "DELETE completed")
    }
}
