import MailvoxCore
import MailvoxIMAPCore

extension IMAPSession {
    /// CREATE (RFC 3501 §6.3.3): one trailing delimiter only says the client means to make
    /// children; the folder is created all the same. Superior names that do not exist yet are
    /// created too — by the store, in the same transaction as the folder, so a refused CREATE
    /// (too deep, a bad level) leaves no parent behind.
    mutating func create(_ name: MailboxName, tag: String) async throws {
        guard let store = state.store else { return }
        var folder = name.name
        if folder.last == FolderNameRules.delimiter { folder.removeLast() }
        if name.isInbox || folder.uppercased() == "INBOX" {
            no(tag, code: .alreadyExists, "INBOX always exists")
            return
        }
        if let problem = MailboxName(folder).problemAsNewFolder {
            no(tag, code: .cannot, "Invalid folder name: \(problem)")
            return
        }
        try await store.createFolder(folder)
        await ok(tag, "CREATE completed")
    }
}
