import Foundation
import MailvoxCore
import Synchronization

/// Fans committed folder changes out to every subscriber of that folder (IDLE sessions, other
/// sessions of the same mailbox). In-process; on PostgreSQL the store also tells other nodes,
/// whose stores read the change back from the database (`MessageStore+SharedFeed`).
final class ChangeFeed: Sendable {
    private let subscribers = Mutex<[Int64: [UUID: AsyncStream<FolderChange>.Continuation]]>([:])

    func subscribe(folderID: Int64) -> AsyncStream<FolderChange> {
        let (stream, continuation) = AsyncStream<FolderChange>.makeStream(bufferingPolicy: .unbounded)
        let token = UUID()
        subscribers.withLock { $0[folderID, default: [:]][token] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { table in
                table[folderID]?[token] = nil
                if table[folderID]?.isEmpty == true { table[folderID] = nil }
            }
        }
        return stream
    }

    /// The folders someone listens to now.
    func subscribedFolders() -> [Int64] { subscribers.withLock { Array($0.keys) } }

    /// Whether someone listens to `folderID` now.
    func hasSubscribers(_ folderID: Int64) -> Bool { subscribers.withLock { $0[folderID] != nil } }

    func publish(_ changes: [FolderChange], folderID: Int64) {
        guard !changes.isEmpty else { return }
        let targets = subscribers.withLock { Array(($0[folderID] ?? [:]).values) }
        for continuation in targets {
            for change in changes { continuation.yield(change) }
        }
    }
}
