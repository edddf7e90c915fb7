import MailvoxCore
import MailvoxIMAPCore

/// Everything that says where one IMAP session stands, in one value: RFC 3501 §3's state (with
/// the selected folder and its change feed), the continuation lines the session waits for
/// (IDLE's DONE, AUTHENTICATE's response), whether CONDSTORE is on, whether the connection is
/// encrypted, and how many commands came before login.
///
/// As SwiftNIO's state machines do, it changes only through one mutating method per event,
/// which returns what the session must do about it; which commands are legal follows from
/// the value alone. An event that cannot happen in the current state (the parser only reads
/// continuation lines when the state asked for them, and `allows(_:)` gates every command)
/// is a bug in the session: it traps in debug builds and leaves the state as it was in release.
struct SessionState: Sendable {
    /// RFC 3501 §3.
    enum Phase: Sendable {
        case notAuthenticated
        case authenticated(any MailStore)
        case selected(any MailStore, SelectedFolder)
        case logout
    }

    /// A command that goes on over continuation lines, with its tag.
    enum Pending: Sendable, Equatable {
        /// RFC 2177: until `DONE`.
        case idle(tag: String)
        /// RFC 3501 §6.2.2: until the client's SASL response (or `*`).
        case authenticate(tag: String)
    }

    /// What to do with a command, or a line that did not parse, outside any continuation.
    enum LineAction: Equatable {
        case proceed
        /// One too many before login: the session is logged out; send `BYE [LIMIT]` and close.
        case tooManyBeforeLogin
    }

    /// What to do with a line that did not parse.
    enum ErrorAction: Equatable {
        /// Answer the parse error as usual.
        case answer
        /// It was meant as an AUTHENTICATE's response: reject that AUTHENTICATE (RFC 3501 §6.2.2).
        case rejectAuthentication(tag: String)
        case tooManyBeforeLogin
    }

    private(set) var phase: Phase = .notAuthenticated
    private(set) var pending: Pending?
    /// RFC 7162 §3.1: CONDSTORE is on once ENABLEd or any command used it, and stays on.
    private(set) var condStore = false
    /// ENABLE QRESYNC (RFC 7162 §3.2.3): expunges are VANISHED, SELECT takes QRESYNC data.
    private(set) var qresync = false
    /// ENABLE IMAP4rev2 (RFC 9051): UTF-8 names, no `\Recent`, ESEARCH for SEARCH, LIST on SELECT.
    private(set) var imap4rev2 = false
    /// ENABLE UTF8=ACCEPT (RFC 6855): UTF-8 names, SEARCH takes no charset but UTF-8.
    private(set) var utf8Accept = false
    /// CONDSTORE came on while a folder was selected; the command's OK carries HIGHESTMODSEQ.
    private(set) var highestModSeqOwed = false
    /// Implicit TLS from the start, or STARTTLS since.
    private(set) var isTLS: Bool
    /// COMPRESS DEFLATE is on (RFC 4978): both directions compressed until the connection ends.
    private(set) var isCompressed = false
    /// Commands (of any kind, errors included) taken before login.
    private(set) var commandsBeforeLogin = 0
    let maxCommandsBeforeLogin: Int

    init(isTLS: Bool, maxCommandsBeforeLogin: Int) {
        self.isTLS = isTLS
        self.maxCommandsBeforeLogin = maxCommandsBeforeLogin
    }

    // MARK: Derived

    /// The mailbox's store once logged in.
    var store: (any MailStore)? {
        switch phase {
        case .authenticated(let store), .selected(let store, _): store
        case .notAuthenticated, .logout: nil
        }
    }

    var selected: SelectedFolder? {
        if case .selected(_, let folder) = phase { return folder }
        return nil
    }

    var isIdling: Bool {
        if case .idle = pending { return true }
        return false
    }

    /// How the parser must read the next line.
    var parserMode: CommandParser.Mode {
        switch pending {
        case .idle: .idle
        case .authenticate: .authentication
        case nil: .command
        }
    }

    /// Whether RFC 3501 allows `command` in this state (§6.1 any state, §6.2 not
    /// authenticated, §6.3 authenticated or selected, §6.4 selected only).
    func allows(_ command: Command) -> Bool {
        switch command {
        case .capability, .noop, .logout, .id:
            return true
        case .starttls, .login, .authenticate:
            if case .notAuthenticated = phase { return true }
            return false
        case .enable, .select, .examine, .create, .delete, .rename, .subscribe, .unsubscribe, .list, .lsub,
            .namespace, .getQuotaRoot, .getQuota, .setQuota, .status, .append, .idle, .compress, .getACL, .setACL,
            .deleteACL, .listRights, .myRights:
            return store != nil
        case .check, .close, .unselect, .expunge, .uidExpunge, .search, .sort, .fetch, .store, .copy, .move:
            return selected != nil
        }
    }

    // MARK: Lines from the client

    /// A command arrived (the parser reads commands only when nothing is pending). Before
    /// login every one counts against `maxCommandsBeforeLogin`.
    mutating func commandArrived() -> LineAction {
        guard case .notAuthenticated = phase, pending == nil else { return .proceed }
        commandsBeforeLogin += 1
        guard commandsBeforeLogin > maxCommandsBeforeLogin else { return .proceed }
        phase = .logout
        return .tooManyBeforeLogin
    }

    /// A line did not parse: an AUTHENTICATE's response that is not base64 ends that
    /// AUTHENTICATE; anything else counts like a command before login.
    mutating func unparsableLineArrived() -> ErrorAction {
        if case .authenticate(let tag) = pending {
            pending = nil
            return .rejectAuthentication(tag: tag)
        }
        switch commandArrived() {
        case .proceed: return .answer
        case .tooManyBeforeLogin: return .tooManyBeforeLogin
        }
    }

