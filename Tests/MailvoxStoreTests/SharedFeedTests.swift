import Foundation
import MailvoxCore
import MailvoxPostgres
import Synchronization
import Testing

@testable import MailvoxStore

/// The change feed's marks (`MessageStore+SharedFeed`): one per folder a session of this node
/// listens to, so a node up for months does not keep one for every folder it ever opened.
@Suite struct SharedFeedTests {
    @Test func marksOfFoldersNobodyListensToAreDropped() async throws {
        let fixture = try StoreFixture(.postgres)
        let mailbox = fixture.mailbox
        // One session listens to INBOX throughout.
        let inbox = try fixture.store.changes(mailbox: mailbox, folder: "INBOX")
        for index in 0..<300 { try fixture.store.createFolder(mailbox: mailbox, name: "Folder \(index)") }
        // 300 sessions come and go, each listening to a folder of its own for a moment.
        for index in 0..<300 {
            _ = try fixture.store.changes(mailbox: mailbox, folder: "Folder \(index)")
            for _ in 0..<100 where fixture.store.feed.subscribedFolders().count > 1 {
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        let marks = fixture.store.heardUpTo.withLock { $0.count }
        #expect(marks <= 64 + 2 + 1, "\(marks) marks kept for the 1 folder listened to")
        // A delivery into the folder still listened to is heard: its mark was kept.
        let inboxID = try fixture.store.database.read { db in
            try MessageStore.folder(db, mailbox: mailbox, name: "INBOX").id
        }
        #expect(fixture.store.heardUpTo.withLock { $0[inboxID] } != nil)
        withExtendedLifetime(inbox) {}
    }
}

/// Notifications sent from the announcer's thread (`announceInBackground`, as `serve` runs).
@Suite struct ChangeAnnouncerTests {
    /// Folders queued while a notification is on its way leave together in the next, each once
    /// and in the order first queued; `flush` returns when all of them have left.
    @Test func foldersWaitingLeaveTogetherEachOnce() {
        let sent = Mutex<[[Int64]]>([])
        let (started, gate) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let announcer = ChangeAnnouncer { folderIDs in
            if sent.withLock({ $0.isEmpty }) {
                started.signal()
                gate.wait()
            }
            sent.withLock { $0.append(folderIDs) }
        }
        announcer.announce(1)
        started.wait()
        // The first is held in `send`; these wait behind it.
        for folderID: Int64 in [2, 2, 3, 2, 1] { announcer.announce(folderID) }
        gate.signal()
        announcer.flush()
        #expect(sent.withLock { $0 } == [[1], [2, 3, 1]])
        announcer.announce(4)
        announcer.flush()
        #expect(sent.withLock { $0.last } == [4])
    }

    /// On PostgreSQL a change made by a store that announces in the background is heard by
    /// another node's listener, named by the store and the folder.
    @Test func aBackgroundAnnouncementReachesAListener() async throws {
        let fixture = try StoreFixture(.postgres)
        let store = fixture.store
        store.announceInBackground()
        let settings = try #require(fixture.directoryFixture.sql as? PostgresDatabase).settings
        let listener = try PostgresListener(settings: settings, channel: MessageStore.changeChannel)
        final class Heard: Sendable {
            let events = Mutex<[PostgresListener.Event]>([])
        }
        let heard = Heard()
        let task = Task { await listener.run { event in heard.events.withLock { $0.append(event) } } }
        defer { task.cancel() }
        func wait(for event: PostgresListener.Event) async -> Bool {
            for _ in 0..<15_000 {
                if heard.events.withLock({ $0.contains(event) }) { return true }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return false
        }
        #expect(await wait(for: .listening(resumed: false)))
        try store.deliver(mailbox: fixture.mailbox, depositID: "d-1", message: StoreFixture.message())
        try store.storeFlags(
            mailbox: fixture.mailbox, folder: "INBOX", uids: [1], operation: .add,
            flags: MessageFlags(system: .seen))
        store.flushAnnouncements()
        let inboxID = try store.database.read { db in
            try MessageStore.folder(db, mailbox: fixture.mailbox, name: "INBOX").id
        }
        #expect(await wait(for: .notification("\(store.feedID) \(inboxID)")), "\(heard.events.withLock { $0 })")
    }
}
