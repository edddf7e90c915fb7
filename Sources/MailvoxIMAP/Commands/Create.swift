extension IMAPSession {
    /// CREATE (RFC 3501 §6.3.3): a trailing delimiter only says the client means to make
    /// children; the folder is created all the same.
    mutating func create(_ name: MailboxName, tag: String) async throws {
        guard let store = state.store else { return }
        var folder = name.name
        while folder.hasSuffix("/") { folder.removeLast() }
        if name.isInbox || folder.uppercased() == "INBOX" {
            no(tag, code: .alreadyExists, "INBOX always exists")
            return
        }
        // RFC 3501 §6.3.3: superior names that do not exist yet are created too.
        let levels = folder.split(separator: "/", omittingEmptySubsequences: false)
        if levels.count > 1 {
            let existing = Set(try await store.folders().map(\.name))
            for depth in 1..<levels.count {
                let parent = levels[..<depth].joined(separator: "/")
                if !existing.contains(parent) && !parent.isEmpty { try await store.createFolder(parent) }
            }
        }
        try await store.createFolder(folder)
        await ok(tag, "CREATE completed")
    }
}
