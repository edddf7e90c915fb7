import Foundation
import GRDB
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxObjects
import MailvoxStore
import MailvoxTestSupport
import Testing

/// A data dir with one mailbox, `1000`, and a message store over it.
struct StoreFixture {
    let root: String
    let directoryFixture: DirectoryFixture
    let store: MessageStore
    let mailbox = MailboxID("1000")!

    /// The bucket of the `objects` backend.
    let bucket: BlockingBlobs?

    /// On SQLite (the default) or on a PostgreSQL database of its own, the spool local; or
    /// (`objects`) on PostgreSQL with the messages in a new bucket.
    init(_ backend: Backend = .sqlite) throws {
        directoryFixture = try DirectoryFixture(backend)
        root = (directoryFixture.path as NSString).deletingLastPathComponent
        try directoryFixture.add("1000")
        bucket = backend == .objects ? BlockingBlobs(try S3BlobStore(settings: try TestBuckets.freshNow())) : nil
        store = MessageStore(
            database: directoryFixture.sql, spoolDir: root + "/spool", objects: bucket,
            masterKey: directoryFixture.master)
    }

    static func message(
        subject: String = "Voicemail", body: String = "Hello", from: String = "\"Ada Lovelace\" <+4930123456@localhost>"
    )
        -> Data
    {
        Data(
            "From: \(from)\r\nTo: <1000@localhost>\r\nSubject: \(subject)\r\nMessage-ID: <\(UUID())@localhost>\r\n\r\n\(body)\r\n"
                .utf8)
    }

    /// The message files: under the data dir's `spool/`, or the bucket's objects under `spool/`.
    func messageFiles() throws -> [String] {
        if let bucket { return try bucket.allKeys(prefix: try BlobPrefix("spool/")).map(\.value) }
        return files().filter { $0.contains("/spool/") }
    }

    /// Every regular file under the data dir.
    func files() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var paths: [String] = []
        while let next = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + next, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                paths.append(root + "/" + next)
            }
        }
        return paths
    }
}

