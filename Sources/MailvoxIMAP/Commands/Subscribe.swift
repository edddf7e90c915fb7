import MailvoxIMAPCore

extension IMAPSession {
    /// SUBSCRIBE and UNSUBSCRIBE (RFC 3501 §6.3.6–7).
    mutating func subscribe(_ name: MailboxName, _ subscribed: Bool, tag: String) async throws {
        guard let store = state.store else { return }
        try await store.setSubscribed(name.name, subscribed)
        await ok(tag, subscribed ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed")
    }
}
