import MailvoxCore
import NIOConcurrencyHelpers

/// Collects the selected folder's change feed between commands. A task forwards the store's
/// `AsyncStream` into it; the session drains it when RFC 3501 lets it report, and `onChange`
/// wakes an IDLE session at once.
public final class ChangeInbox: Sendable {
    private let state = NIOLockedValueBox<State>(State())

    struct State {
        var changes: [FolderChange] = []
        var onChange: (@Sendable () -> Void)?
        var waiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
    }

    public init() {}

    /// Called (from any thread) whenever a change arrives.
    public func setOnChange(_ handler: (@Sendable () -> Void)?) {
        state.withLockedValue { $0.onChange = handler }
    }

    func push(_ change: FolderChange) {
        let (handler, waiters) = state.withLockedValue { state in
            // Only the first change since the last drain wakes the session: a burst of
            // changes is one wake-up, not one queued event each.
            let wasEmpty = state.changes.isEmpty
            state.changes.append(change)
            let waiters = state.waiters
            state.waiters = []
            return (wasEmpty ? state.onChange : nil, waiters)
        }
        for waiter in waiters { waiter.resume() }
        handler?()
    }

    /// Everything received so far, in order.
    public func drain() -> [FolderChange] {
        state.withLockedValue { state in
            defer { state.changes = [] }
            return state.changes
        }
    }

    public var isEmpty: Bool { state.withLockedValue { $0.changes.isEmpty } }

    /// Waits until at least one change is held (for tests and IDLE).
    public func waitForChange() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLockedValue { state in
                if !state.changes.isEmpty || state.closed { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func close() {
        let waiters = state.withLockedValue { state in
            state.closed = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