@Suite struct MessageStoreTests {
    @Test(arguments: Backend.allCases) func deliveredMessagesReadBackAndAreCounted(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let first = StoreFixture.message(body: String(repeating: "spoken words ", count: 10_000))
        let uid1 = try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "d-1", message: first)
        let uid2 = try fixture.store.deliver(
            mailbox: fixture.mailbox, depositID: "d-2", message: StoreFixture.message())
        #expect(uid1 == 1)
        #expect(uid2 == 2)
        #expect(try fixture.store.read(mailbox: fixture.mailbox, folder: "INBOX", uid: uid1) == first)
        #expect(
            try fixture.store.read(mailbox: fixture.mailbox, folder: "INBOX", uid: uid1, offset: 70_000, length: 100)
                == first[70_000..<70_100])
        let status = try fixture.store.status(mailbox: fixture.mailbox, folder: "INBOX")
        #expect(status.messages == 2)
        #expect(status.unseen == 2)
        #expect(status.uidNext == 3)
        #expect(status.highestModseq >= 3)
        #expect(status.size == first.count + StoreFixture.message().count)
        let counts = try fixture.store.messageCounts(mailbox: fixture.mailbox)
        #expect(counts.map(\.folder) == ["INBOX", "Saved", "Trash", "Greetings", "Recently Deleted"])
        #expect(counts.map(\.messages) == [2, 0, 0, 0, 0])
    }

    @Test(arguments: Backend.allCases) func aRetriedDepositStoresOneMessage(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let message = StoreFixture.message()
        let first = try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "same", message: message)
        let again = try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "same", message: message)
        #expect(first == again)
        #expect(try fixture.store.messages(mailbox: fixture.mailbox, folder: "INBOX").count == 1)
        #expect(try fixture.messageFiles().count == 1)
    }

    /// The retried deposit's answer comes from the row the first delivery made, even after its
    /// flags moved the file to cur/: no second file appears in new/.
    @Test(arguments: Backend.allCases) func aRetriedDepositAfterAFlagChangeStoresNothing(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let message = StoreFixture.message()
        let first = try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "same", message: message)
        try fixture.store.storeFlags(
            mailbox: fixture.mailbox, folder: "INBOX", uids: [first], operation: .add,
            flags: MessageFlags(system: .seen))
        let again = try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "same", message: message)
        #expect(again == first)
        let spoolFiles = try fixture.messageFiles()
        #expect(spoolFiles.count == 1)
        // In a bucket the name carries no flags; in Maildir the file moved to cur/ with `S`.
        let name = backend == .objects ? "/same" : "/cur/same:2,S"
        #expect(spoolFiles.first?.hasSuffix(name) == true, "\(spoolFiles)")
        #expect(throws: MailStoreError.noSuchFolder("Nowhere")) {
            try fixture.store.deliver(mailbox: fixture.mailbox, folder: "Nowhere", depositID: "same", message: message)
        }
    }

    /// Delivery no longer checks a folder's directories each time: one that went missing after
    /// the folder's first delivery is made again when the rename needs it.
    @Test(arguments: Backend.maildir) func aMissingNewDirectoryIsMadeAgain(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let seen = try fixture.store.deliver(
            mailbox: fixture.mailbox, depositID: "seen", message: StoreFixture.message(),
            flags: MessageFlags(system: .seen))
        let inCur = try #require(fixture.files().first { $0.contains("/spool/") })
        let folder = ((inCur as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        try FileManager.default.removeItem(atPath: folder + "/new")
        let message = StoreFixture.message()
        let uid = try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "fresh", message: message)
        #expect(uid == seen + 1)
        #expect(try fixture.store.read(mailbox: fixture.mailbox, folder: "INBOX", uid: uid) == message)
        #expect(FileManager.default.fileExists(atPath: folder + "/new/fresh"))
    }

    @Test(arguments: Backend.maildir) func aMissingCurDirectoryIsMadeAgainWhenAFlagMovesAMessageThere(
        _ backend: Backend
    ) throws {
        let fixture = try StoreFixture(backend)
        let uid = try fixture.store.deliver(
            mailbox: fixture.mailbox, depositID: "fresh", message: StoreFixture.message())
        let inNew = try #require(fixture.files().first { $0.contains("/spool/") })
        let folder = ((inNew as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        try FileManager.default.removeItem(atPath: folder + "/cur")
        try fixture.store.storeFlags(
            mailbox: fixture.mailbox, folder: "INBOX", uids: [uid], operation: .add, flags: MessageFlags(system: .seen))
        #expect(FileManager.default.fileExists(atPath: folder + "/cur/fresh:2,S"))
        #expect(!FileManager.default.fileExists(atPath: inNew))
    }

    @Test(arguments: Backend.maildir) func filesLiveInNewUnderTheFolderIDAndHoldNoPlaintext(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        try fixture.store.deliver(
            mailbox: fixture.mailbox, depositID: "abc", message: StoreFixture.message(subject: "Secret subject"))
        let spoolFiles = try fixture.messageFiles()
        #expect(spoolFiles.count == 1)
        let path = try #require(spoolFiles.first)
        #expect(path.range(of: #"/spool/1000/[0-9]+/new/abc$"#, options: .regularExpression) != nil, "\(path)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes.prefix(4) == Data("MVX1".utf8))
    }

    /// docs/DESIGN.md §5.4's goal: grep for a caller's number or name over the data dir finds nothing.
    @Test(arguments: Backend.allCases) func callerDataIsNowhereOnDiskInTheClear(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        for index in 0..<5 {
            try fixture.store.deliver(
                mailbox: fixture.mailbox, depositID: "d\(index)",
                message: StoreFixture.message(
                    subject: "Voicemail from Jürgen Groß", body: "Caller +4930987654 Jürgen Groß",
                    from: "\"Jürgen Groß\" <+4930987654@localhost>"))
        }
        try fixture.store.storeFlags(
            mailbox: fixture.mailbox, folder: "INBOX", uids: [1, 2], operation: .add, flags: MessageFlags(system: .seen)
        )
        try fixture.store.copy(mailbox: fixture.mailbox, from: "INBOX", uids: [3], to: "Saved")
        #expect(
            try fixture.store.metadata(mailbox: fixture.mailbox, folder: "INBOX", uid: 1).headers.contains(
                "Jürgen Groß"))
        let needles = ["+4930987654", "4930987654", "Jürgen", "Groß", "Gro\u{00df}".uppercased(), "Voicemail from"]
        for path in fixture.files() {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            for needle in needles {
                #expect(data.range(of: Data(needle.utf8)) == nil, "\(needle) found in \(path)")
            }
        }
    }

    @Test(arguments: Backend.maildir) func flagsChangeModseqAndTheMaildirSuffix(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let uid = try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message())
        let before = try #require(try fixture.store.messages(mailbox: fixture.mailbox, folder: "INBOX").first)
        var result = try fixture.store.storeFlags(
            mailbox: fixture.mailbox, folder: "INBOX", uids: [uid], operation: .add,
            flags: MessageFlags(system: [.seen, .flagged], keywords: ["$Forwarded"]))
        #expect(result.changed.count == 1)
        #expect(result.changed[0].modseq > before.modseq)
        let spool = try fixture.messageFiles()
        #expect(spool.count == 1)
        #expect(spool[0].contains("/cur/") && spool[0].hasSuffix(":2,FS"), "\(spool)")

        result = try fixture.store.storeFlags(
            mailbox: fixture.mailbox, folder: "INBOX", uids: [uid], operation: .remove,
            flags: MessageFlags(system: .flagged))
        #expect(result.changed.first?.flags == MessageFlags(system: .seen, keywords: ["$Forwarded"]))
        #expect(fixture.files().contains { $0.hasSuffix(":2,S") })

        // RFC 7162 UNCHANGEDSINCE: a modseq older than the message's fails that message.
        result = try fixture.store.storeFlags(
            mailbox: fixture.mailbox, folder: "INBOX", uids: [uid], operation: .replace, flags: MessageFlags(),
            unchangedSince: before.modseq)
        #expect(result.failed == [uid])
        #expect(result.changed.isEmpty)

        // A no-op change does not bump modseq.
        let modseq = try fixture.store.status(mailbox: fixture.mailbox, folder: "INBOX").highestModseq
        try fixture.store.storeFlags(
            mailbox: fixture.mailbox, folder: "INBOX", uids: [uid], operation: .add, flags: MessageFlags(system: .seen))
        #expect(try fixture.store.status(mailbox: fixture.mailbox, folder: "INBOX").highestModseq == modseq)
        #expect(try fixture.store.read(mailbox: fixture.mailbox, folder: "INBOX", uid: uid).count > 0)
    }

    @Test func expungedMessagesAreGoneAndTheirUIDsNeverReturn() throws {
        let fixture = try StoreFixture()
        for index in 0..<3 {
            try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "d\(index)", message: StoreFixture.message())
        }
        let removed = try fixture.store.expunge(
            mailbox: fixture.mailbox, folder: "INBOX", uids: [2, 3, 99], deletedBy: "test")
        #expect(removed == [2, 3])
        #expect(try fixture.store.messages(mailbox: fixture.mailbox, folder: "INBOX").map(\.uid) == [1])
        // The two are kept in Recently Deleted under new names; purged, only one file is left.
        #expect(try fixture.messageFiles().count == 3)
        #expect(try fixture.store.purgeDeleted(before: Date().addingTimeInterval(60)) == 2)
        #expect(try fixture.messageFiles().count == 1)
        #expect(throws: MailStoreError.noSuchMessage(uid: 2)) {
            try fixture.store.read(mailbox: fixture.mailbox, folder: "INBOX", uid: 2)
        }
        #expect(try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message()) == 4)
        #expect(try fixture.directoryFixture.scalar("SELECT COUNT(*) FROM tombstone") == "0")
        #expect(
            try fixture.directoryFixture.scalar(
                "SELECT COUNT(*) FROM expunged JOIN folder ON folder.id = expunged.folder_id WHERE folder.name = 'INBOX'"
            )
                == "2")
    }

    @Test func tombstonesLeftByACrashAreReplayed() throws {
        let fixture = try StoreFixture()
        let orphan = fixture.root + "/spool/orphan"
        try FileManager.default.createDirectory(atPath: fixture.root + "/spool", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: orphan, contents: Data("x".utf8)))
        try fixture.directoryFixture.database.write { db in
            try db.execute(sql: "INSERT INTO tombstone (path) VALUES (?)", arguments: [orphan])
        }
        try fixture.store.replayTombstones()
        #expect(!FileManager.default.fileExists(atPath: orphan))
        #expect(try fixture.directoryFixture.scalar("SELECT COUNT(*) FROM tombstone") == "0")
    }

    @Test(arguments: Backend.allCases) func copyAndMoveMapUIDsAndShareTheSealedFile(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let messages = (0..<3).map { StoreFixture.message(body: "message \($0)") }
        for (index, message) in messages.enumerated() {
            try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "d\(index)", message: message)
        }
        try fixture.store.storeFlags(
            mailbox: fixture.mailbox, folder: "INBOX", uids: [1], operation: .add, flags: MessageFlags(system: .flagged)
        )
        let copied = try fixture.store.copy(mailbox: fixture.mailbox, from: "INBOX", uids: [1, 2], to: "Saved")
        #expect(copied.map(\.source) == [1, 2])
        #expect(copied.map(\.target) == [1, 2])
        #expect(try fixture.store.read(mailbox: fixture.mailbox, folder: "Saved", uid: 1) == messages[0])
        #expect(try fixture.store.messages(mailbox: fixture.mailbox, folder: "Saved").first?.flags.system == .flagged)

        let moved = try fixture.store.copy(
            mailbox: fixture.mailbox, from: "INBOX", uids: [3, 2], to: "Saved", expungingSource: true)
        #expect(moved.map(\.source) == [2, 3])
        #expect(moved.map(\.target) == [3, 4])
        #expect(try fixture.store.messages(mailbox: fixture.mailbox, folder: "INBOX").map(\.uid) == [1])
        #expect(try fixture.store.read(mailbox: fixture.mailbox, folder: "Saved", uid: 4) == messages[2])
        #expect(try fixture.store.read(mailbox: fixture.mailbox, folder: "Saved", uid: 3) == messages[1])
        #expect(throws: MailStoreError.noSuchFolder("Nowhere")) {
            try fixture.store.copy(mailbox: fixture.mailbox, from: "INBOX", uids: [1], to: "Nowhere")
        }
    }

    @Test(arguments: Backend.allCases) func theChangeFeedSeesCommittedChanges(_ backend: Backend) async throws {
        let fixture = try StoreFixture(backend)
        let changes = try fixture.store.changes(mailbox: fixture.mailbox, folder: "INBOX")
        let uid = try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message())
        try fixture.store.storeFlags(
            mailbox: fixture.mailbox, folder: "INBOX", uids: [uid], operation: .add, flags: MessageFlags(system: .seen))
        try fixture.store.expunge(mailbox: fixture.mailbox, folder: "INBOX", uids: [uid], deletedBy: "test")
        var seen: [FolderChange] = []
        for await change in changes {
            seen.append(change)
            if seen.count == 3 { break }
        }
        guard case .added(uid: uid, _) = seen[0], case .flags(uid: uid, let flags, _) = seen[1],
            case .expunged(uids: [uid], _) = seen[2]
        else {
            Issue.record("unexpected changes \(seen)")
            return
        }
        #expect(flags.system == .seen)
    }

    @Test func removingAMailboxTakesItsMessagesAndFiles() throws {
        let fixture = try StoreFixture()
        try fixture.directoryFixture.add("2000")
        let other = MailboxID("2000")!
        try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message())
        try fixture.store.deliver(mailbox: other, message: StoreFixture.message())
        try fixture.directoryFixture.directory.removeMailbox(fixture.mailbox)
        try fixture.store.removeSpool(of: fixture.mailbox)
        #expect(try fixture.directoryFixture.scalar("SELECT COUNT(*) FROM message") == "1")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/spool/1000"))
        #expect(try fixture.store.messages(mailbox: other, folder: "INBOX").count == 1)
    }

    @Test(arguments: Backend.allCases) func concurrentWritersGetUniqueIncreasingUIDs(_ backend: Backend) async throws {
        let fixture = try StoreFixture(backend)
        let store = fixture.store
        let mailbox = fixture.mailbox
        let uids = try await withThrowingTaskGroup(of: [UInt32].self) { group in
            for writer in 0..<4 {
                group.addTask {
                    var mine: [UInt32] = []
                    for index in 0..<10 {
                        mine.append(
                            try store.deliver(
                                mailbox: mailbox, depositID: "w\(writer)-\(index)", message: StoreFixture.message()))
                        if index % 3 == 0, let last = mine.last {
                            try store.storeFlags(
                                mailbox: mailbox, folder: "INBOX", uids: [last], operation: .add,
                                flags: MessageFlags(system: .seen))
                        }
                    }
                    // Each writer's own UIDs increase: a later commit never gets a smaller UID.
                    #expect(mine == mine.sorted())
                    return mine
                }
            }
            var all: [UInt32] = []
            for try await batch in group { all += batch }
            return all
        }
        #expect(Set(uids).count == 40)
        #expect(Set(uids) == Set(1...40))
        let summaries = try fixture.store.messages(mailbox: fixture.mailbox, folder: "INBOX")
        #expect(summaries.count == 40)
        #expect(
            try fixture.store.status(mailbox: fixture.mailbox, folder: "INBOX").highestModseq >= summaries.map(\.modseq)
                .max()!)
    }
}

