import Foundation
import MailvoxCore
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