    // MARK: Login

    /// AUTHENTICATE without an initial response sent its empty challenge.
    mutating func authenticationStarted(tag: String) {
        guard case .notAuthenticated = phase, pending == nil else {
            assertionFailure("AUTHENTICATE started after login or during another continuation")
            return
        }
        pending = .authenticate(tag: tag)
    }

    /// The client answered the challenge; the AUTHENTICATE's tag, or nil when none was waiting.
    mutating func authenticationResponseArrived() -> String? {
        guard case .authenticate(let tag) = pending else {
            assertionFailure("SASL response without an AUTHENTICATE in progress")
            return nil
        }
        pending = nil
        return tag
    }

    /// LOGIN or AUTHENTICATE succeeded.
    mutating func loggedIn(_ store: any MailStore) {
        guard case .notAuthenticated = phase else {
            assertionFailure("logged in twice")
            return
        }
        phase = .authenticated(store)
    }

    /// STARTTLS's handshake was put in place (RFC 3501 §6.2.1: the capabilities change).
    mutating func tlsStarted() {
        guard !isTLS else {
            assertionFailure("TLS started twice")
            return
        }
        isTLS = true
    }

    /// COMPRESS's deflate layer was put in place (RFC 4978 §3); it stays for the connection.
    mutating func compressionStarted() {
        guard !isCompressed else {
            assertionFailure("compression started twice")
            return
        }
        isCompressed = true
    }

    // MARK: Folders

    /// SELECT or EXAMINE succeeded: `folder` replaces any selected one. Returns the feed of a
    /// folder it replaced, for the session to stop.
    mutating func selected(_ folder: SelectedFolder) -> ChangeFeed? {
        switch phase {
        case .authenticated(let store):
            phase = .selected(store, folder)
            return nil
        case .selected(let store, let old):
            phase = .selected(store, folder)
            return old.feed
        case .notAuthenticated, .logout:
            assertionFailure("SELECT without a login")
            return folder.feed
        }
    }

    /// CLOSE, UNSELECT, DELETE of the selected folder, or a SELECT, which closes the old folder
    /// even when it fails (RFC 3501 §6.3.1; from the authenticated state nothing changes).
    /// Returns the closed folder's feed, for the session to stop.
    mutating func unselected() -> ChangeFeed? {
        switch phase {
        case .selected(let store, let folder):
            phase = .authenticated(store)
            highestModSeqOwed = false
            return folder.feed
        case .authenticated:
            return nil
        case .notAuthenticated, .logout:
            assertionFailure("unselect without a login")
            return nil
        }
    }

    /// The selected folder's value changed (sequence numbers, pending updates, recent UIDs).
    mutating func updateSelected(_ body: (inout SelectedFolder) -> Void) {
        guard case .selected(let store, var folder) = phase else {
            assertionFailure("no folder selected")
            return
        }
        body(&folder)
        phase = .selected(store, folder)
    }

    /// A command used or ENABLEd CONDSTORE. The first to do so while a folder is selected
    /// owes the client that folder's HIGHESTMODSEQ (RFC 7162 §3.1).
    mutating func condStoreUsed() {
        if !condStore, selected != nil { highestModSeqOwed = true }
        condStore = true
    }

    /// ENABLE QRESYNC, which implies CONDSTORE.
    mutating func qresyncEnabled() {
        condStoreUsed()
        qresync = true
    }

    mutating func imap4rev2Enabled() {
        imap4rev2 = true
        // RFC 9051 has no `\Recent`: what the selected folder's tracker holds is let go unseen.
        if selected != nil { updateSelected { $0.tracker.forgetRecent() } }
    }

    mutating func utf8AcceptEnabled() {
        utf8Accept = true
    }

    /// How mailbox names travel in both directions.
    var names: NameEncoding { imap4rev2 || utf8Accept ? .utf8 : .modifiedUTF7 }

    /// The HIGHESTMODSEQ owed has been sent (or the folder it was owed for is closed).
    mutating func highestModSeqSent() {
        highestModSeqOwed = false
    }

    // MARK: Continuations

    /// IDLE sent its continuation request.
    mutating func idleStarted(tag: String) {
        guard store != nil, pending == nil else {
            assertionFailure("IDLE before login or during another continuation")
            return
        }
        pending = .idle(tag: tag)
    }

    /// DONE arrived; the IDLE's tag, or nil when none was running.
    mutating func idleDone() -> String? {
        guard case .idle(let tag) = pending else {
            assertionFailure("DONE without an IDLE")
            return nil
        }
        pending = nil
        return tag
    }

    // MARK: The end

    /// LOGOUT, BYE, or the connection going away; may happen more than once. Returns the
    /// selected folder's feed, for the session to stop.
    mutating func loggedOut() -> ChangeFeed? {
        defer { phase = .logout }
        return selected?.feed
    }
}

/// The selected folder as one session sees it.
struct SelectedFolder: Sendable {
    var name: String
    var readOnly: Bool
    var uidValidity: UInt32
    var tracker: MessageTracker
    /// The keywords the client has been told of in FLAGS, in the order it learned them
    /// (RFC 3501 §7.2.6: FLAGS names every flag a FETCH may report).
    var keywords: [String] = []
    /// The login's rights in the folder when it was selected (all in its own mailbox). The
    /// store checks them afresh on every call; this only shapes PERMANENTFLAGS and answers
    /// what needs no call.
    var rights: Rights = .all
    /// Lives and dies with the selection: `SessionState` hands it back when the folder is closed.
    let feed: ChangeFeed
}