/// STORE over many messages: one statement reads them with the folder locked, and their rows
/// change 200 to a statement.
@Suite struct ManyFlagsTests {
    @Test(arguments: [Backend.sqlite, .postgres]) func aStoreOverManyMessagesChangesEachOnce(_ backend: Backend) throws
    {
        let fixture = try StoreFixture(backend)
        let (store, mailbox) = (fixture.store, fixture.mailbox)
        for index in 0..<450 {
            try store.deliver(mailbox: mailbox, depositID: "d-\(index)", message: StoreFixture.message())
        }
        let before = try store.status(mailbox: mailbox, folder: "INBOX").highestModseq
        // UIDs 1…450 with a gap, one already seen (unchanged), one that does not exist.
        try store.storeFlags(
            mailbox: mailbox, folder: "INBOX", uids: [7], operation: .add, flags: MessageFlags(system: .seen))
        let wanted = Array(1...450).filter { $0 != 100 }.map(UInt32.init) + [999]
        let (changed, failed) = try store.storeFlags(
            mailbox: mailbox, folder: "INBOX", uids: wanted, operation: .add,
            flags: MessageFlags(system: .flagged, keywords: ["$Voicemail"]))
        #expect(failed.isEmpty)
        #expect(changed.map(\.uid) == wanted.dropLast())
        #expect(changed.map(\.modseq) == Array(before + 2...before + 449 + 1))
        let messages = try store.messages(mailbox: mailbox, folder: "INBOX")
        #expect(messages.count == 450)
        for message in messages {
            let flagged = message.uid != 100
            #expect(message.flags.system.contains(.flagged) == flagged, "UID \(message.uid)")
            #expect(message.flags.keywords == (flagged ? ["$Voicemail"] : []), "UID \(message.uid)")
            #expect(message.flags.system.contains(.seen) == (message.uid == 7), "UID \(message.uid)")
        }
        #expect(try store.status(mailbox: mailbox, folder: "INBOX").highestModseq == before + 450)
        // A conditional STORE leaves what changed since its MODSEQ alone and reports it.
        let (_, refused) = try store.storeFlags(
            mailbox: mailbox, folder: "INBOX", uids: [1, 100, 450], operation: .remove,
            flags: MessageFlags(system: .flagged), unchangedSince: before)
        #expect(refused == [1, 450])
    }
}

