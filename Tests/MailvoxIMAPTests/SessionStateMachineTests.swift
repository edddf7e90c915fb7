import MailvoxCore
import MailvoxStoreTesting
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

/// `SessionState` as a value on its own: each event's transition and the action it returns,
/// without a session around it.
@Suite struct SessionStateMachineTests {
    static func loggedIn() async throws -> (SessionState, InMemoryMailStore) {
        let (authenticator, store) = try await Fixture.setUp(messages: 1)
        guard
            case .success(let mailStore) = await authenticator.authenticate(
                mailbox: "1000", password: "secret", client: ClientAddress("127.0.0.1"))
        else { throw SetUpFailed() }
        var state = SessionState(isTLS: true, maxCommandsBeforeLogin: 5)
        state.loggedIn(mailStore)
        return (state, store)
    }

    struct SetUpFailed: Error {}

    static func folder(_ name: String, feed: ChangeFeed) -> SelectedFolder {
        SelectedFolder(
            name: name, readOnly: false, uidValidity: 1, tracker: MessageTracker([], recent: 0..<0), feed: feed)
    }

    @Test func commandsBeforeLoginAreCountedUntilTheLimit() {
        var state = SessionState(isTLS: false, maxCommandsBeforeLogin: 2)
        #expect(state.commandArrived() == .proceed)
        #expect(state.unparsableLineArrived() == .answer)
        #expect(state.commandsBeforeLogin == 2)
        #expect(state.commandArrived() == .tooManyBeforeLogin)
        guard case .logout = state.phase else {
            Issue.record("one command too many did not log out")
            return
        }
    }

    @Test func aSASLResponseThatDoesNotParseEndsTheAuthenticate() {
        var state = SessionState(isTLS: true, maxCommandsBeforeLogin: 5)
        state.authenticationStarted(tag: "a")
        #expect(state.parserMode == .authentication)
        #expect(state.unparsableLineArrived() == .rejectAuthentication(tag: "a"))
        #expect(state.parserMode == .command)
        // The rejected response was not counted as a command.
        #expect(state.commandsBeforeLogin == 0)
        state.authenticationStarted(tag: "b")
        #expect(state.authenticationResponseArrived() == "b")
        #expect(state.pending == nil)
    }

    @Test func idleWaitsForDoneAndLoginStopsTheCount() async throws {
        var (state, _) = try await Self.loggedIn()
        #expect(state.commandArrived() == .proceed)
        #expect(state.commandsBeforeLogin == 0)
        state.idleStarted(tag: "i")
        #expect(state.isIdling && state.parserMode == .idle)
        #expect(state.idleDone() == "i")
        #expect(!state.isIdling && state.parserMode == .command)
    }

    /// The feed lives in the selected folder: every way out of it hands the feed back to be stopped.
    @Test func leavingAFolderHandsBackItsFeed() async throws {
        var (state, store) = try await Self.loggedIn()
        let first = ChangeFeed(try await store.changes(of: "INBOX"))
        #expect(state.unselected() == nil)
        #expect(state.selected(Self.folder("INBOX", feed: first)) == nil)
        let second = ChangeFeed(try await store.changes(of: "INBOX"))
        #expect(state.selected(Self.folder("INBOX", feed: second))?.inbox === first.inbox)
        #expect(state.selected?.feed.inbox === second.inbox)
        #expect(state.unselected()?.inbox === second.inbox)
        #expect(state.store != nil && state.selected == nil)
        let third = ChangeFeed(try await store.changes(of: "INBOX"))
        _ = state.selected(Self.folder("INBOX", feed: third))
        #expect(state.loggedOut()?.inbox === third.inbox)
        #expect(state.loggedOut() == nil)
        for feed in [first, second, third] { feed.stop() }
    }

    /// An event the state cannot be in traps in debug builds instead of passing silently.
    @Test func anImpossibleTransitionTraps() async {
        await #expect(processExitsWith: .failure) {
            var state = SessionState(isTLS: false, maxCommandsBeforeLogin: 5)
            _ = state.idleDone()
        }
        await #expect(processExitsWith: .failure) {
            var state = SessionState(isTLS: true, maxCommandsBeforeLogin: 5)
            state.tlsStarted()
        }
    }
}
