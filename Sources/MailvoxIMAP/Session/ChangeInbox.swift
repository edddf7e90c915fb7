import MailvoxCore
import NIOConcurrencyHelpers

/// Collects the selected folder's change feed between commands. A task forwards the store's
/// `AsyncStream` into it; the session drains it when RFC 3501 lets it report, and `onChange`
/// wakes an IDLE session at once.
///
/// `package`: MailvoxIMAPTesting waits on it through `setOnChange` and `isEmpty`.
package final class ChangeInbox: Sendable {
    private let state = NIOLockedValueBox<State>(State())

    struct State {
        var changes: [FolderChange] = []
        /// The store ended the folder's feed: the session lost access to it.
        var closed = false
        var onChange: (@Sendable () -> Void)?
    }

    init() {}

    /// Called (from any thread) whenever a change arrives.
    package func setOnChange(_ handler: (@Sendable () -> Void)?) {
        state.withLockedValue { $0.onChange = handler }
    }

    func push(_ change: FolderChange) {
        let handler = state.withLockedValue { state in
            // Only the first change since the last drain wakes the session: a burst of
            // changes is one wake-up, not one queued event each.
            let wasEmpty = state.changes.isEmpty
            state.changes.append(change)
            return wasEmpty ? state.onChange : nil
        }
        handler?()
    }

    /// The feed ended for good; wakes the session like a change.
    func close() {
        let handler = state.withLockedValue { state in
            state.closed = true
            return state.onChange
        }
        handler?()
    }

    var isClosed: Bool { state.withLockedValue { $0.closed } }

    /// Everything received so far, in order.
    func drain() -> [FolderChange] {
        state.withLockedValue { state in
            defer { state.changes = [] }
            return state.changes
        }
    }

    package var isEmpty: Bool { state.withLockedValue { $0.changes.isEmpty } }
}
