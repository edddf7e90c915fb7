import Logging
import MailvoxCore
import MailvoxIMAPCore
import NIOCore

/// Where a session's responses go: the connection's channel, or a test's buffer.
protocol ResponseSink: Sendable {
    func write(_ bytes: ByteBuffer) async throws
}

/// What a session's settings are, per connection.
struct SessionConfiguration: Sendable {
    /// LOGIN and AUTHENTICATE allowed before TLS (`[imap] allow_plaintext_auth`).
    var allowPlaintextAuth: Bool
    /// Whether STARTTLS can be offered on this connection (a certificate is configured).
    var startTLSAvailable: Bool
    /// Whether the connection is encrypted from the start (implicit TLS); STARTTLS later is
    /// `SessionState.isTLS`.
    var isTLS: Bool
    /// Commands (of any kind, errors included) accepted before login; then `BYE [LIMIT]`.
    var maxCommandsBeforeLogin: Int
    /// APPEND limit (`[imap] max_message_bytes`).
    var maxMessageBytes: Int
    var clientAddress: ClientAddress

    init(
        allowPlaintextAuth: Bool = false, startTLSAvailable: Bool = true, isTLS: Bool = false,
        maxCommandsBeforeLogin: Int = 25, maxMessageBytes: Int = 52_428_800,
        clientAddress: ClientAddress = ClientAddress("127.0.0.1")
    ) {
        self.allowPlaintextAuth = allowPlaintextAuth
        self.startTLSAvailable = startTLSAvailable
        self.isTLS = isTLS
        self.maxCommandsBeforeLogin = maxCommandsBeforeLogin
        self.maxMessageBytes = maxMessageBytes
        self.clientAddress = clientAddress
    }
}

/// What the connection must do after the session handled an event.
enum SessionAction: Sendable, Equatable {
    case proceed
    /// STARTTLS was accepted and its OK written: put TLS in front of everything now, and
    /// discard any plaintext the client sent after the command.
    case startTLS
    /// COMPRESS was accepted and its OK is waiting in the output: write it uncompressed, then
    /// put the deflate layer in place before reading on (RFC 4978 §3).
    case startCompression
    /// `BYE` was sent: close the connection.
    case close
}

/// One client's IMAP session: the state machine (`SessionState`, where all of the session's
/// state lives) driven by parser events, each command's work done against the async
/// `MailStore`, responses written to a sink. Owned by one task; the NIO handler only feeds it
/// events and performs its actions.
struct IMAPSession {
    /// Changed only through its event methods (the commands live in extensions in other files).
    var state: SessionState
    let configuration: SessionConfiguration
    let authenticator: any Authenticator
    let sink: any ResponseSink
    let logger: Logger
    /// What the server's sessions share.
    let caches: SessionCaches
    var encodedStructures: EncodedStructures { caches.structures }

    var output = ByteBuffer()

    /// Octets buffered before they are written out.
    static let flushThreshold = 64 * 1024

    init(
        configuration: SessionConfiguration, authenticator: any Authenticator, sink: any ResponseSink,
        logger: Logger = Logger(label: "mailvox.imap"), caches: SessionCaches = SessionCaches()
    ) {
        self.configuration = configuration
        self.state = SessionState(
            isTLS: configuration.isTLS, maxCommandsBeforeLogin: configuration.maxCommandsBeforeLogin)
        self.authenticator = authenticator
        self.sink = sink
        self.logger = logger
        self.caches = caches
    }

    /// How the parser must read the next line.
    var parserMode: CommandParser.Mode { state.parserMode }

    /// How the parser reads the next command's mailbox names.
    var names: NameEncoding { state.names }

    /// Whether a mailbox is logged in (authenticated or selected state).
    var isLoggedIn: Bool { state.store != nil }

    var isIdling: Bool { state.isIdling }

    /// Whether a password may be sent now.
    var loginAllowed: Bool { state.isTLS || configuration.allowPlaintextAuth }

    /// The selected folder's change feed, where the connection hooks its IDLE wake-up.
    var inbox: ChangeInbox? { state.selected?.feed.inbox }

    // MARK: Events

    /// The greeting sent when the connection opens.
    mutating func greet() async throws {
        send(.untagged(.condition(StatusResponse(.ok, code: .capability(capabilities), text: "Mailvox ready"))))
        try await flush()
    }

