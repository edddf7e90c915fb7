import MailvoxCore

/// The selected folder's change feed: a task forwarding the store's stream into the
/// `ChangeInbox` the session drains. Started by SELECT; stopped when `SessionState` hands it
/// back on leaving the folder. A stream the store ends marks the inbox closed.
struct ChangeFeed: Sendable {
    let inbox: ChangeInbox
    private let task: Task<Void, Never>

    init(_ stream: AsyncStream<FolderChange>) {
        let inbox = ChangeInbox()
        self.inbox = inbox
        task = Task {
            for await change in stream { inbox.push(change) }
            // The store ended the stream: the session may no longer read the folder (a
            // department's member lost the right). Stopping it ourselves is no such news.
            if !Task.isCancelled { inbox.close() }
        }
    }

    func stop() {
        task.cancel()
    }
}
