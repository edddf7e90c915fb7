import MailvoxCore
import MailvoxIMAPCore

/// Where an IMAP session stands (RFC 3501 §3): one enum, changed only through its own
/// transitions, so which commands are legal follows from the value alone.
enum SessionState: Sendable {
    case notAuthenticated
    case authenticated(any MailStore)
    case selected(any MailStore, SelectedFolder)
    case logout

    /// The mailbox's store once logged in.
    var store: (any MailStore)? {
        switch self {
        case .authenticated(let store), .selected(let store, _): store
        case .notAuthenticated, .logout: nil
        }
    }

    var selected: SelectedFolder? {
        if case .selected(_, let folder) = self { return folder }
        return nil
    }

    /// Whether RFC 3501 allows `command` in this state (§6.1 any state, §6.2 not
    /// authenticated, §6.3 authenticated or selected, §6.4 selected only).
    func allows(_ command: Command) -> Bool {
        switch command {
        case .capability, .noop, .logout, .id:
            return true
        case .starttls, .login, .authenticate:
            if case .notAuthenticated = self { return true }
            return false
        case .enable, .select, .examine, .create, .delete, .rename, .subscribe, .unsubscribe, .list, .lsub,
            .namespace, .status, .append, .idle:
            return store != nil
        case .check, .close, .unselect, .expunge, .uidExpunge, .search, .fetch, .store, .copy, .move:
            return selected != nil
        }
    }

    /// LOGIN / AUTHENTICATE succeeded.
    mutating func authenticate(_ store: any MailStore) {
        guard case .notAuthenticated = self else { return }
        self = .authenticated(store)
    }

    /// SELECT / EXAMINE succeeded: replaces any selected folder.
    mutating func select(_ folder: SelectedFolder) {
        guard let store else { return }
        self = .selected(store, folder)
    }

    /// CLOSE, UNSELECT, or a failed SELECT (RFC 3501 §6.3.1: the old folder is closed either way).
    mutating func unselect() {
        guard case .selected(let store, _) = self else { return }
        self = .authenticated(store)
    }

    /// Lets the selected folder's value be changed in place (sequence numbers, pending updates).
    mutating func updateSelected(_ body: (inout SelectedFolder) -> Void) {
        guard case .selected(let store, var folder) = self else { return }
        body(&folder)
        self = .selected(store, folder)
    }

    mutating func logout() { self = .logout }
}

/// The selected folder as one session sees it.
struct SelectedFolder: Sendable {
    var name: String
    var readOnly: Bool
    var uidValidity: UInt32
    var tracker: MessageTracker

    init(name: String, readOnly: Bool, uidValidity: UInt32, tracker: MessageTracker) {
        self.name = name
        self.readOnly = readOnly
        self.uidValidity = uidValidity
        self.tracker = tracker
    }
}
