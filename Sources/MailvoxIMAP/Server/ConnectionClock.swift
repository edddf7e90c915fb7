import NIOConcurrencyHelpers
import NIOCore

/// What a connection's task tells its `IdleTimeoutHandler`, which runs on the event loop:
/// whether the client has logged in, and whether a login is being checked right now.
///
/// Before login the connection has a deadline counted from connect that no byte the client
/// sends moves (RFC 3501 §5.4 lets the server end a session it has reason to; a client that
/// dribbles a byte now and then must not hold a connection for ever). After login it is an
/// idle timer, restarted by every read.
///
/// A LOGIN or AUTHENTICATE being checked is never cut: the `Authenticator` may make a refused
/// login wait a delay that grows to minutes (`[auth]` lockout), longer than the deadline,
/// and that delay only works if the client gets its answer at the end of it. Capping the
/// delay below the deadline instead would give a guesser its answer sooner and reset the
/// policy the directory owns. So the deadline waits for the check; if it passed meanwhile,
/// the answer is sent and then `* BYE`, and the connection closes. A connection thus lives
/// at most the deadline plus one check: a second pipelined LOGIN never starts.
final class ConnectionClock: Sendable {
    private struct State {
        var loggedIn = false
        var checking = false
        /// The pre-login deadline passed; whoever saw it first ends the connection.
        var expired = false
    }

    /// What the handler's timer must do when it fires.
    enum Verdict: Equatable {
        /// Check again at this time (a later deadline, or a check still running).
        case wait(NIODeadline)
        /// Send `* BYE` with this text and close.
        case close(String)
        /// The connection's task is closing the connection; do nothing.
        case none
    }

    let beforeLogin: TimeAmount
    let afterLogin: TimeAmount
    private let state = NIOLockedValueBox(State())

    /// The `* BYE` texts (RFC 3501 §5.4 calls it autologout).
    static let loginDeadlineReason = "Autologout; no login in time"
    static let idleReason = "Autologout; idle for too long"

    /// How often a running login check is looked at once the deadline has passed.
    static let checkPoll = TimeAmount.milliseconds(250)

    init(beforeLogin: TimeAmount, afterLogin: TimeAmount) {
        self.beforeLogin = beforeLogin
        self.afterLogin = afterLogin
    }

    /// A LOGIN or AUTHENTICATE is about to be checked; the deadline waits for it.
    func beginCheck() {
        state.withLockedValue { $0.checking = true }
    }

    /// The check is answered. True when the deadline passed meanwhile and the client did not
    /// log in: the caller sends `* BYE` and closes.
    func endCheck(loggedIn: Bool) -> Bool {
        state.withLockedValue { state in
            state.checking = false
            state.loggedIn = state.loggedIn || loggedIn
            return state.expired && !state.loggedIn
        }
    }

    /// The client logged in: from now on the idle timer applies.
    func didLogIn() {
        state.withLockedValue { $0.loggedIn = true }
    }

    /// Called by the handler's timer with the connection's start, its last read and the time now.
    func verdict(connected: NIODeadline, lastRead: NIODeadline, now: NIODeadline) -> Verdict {
        state.withLockedValue { state in
            if state.loggedIn {
                let due = lastRead + afterLogin
                return now < due ? .wait(due) : .close(Self.idleReason)
            }
            let due = connected + beforeLogin
            if now < due { return .wait(due) }
            if state.checking {
                // The check's caller sees `expired` and ends the connection after the answer;
                // keep looking in case the login succeeds and the idle timer takes over.
                state.expired = true
                return .wait(now + Self.checkPoll)
            }
            // Already expired: a check ended after the deadline and its caller is closing.
            if state.expired { return .none }
            state.expired = true
            return .close(Self.loginDeadlineReason)
        }
    }
}
