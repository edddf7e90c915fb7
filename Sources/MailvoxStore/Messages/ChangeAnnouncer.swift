import Foundation
import Synchronization

/// Sends the change feed's notifications to the other nodes from a thread of its own, so the
/// caller of a write — an IMAP command, a delivery — has its answer one database round trip
/// sooner (`MessageStore.announceInBackground`, docs/SCALE-OUT.md). Folders waiting are sent
/// together and each once: a notification only names a folder, and a node reads what changed
/// in it from the database, so a burst of writes to one folder needs one.
final class ChangeAnnouncer: Sendable {
    private struct State {
        var pending: [Int64] = []
        var draining = false
    }

    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "mailvox.change-announcer")
    private let send: @Sendable ([Int64]) -> Void

    /// `send` announces the folders it is given; it runs on the announcer's one thread.
    init(send: @escaping @Sendable ([Int64]) -> Void) {
        self.send = send
    }

    /// Queues `folderID` for the next notification; never waits.
    func announce(_ folderID: Int64) {
        let start = state.withLock { state -> Bool in
            if !state.pending.contains(folderID) { state.pending.append(folderID) }
            if state.draining { return false }
            state.draining = true
            return true
        }
        if start { queue.async { self.drain() } }
    }

    private func drain() {
        while true {
            let batch = state.withLock { state -> [Int64] in
                defer { state.pending = [] }
                if state.pending.isEmpty { state.draining = false }
                return state.pending
            }
            if batch.isEmpty { return }
            send(batch)
        }
    }

    /// Returns once every folder announced before the call has been sent.
    func flush() {
        queue.sync {}
    }
}