    /// Handles one parser event and writes what it produces.
    mutating func handle(_ event: ParserEvent) async throws -> SessionAction {
        let action: SessionAction
        switch event {
        case .continuationRequest:
            send(.continuation(.text("Ready for literal data")))
            action = .proceed
        case .error(let error):
            switch state.unparsableLineArrived() {
            case .rejectAuthentication(let tag):
                // RFC 3501 §6.2.2: an undecodable response rejects the AUTHENTICATE itself.
                bad(tag, "Invalid SASL response")
                action = .proceed
            case .tooManyBeforeLogin:
                action = refuseTooManyBeforeLogin()
            case .answer:
                action = handleParseError(error)
            }
        case .idleDone:
            action = await finishIdle()
        case .authenticationResponse(let response):
            action = await continueAuthentication(response)
        case .command(let tagged):
            switch state.commandArrived() {
            case .proceed: action = await execute(tagged)
            case .tooManyBeforeLogin: action = refuseTooManyBeforeLogin()
            }
        }
        // STARTTLS's and COMPRESS's OK is written by the connection, together with putting
        // TLS or compression in place.
        if action != .startTLS, action != .startCompression { try await flush() }
        return action
    }

    /// What is buffered and not yet written, handed to the connection (STARTTLS).
    mutating func takeOutput() -> ByteBuffer {
        defer { output = ByteBuffer() }
        return output
    }

    /// Changes arrived on the feed: pushed at once during IDLE, else kept for the next command.
    /// A feed the store closed ends the session if it is idling there (as Dovecot disconnects
    /// a session whose selected mailbox went away): the client learns at once, and finds the
    /// folder gone when it logs in again.
    @discardableResult
    mutating func changesArrived() async throws -> SessionAction {
        guard isIdling else { return .proceed }
        if inbox?.isClosed == true {
            try await autologout("Access to the selected folder was removed, have to disconnect")
            return .close
        }
        await sendUpdates(allowExpunge: true)
        try await flush()
        return .proceed
    }

    /// The server ends the session on its own (RFC 3501 §7.1.5): `* BYE` with `reason`, then
    /// the connection closes.
    mutating func autologout(_ reason: String) async throws {
        send(.untagged(.condition(StatusResponse(.bye, text: reason))))
        state.loggedOut()?.stop()
        try await flush()
    }

    /// The connection is going away: stop the change feed.
    mutating func close() {
        state.loggedOut()?.stop()
    }

    /// `SessionState` counted one command too many before login and logged the session out.
    private mutating func refuseTooManyBeforeLogin() -> SessionAction {
        send(.untagged(.condition(StatusResponse(.bye, code: .limit, text: "Too many commands before login"))))
        return .close
    }

    private mutating func handleParseError(_ error: ParseError) -> SessionAction {
        send(error.response)
        if error.disposition == .bye {
            state.loggedOut()?.stop()
            return .close
        }
        return .proceed
    }