/// `rememberingObjects`: what a serving store wrote or read from the bucket lately is read
/// from memory, within its byte bound.
@Suite struct RememberedObjectsTests {
    @Test func aServingStoreReadsWhatItWroteAndReadFromMemory() throws {
        let fixture = try StoreFixture(.objects)
        let bucket = try #require(fixture.bucket)
        let message = StoreFixture.message(body: "kept")
        func store(remembering bytes: Int) -> MessageStore {
            MessageStore(
                database: fixture.directoryFixture.sql, spoolDir: fixture.root + "/spool", objects: bucket,
                masterKey: fixture.directoryFixture.master, rememberingObjects: bytes)
        }
        let serving = store(remembering: 1 << 20)
        let written = try serving.deliver(mailbox: fixture.mailbox, depositID: "d-1", message: message)
        let other = try store(remembering: 0).deliver(mailbox: fixture.mailbox, depositID: "d-2", message: message)
        #expect(try serving.read(mailbox: fixture.mailbox, folder: "INBOX", uid: other) == message, "read once")
        // With the objects gone from the bucket behind its back, the serving store still has
        // both; a store that keeps nothing, and one whose bound is smaller than an object, have neither.
        for key in try fixture.messageFiles() { try bucket.delete(try BlobKey(key)) }
        for uid in [written, other] {
            #expect(try serving.read(mailbox: fixture.mailbox, folder: "INBOX", uid: uid) == message)
            for bare in [store(remembering: 0), store(remembering: 100)] {
                #expect(throws: MailStoreError.self) {
                    try bare.read(mailbox: fixture.mailbox, folder: "INBOX", uid: uid)
                }
            }
        }
        // A copy is made from the kept bytes, and its object is in the bucket for every node.
        try serving.copy(mailbox: fixture.mailbox, from: "INBOX", uids: [written], to: "Saved")
        #expect(try store(remembering: 0).read(mailbox: fixture.mailbox, folder: "Saved", uid: 1) == message)
    }
}

@Suite struct KeyRotationStoreTests {
    @Test func messagesReadUnderTheNewMasterKeyAfterRewrapping() throws {
        let fixture = try StoreFixture()
        let message = StoreFixture.message(body: "before rotation")
        let uid = try fixture.store.deliver(mailbox: fixture.mailbox, message: message)
        try fixture.directoryFixture.directory.createNodeKey(master: fixture.directoryFixture.master)
        let next = MasterKey.generate()
        #expect(try fixture.directoryFixture.directory.rewrapKeys(from: fixture.directoryFixture.master, to: next) == 2)
        #expect(try fixture.directoryFixture.directory.masterKeyIDs() == [next.id])
        let rotated = MessageStore(
            database: fixture.directoryFixture.database, spoolDir: fixture.root + "/spool", masterKey: next)
        #expect(try rotated.read(mailbox: fixture.mailbox, folder: "INBOX", uid: uid) == message)
        let stale = MessageStore(
            database: fixture.directoryFixture.database, spoolDir: fixture.root + "/spool",
            masterKey: fixture.directoryFixture.master)
        #expect(throws: CryptoError.self) { try stale.read(mailbox: fixture.mailbox, folder: "INBOX", uid: uid) }
    }
}
