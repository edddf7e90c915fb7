import Foundation
import MailvoxCore
import Synchronization

/// Ends a member's change streams of a department the moment the member loses `r` in it, so
/// an IDLE session there is ended (docs/DEPARTMENTS.md) even though it sends no command.
///
/// Memberships change in whichever process runs `mailvox mailbox member remove`, so the
/// watcher reads the directory — once per `interval`, and only while some stream is watched:
/// one small query a second, shared by every session of the server.
public final class AccessWatcher: Sendable {
    let directory: Directory
    let interval: Duration
    private let state = Mutex<State>(State())

    struct State {
        var watches: [UUID: Watch] = [:]
        var polling = false
    }

    struct Watch {
        let key: MemberKey
        let continuation: AsyncStream<FolderChange>.Continuation
    }

    public init(directory: Directory, interval: Duration = .seconds(1)) {
        self.directory = directory
        self.interval = interval
    }

    /// `stream`, ending when `member` no longer holds `r` in `mailbox`.
    func watch(_ stream: AsyncStream<FolderChange>, member: MailboxID, mailbox: MailboxID) -> AsyncStream<FolderChange>
    {
        let (watched, continuation) = AsyncStream<FolderChange>.makeStream(bufferingPolicy: .unbounded)
        let id = UUID()
        let forward = Task {
            for await change in stream { continuation.yield(change) }
            continuation.finish()
        }
        continuation.onTermination = { [weak self] _ in
            forward.cancel()
            self?.state.withLock { _ = $0.watches.removeValue(forKey: id) }
        }
        let startPolling = state.withLock { state -> Bool in
            state.watches[id] = Watch(
                key: MemberKey(mailbox: mailbox.rawValue, member: member.rawValue), continuation: continuation)
            defer { state.polling = true }
            return !state.polling
        }
        if startPolling { Task { await self.poll() } }
        return watched
    }

    /// Checks every watched membership each `interval` until nothing is watched.
    private func poll() async {
        while true {
            try? await Task.sleep(for: interval)
            let watches = state.withLock { state -> [Watch] in
                if state.watches.isEmpty { state.polling = false }
                return Array(state.watches.values)
            }
            guard !watches.isEmpty else { return }
            let directory = self.directory
            // A failed read ends nothing: the store's own check still refuses every command.
            guard let rights = try? await Offload.run({ try directory.allRights() }) else { continue }
            for watch in watches where rights[watch.key]?.contains(.read) != true {
                watch.continuation.finish()
            }
        }
    }
}