    private mutating func execute(_ tagged: TaggedCommand) async -> SessionAction {
        let tag = tagged.tag
        let command = tagged.command
        if let folder = state.selected, folder.feed.inbox.isClosed {
            // Access to the selected folder was taken away (a department member removed, or
            // the r right): the folder is closed, and a command that needs it is refused.
            state.unselected()?.stop()
            send(.condition(StatusResponse(.ok, code: .closed, text: "Access to \(folder.name) was removed")))
            if command.isSelectedStateCommand {
                no(tag, code: .noPerm, "Access to the selected folder was removed")
                return .proceed
            }
        }
        guard state.allows(command) else {
            let text: String
            switch state.phase {
            case .notAuthenticated: text = "Log in first"
            case .authenticated: text = command.isSelectedStateCommand ? "No folder selected" : "Already logged in"
            case .selected: text = "Already logged in"
            case .logout: text = "Logging out"
            }
            send(.tagged(tag: tag, StatusResponse(.bad, text: text)))
            return .proceed
        }
        do {
            switch command {
            case .capability: await capabilityCommand(tag: tag)
            case .noop: await noop(tag: tag, name: "NOOP")
            case .check: await noop(tag: tag, name: "CHECK")
            case .logout: return logout(tag: tag)
            case .id(let parameters): await id(parameters, tag: tag)
            case .starttls: return startTLS(tag: tag)
            case .login(let username, let password):
                await login(username: username, password: password, tag: tag)
            case .authenticate(let mechanism, let initial):
                await authenticate(mechanism: mechanism, initialResponse: initial, tag: tag)
            case .enable(let capabilities): await enable(capabilities, tag: tag)
            case .select(let name, let parameters): try await select(name, parameters, readOnly: false, tag: tag)
            case .examine(let name, let parameters): try await select(name, parameters, readOnly: true, tag: tag)
            case .create(let name): try await create(name, tag: tag)
            case .delete(let name): try await delete(name, tag: tag)
            case .rename(let from, let to): try await rename(from, to: to, tag: tag)
            case .subscribe(let name): try await subscribe(name, true, tag: tag)
            case .unsubscribe(let name): try await subscribe(name, false, tag: tag)
            case .list(let command): try await list(command, tag: tag)
            case .lsub(let reference, let pattern): try await lsub(reference: reference, pattern: pattern, tag: tag)
            case .namespace: await namespace(tag: tag)
            case .getQuotaRoot(let name): try await getQuotaRoot(name, tag: tag)
            case .getQuota(let root): try await getQuota(root, tag: tag)
            case .getACL(let name): try await getACL(name, tag: tag)
            case .setACL(let name, let identifier, let rights):
                try await setACL(name, identifier: identifier, rights: rights, tag: tag)
            case .deleteACL(let name, let identifier): try await deleteACL(name, identifier: identifier, tag: tag)
            case .listRights(let name, let identifier): try await listRights(name, identifier: identifier, tag: tag)
            case .myRights(let name): try await myRights(name, tag: tag)
            case .setQuota:
                no(tag, code: .noPerm, "Quotas are set by the administrator (mailvox mailbox set --quota-mb)")
            case .status(let name, let attributes): try await status(name, attributes, tag: tag)
            case .append(let command): try await append(command, tag: tag)
            case .idle: await idle(tag: tag)
            case .compress(let mechanism): return compress(mechanism, tag: tag)
            case .close: try await close(tag: tag)
            case .unselect: unselect(tag: tag)
            case .expunge: try await expunge(nil, tag: tag)
            case .uidExpunge(let set): try await expunge(set, tag: tag)
            case .search(let command): try await search(command, tag: tag)
            case .sort(let command): try await sort(command, tag: tag)
            case .fetch(let command): try await fetch(command, tag: tag)
            case .store(let command): try await store(command, tag: tag)
            case .copy(let command): try await copy(command, removingSource: false, tag: tag)
            case .move(let command): try await copy(command, removingSource: true, tag: tag)
            }
        } catch let error as MailStoreError {
            respond(to: error, tag: tag, command: command)
        } catch is MessageTracker.InvalidSequenceNumber {
            send(.tagged(tag: tag, StatusResponse(.bad, text: "Invalid message sequence number")))
        } catch {
            logger.error("IMAP command failed: \(error)")
            send(.tagged(tag: tag, StatusResponse(.no, code: .serverBug, text: "Internal error")))
        }
        return .proceed
    }

    // MARK: Output

    mutating func send(_ response: Response) {
        if case .untagged(.fetch(_, let items)) = response {
            for case .flags(let flags) in items { announceKeywords(in: flags) }
        }
        ResponseEncoder.encode(response, into: &output, names: state.names)
    }

    mutating func send(_ untagged: UntaggedResponse) {
        send(.untagged(untagged))
    }

    /// Tagged OK after the untagged updates the command's kind allows.
    /// The first CONDSTORE-enabling command in a selected folder ends with `OK [HIGHESTMODSEQ n]`
    /// (RFC 7162 §3.1), untagged when the tagged OK has a code of its own.
    mutating func ok(_ tag: String, code: ResponseCode? = nil, _ text: String, allowExpunge: Bool = true) async {
        await sendUpdates(allowExpunge: allowExpunge)
        var code = code
        if state.highestModSeqOwed, let store = state.store, let folder = state.selected {
            state.highestModSeqSent()
            if let status = try? await store.status(of: folder.name) {
                if code == nil {
                    code = .highestModSeq(status.highestModseq)
                } else {
                    send(.condition(StatusResponse(.ok, code: .highestModSeq(status.highestModseq), text: "Highest")))
                }
            }
        }
        send(.tagged(tag: tag, StatusResponse(.ok, code: code, text: text)))
    }

    mutating func no(_ tag: String, code: ResponseCode? = nil, _ text: String) {
        send(.tagged(tag: tag, StatusResponse(.no, code: code, text: text)))
    }

    mutating func bad(_ tag: String, code: ResponseCode? = nil, _ text: String) {
        send(.tagged(tag: tag, StatusResponse(.bad, code: code, text: text)))
    }

    /// Drains the change feed into the tracker and sends what RFC 3501 §7.4.1 allows now. New
    /// messages are claimed as recent before they are announced, so the first session to
    /// report them holds them as `\Recent`.
    mutating func sendUpdates(allowExpunge: Bool) async {
        guard let inbox else { return }
        let changes = inbox.drain()
        if !changes.isEmpty {
            state.updateSelected { folder in
                for change in changes { folder.tracker.receive(change) }
            }
        }
        // An IMAP4rev2 session claims nothing: its messages stay recent for IMAP4rev1 sessions.
        if !state.imap4rev2, let folder = state.selected, let store = state.store,
            let newest = folder.tracker.newestAwaitingClaim
        {
            do {
                let recent = try await recentUIDs(of: folder, in: store, newest: newest)
                state.updateSelected { $0.tracker.holdRecent(recent) }
            } catch {
                // The messages are still announced, just not as recent; the next update retries.
                logger.error("IMAP claiming recent messages failed: \(error)")
            }
        }
        let condStore = state.condStore
        let vanished = state.qresync
        var responses: [UntaggedResponse] = []
        state.updateSelected { folder in
            responses = folder.tracker.takeUpdates(allowExpunge: allowExpunge, condStore: condStore, vanished: vanished)
        }
        for response in responses { send(response) }
    }

    /// The recent UIDs a session may hold now (RFC 3501 §2.3.2): a read-write session claims
    /// them; a read-only one (EXAMINE) only looks at those no session has claimed, as Dovecot does.
    /// A claim for new messages up to `newest` goes to the store only when no other session of
    /// this server has claimed past them, or is about to (`RecentClaims`).
    func recentUIDs(
        of folder: SelectedFolder, in store: any MailStore, newest: UInt32
    ) async throws(MailStoreError) -> Range<UInt32> {
        guard folder.readOnly else {
            return try await claimRecent(in: folder.name, uidValidity: folder.uidValidity, store: store, newest: newest)
        }
        let status = try await store.status(of: folder.name)
        return min(status.firstRecentUID, status.uidNext)..<status.uidNext
    }

    /// Claims from the store through the server's `RecentClaims`, so other sessions learn how
    /// far it got.
    func claimRecent(
        in folder: String, uidValidity: UInt32, store: any MailStore, newest: UInt32? = nil
    ) async throws(MailStoreError) -> Range<UInt32> {
        try await caches.recentClaims.claim(
            newest: newest, mailbox: store.mailbox, folder: folder, uidValidity: uidValidity
        ) { () async throws(MailStoreError) -> Range<UInt32> in
            try await store.claimRecent(in: folder)
        }
    }

    mutating func flushIfLarge() async throws {
        if output.readableBytes >= Self.flushThreshold { try await flush() }
    }

    mutating func flush() async throws {
        guard output.readableBytes > 0 else { return }
        let bytes = output
        output = ByteBuffer()
        try await sink.write(bytes)
    }

    // MARK: Errors

    /// Maps a store refusal to its response code (RFC 5530, RFC 3501 TRYCREATE).
    mutating func respond(to error: MailStoreError, tag: String, command: Command) {
        switch error {
        case .noSuchFolder:
            switch command {
            case .copy, .move, .append: no(tag, code: .tryCreate, "No such folder")
            default: no(tag, code: .nonExistent, "No such folder")
            }
        case .folderExists: no(tag, code: .alreadyExists, "Folder already exists")
        case .invalidFolderName(_, let reason): no(tag, code: .cannot, "Invalid folder name: \(reason)")
        case .protectedFolder: no(tag, code: .cannot, "This folder cannot be deleted or renamed")
        case .readOnlyFolder: no(tag, code: .cannot, "Read-only folder: copy or move out of it to restore")
        case .noSuchMessage: no(tag, code: .expungeIssued, "Message was expunged")
        case .messageTooLarge(_, let limit): no(tag, code: .tooBig, "Message larger than \(limit) octets")
        case .overQuota: no(tag, code: .overQuota, "Mailbox is over its quota")
        case .malformedMessage(let reason): no(tag, code: .parse, "Message refused: \(reason)")
        case .noPermission(let reason): no(tag, code: .noPerm, "Permission denied: \(reason)")
        case .storage(let reason):
            logger.error("IMAP storage failure: \(reason)")
            no(tag, code: .serverBug, "Internal storage error")
        }
    }
}

extension Command {
    var isSelectedStateCommand: Bool {
        switch self {
        case .check, .close, .unselect, .expunge, .uidExpunge, .search, .sort, .fetch, .store, .copy, .move: true
        default: false
        }
    }
}
