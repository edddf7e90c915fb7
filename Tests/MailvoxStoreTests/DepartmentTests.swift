import Foundation
import MailvoxCore
import MailvoxStore
import Testing

/// Departments through the real directory and store (docs/DEPARTMENTS.md): a member's login
/// reaches the department under `Shared/`, the member's store enforces every right, names
/// never reach another mailbox, and a removed member loses the mailbox at once.
@Suite struct DepartmentTests {
    let fixture: StoreFixture
    let directory: Directory
    let authenticator: DirectoryAuthenticator
    /// 2100 "Support" is the department; 2000 "Ada" and 2001 "Bob" are people; 2101 "Sales"
    /// is a department 2000 is no member of.
    let support = MailboxID("2100")!
    let ada = MailboxID("2000")!
    let bob = MailboxID("2001")!
    static let inbox = "Shared/2100 Support/INBOX"

    init() throws {
        fixture = try StoreFixture()
        directory = fixture.directoryFixture.directory
        try fixture.directoryFixture.add("2100", name: "Support", emails: ["support@example.com"])
        try fixture.directoryFixture.add("2101", name: "Sales")
        try fixture.directoryFixture.add("2000", name: "Ada", emails: ["ada@example.com", "support@example.com"])
        try fixture.directoryFixture.add("2001", name: "Bob", emails: ["bob@example.com"])
        authenticator = DirectoryAuthenticator(
            directory: directory, store: fixture.store, limits: .default, auth: Configuration.Auth())
        try fixture.store.createFolder(mailbox: support, name: "Cases")
        for mailbox in ["2100", "2101"] {
            _ = try fixture.store.deliver(
                mailbox: MailboxID(mailbox)!, depositID: "d-\(mailbox)", message: StoreFixture.message(subject: mailbox)
            )
        }
    }

    func login(_ id: String, _ password: String = "correct-horse") async throws -> any MailStore {
        guard
            case .success(let store) = await authenticator.authenticate(
                mailbox: id, password: password, client: ClientAddress("192.0.2.9"))
        else { throw MailStoreError.noPermission("login of \(id) refused") }
        return store
    }

    func member(_ rights: String) async throws -> any MailStore {
        try directory.setMember(ada, of: support, rights: Rights(letters: rights)!)
        return try await login("2000")
    }

    /// Whether `work` was refused with NOPERM.
    static func refused(_ work: () async throws -> Void) async -> Bool {
        do {
            try await work()
            return false
        } catch {
            if case .noPermission = error as? MailStoreError { return true }
            return false
        }
    }

    @Test func aMembersLoginShowsTheDepartmentUnderTheSharedNamespace() async throws {
        let outsider = try await login("2001")
        #expect(try await outsider.folders().allSatisfy { !$0.name.hasPrefix("Shared") })

        let store = try await member("lrswtei")
        let folders = try await store.folders()
        let names = folders.map(\.name)
        #expect(names.contains("INBOX") && names.contains("Saved"))
        #expect(names.contains("Shared") && names.contains("Shared/2100 Support"))
        #expect(names.contains(Self.inbox) && names.contains("Shared/2100 Support/Saved"))
        #expect(!names.contains { $0.contains("2101") })
        // The levels above the folders only hold them; the folders carry no special use.
        #expect(folders.first { $0.name == "Shared/2100 Support" }?.selectable == false)
        #expect(folders.first { $0.name == "Shared/2100 Support/Trash" }?.specialUse == nil)

        let snapshot = try await store.snapshot(of: Self.inbox)
        #expect(snapshot.messages.count == 1)
        #expect(snapshot.status.name == Self.inbox)
        #expect(snapshot.status.rights == Rights(letters: "lrswtei"))
        let uid = snapshot.messages[0].uid
        let bytes = try await store.content(in: Self.inbox, uid: uid, range: nil)
        #expect(String(decoding: bytes, as: UTF8.self).contains("Subject: 2100"))
        // The department's own login sees the same folder, with the same message.
        let own = try await login("2100")
        #expect(try await own.snapshot(of: "INBOX").messages.map(\.uid) == [uid])
    }

    @Test func flagsArePerMailboxSoOneMembersSeenIsEveryonesSeen() async throws {
        let adaStore = try await member("lrswtei")
        try directory.setMember(bob, of: support, rights: .member)
        let bobStore = try await login("2001")
        let uid = try await adaStore.snapshot(of: Self.inbox).messages[0].uid
        let changes = try await bobStore.changes(of: Self.inbox)
        _ = try await adaStore.storeFlags(
            in: Self.inbox, uids: [uid], operation: .add, flags: MessageFlags(system: .seen), unchangedSince: nil)
        var iterator = changes.makeAsyncIterator()
        guard case .flags(uid, let flags, _) = await iterator.next() else {
            Issue.record("Bob's feed did not see Ada's flag change")
            return
        }
        #expect(flags.system.contains(.seen))
        #expect(try await bobStore.snapshot(of: Self.inbox).messages[0].flags.system.contains(.seen))
    }

    /// With every right, each operation of `everyOperationNeedsItsRight` goes through.
    @Test func everyRightAllowsItsOperation() async throws {
        let store = try await member("lrswipkxtea")
        let uid = try await store.snapshot(of: Self.inbox).messages[0].uid
        _ = try await store.content(in: Self.inbox, uid: uid, range: nil)
        for flags in [MessageFlags(system: .seen), MessageFlags(keywords: ["Called"]), MessageFlags(system: .deleted)] {
            _ = try await store.storeFlags(
                in: Self.inbox, uids: [uid], operation: .add, flags: flags, unchangedSince: nil)
        }
        _ = try await store.append(
            to: Self.inbox, message: Array(StoreFixture.message()), flags: MessageFlags(), internalDate: nil)
        #expect(try await store.expunge(in: Self.inbox, uids: [uid]) == [uid])
        // COPY from the member's own mailbox into the department, sealed to the department's key.
        let own = try await store.append(
            to: "Saved", message: Array(StoreFixture.message(subject: "mine")), flags: MessageFlags(),
            internalDate: nil)
        let copied = try await store.copy(
            from: "Saved", uids: [own.summary.uid], to: "Shared/2100 Support/Cases", removingSource: true)
        let department = try await login("2100")
        let bytes = try await department.content(in: "Cases", uid: copied.pairs[0].target, range: nil)
        #expect(String(decoding: bytes, as: UTF8.self).contains("Subject: mine"))
        #expect(try await store.snapshot(of: "Saved").messages.isEmpty)
        try await store.createFolder("Shared/2100 Support/Escalated")
        try await store.deleteFolder("Shared/2100 Support/Cases")
        #expect(try await store.accessList(of: Self.inbox).count == 2)
        let names = try directory.folders(of: support).map(\.name)
        #expect(names.contains("Escalated") && !names.contains("Cases"))
        // The expunged voicemail is recoverable in the department, with the member as its deleter.
        let deleted = try fixture.store.deletedMessages(mailbox: support)
        #expect(deleted.contains { $0.folder == "INBOX" && $0.deletedBy.hasPrefix("2000 from ") }, "\(deleted)")
        // So is the copy in Cases, whose DELETE a member made.
        #expect(deleted.contains { $0.folder == "Cases" && $0.deletedBy.hasPrefix("2000 from ") }, "\(deleted)")
    }

    /// Each right taken away alone: the operation that needs it is refused NOPERM and nothing
    /// changes.
    @Test(arguments: ["r", "s", "w", "t", "e", "i", "k", "x", "a"])
    func everyOperationNeedsItsRight(_ missing: Character) async throws {
        let rights = Rights.all.letters.filter { $0 != missing }
        let store = try await member(String(rights))
        let before = try await login("2100").snapshot(of: "INBOX")
        let uid = before.messages[0].uid
        let refused: Bool
        switch missing {
        case "r":
            refused = await Self.refused { _ = try await store.content(in: Self.inbox, uid: uid, range: nil) }
        case "s":
            refused = await Self.refused {
                _ = try await store.storeFlags(
                    in: Self.inbox, uids: [uid], operation: .add, flags: MessageFlags(system: .seen),
                    unchangedSince: nil)
            }
        case "w":
            refused = await Self.refused {
                _ = try await store.storeFlags(
                    in: Self.inbox, uids: [uid], operation: .add, flags: MessageFlags(keywords: ["Called"]),
                    unchangedSince: nil)
            }
        case "t":
            refused = await Self.refused {
                _ = try await store.storeFlags(
                    in: Self.inbox, uids: [uid], operation: .add, flags: MessageFlags(system: .deleted),
                    unchangedSince: nil)
            }
        case "e":
            refused = await Self.refused { _ = try await store.expunge(in: Self.inbox, uids: [uid]) }
        case "i":
            refused = await Self.refused {
                _ = try await store.append(
                    to: Self.inbox, message: Array(StoreFixture.message()), flags: MessageFlags(), internalDate: nil)
            }
        case "k":
            refused = await Self.refused { try await store.createFolder("Shared/2100 Support/Escalated") }
        case "x":
            refused = await Self.refused { try await store.deleteFolder("Shared/2100 Support/Cases") }
        default:
            refused = await Self.refused { _ = try await store.accessList(of: Self.inbox) }
        }
        #expect(refused, "without \(missing)")
        let after = try await login("2100").snapshot(of: "INBOX")
        #expect(after == before)
        #expect(try directory.folders(of: support).map(\.name).contains("Cases"))
        #expect(!(try directory.folders(of: support).map(\.name).contains("Escalated")))
    }

    /// RFC 4314 §4: a STORE with one permitted flag among others sets that one and leaves the
    /// rest; a replace needs every flag right.
    @Test func aStoreSetsWhatTheRightsAllowAndLeavesTheRest() async throws {
        let store = try await member("lrs")
        let uid = try await store.snapshot(of: Self.inbox).messages[0].uid
        let update = try await store.storeFlags(
            in: Self.inbox, uids: [uid], operation: .add, flags: MessageFlags(system: [.seen, .flagged]),
            unchangedSince: nil)
        #expect(update.changed.map(\.flags) == [MessageFlags(system: .seen)])
        #expect(
            await Self.refused {
                _ = try await store.storeFlags(
                    in: Self.inbox, uids: [uid], operation: .replace, flags: MessageFlags(system: .seen),
                    unchangedSince: nil)
            })
        #expect(try await login("2100").snapshot(of: "INBOX").messages[0].flags == MessageFlags(system: .seen))
    }

    @Test func aMoveOutNeedsDeleteAndExpungeAndLeavesNoCopyWhenRefused() async throws {
        let store = try await member("lrsi")
        let uid = try await store.snapshot(of: Self.inbox).messages[0].uid
        let refused = await Self.refused {
            _ = try await store.copy(from: Self.inbox, uids: [uid], to: "Saved", removingSource: true)
        }
        #expect(refused)
        #expect(try await store.snapshot(of: "Saved").messages.isEmpty)

        // A copy to the member's own mailbox is sealed to the member's key and readable there.
        let copied = try await store.copy(from: Self.inbox, uids: [uid], to: "Saved", removingSource: false)
        #expect(copied.pairs.count == 1)
        let mine = try await login("2000")
        let bytes = try await mine.content(in: "Saved", uid: copied.pairs[0].target, range: nil)
        #expect(String(decoding: bytes, as: UTF8.self).contains("Subject: 2100"))
        #expect(try await store.snapshot(of: Self.inbox).messages.count == 1)
    }

    @Test func namesNeverReachAnotherMailbox() async throws {
        let store = try await member("lrswtei")
        for name in [
            "Shared/2101 Sales/INBOX", "Shared/2101/INBOX", "Shared/9999 Nobody/INBOX", "shared/2100 Support/INBOX",
            "SHARED/2100 Support/INBOX", "Shared/2100 SUPPORT/INBOX", "Shared/2100/INBOX", "Shared/2100 Support /INBOX",
            "Shared/ 2100 Support/INBOX",
        ] {
            #expect(await Self.refused { _ = try await store.snapshot(of: name) }, "\(name)")
            #expect(await Self.refused { try await store.createFolder(name) }, "\(name)")
            #expect(
                await Self.refused {
                    _ = try await store.append(
                        to: name, message: Array(StoreFixture.message()), flags: MessageFlags(), internalDate: nil)
                }, "\(name)")
        }
        // Dot levels inside a shared mailbox are no way out of it.
        for name in ["Shared/2100 Support/../2101 Sales/INBOX", "Shared/2100 Support/./INBOX"] {
            await #expect(throws: MailStoreError.self) { _ = try await store.snapshot(of: name) }
            await #expect(throws: MailStoreError.self) { try await store.createFolder(name) }
        }
        #expect(try await login("2101").snapshot(of: "INBOX").messages.count == 1)
        #expect(!(try directory.folders(of: MailboxID("2101")!).map(\.name).contains { $0.contains("..") }))
        // A copy or rename cannot carry anything across either.
        let uid = try await store.snapshot(of: Self.inbox).messages[0].uid
        #expect(
            await Self.refused {
                _ = try await store.copy(
                    from: Self.inbox, uids: [uid], to: "Shared/2101 Sales/INBOX", removingSource: false)
            })
        #expect(await Self.refused { try await store.renameFolder("Saved", to: "Shared/2100 Support/Mine") })
    }

    @Test func aRemovedMemberLosesTheMailboxAtOnceAndTheirFeedEnds() async throws {
        let store = try await member("lrswtei")
        let feed = try await store.changes(of: Self.inbox)
        try directory.removeMember(ada, of: support)
        #expect(await Self.refused { _ = try await store.snapshot(of: Self.inbox) })
        #expect(try await store.folders().allSatisfy { !$0.name.hasPrefix("Shared") })
        // The watcher polls once a second; the feed ends soon after.
        let ended = Task {
            for await _ in feed {}
            return true
        }
        let timeout = Task {
            try await Task.sleep(for: .seconds(10))
            ended.cancel()
        }
        #expect(await ended.value)
        timeout.cancel()
    }

    @Test func aDepartmentWithoutItsOwnLoginIsReachedOnlyByItsMembers() async throws {
        try directory.setLogin(support, enabled: false)
        await #expect(throws: MailStoreError.self) { _ = try await login("2100") }
        let store = try await member("lr")
        #expect(try await store.snapshot(of: Self.inbox).messages.count == 1)
        #expect(try directory.mailbox(support)?.login == false)
    }

    @Test func administratorsShareAndOthersCannot() async throws {
        let admin = try await member("lrswteia")
        try await admin.setAccess(of: Self.inbox, identifier: "2001", rights: Rights(letters: "lr"))
        #expect(try directory.members(of: support).map(\.member.rawValue) == ["2000", "2001"])
        let list = try await admin.accessList(of: Self.inbox)
        #expect(list.first == ACLEntry(identifier: "2100", rights: .all))
        #expect(list.contains(ACLEntry(identifier: "2001", rights: Rights(letters: "lr")!)))
        // The owner's rights are fixed; unknown identifiers are refused.
        #expect(await Self.refused { try await admin.setAccess(of: Self.inbox, identifier: "2100", rights: nil) })
        #expect(await Self.refused { try await admin.setAccess(of: Self.inbox, identifier: "anyone", rights: .all) })
        #expect(await Self.refused { try await admin.setAccess(of: Self.inbox, identifier: "7777", rights: .all) })

        let reader = try await login("2001")
        #expect(try await reader.myRights(in: Self.inbox) == Rights(letters: "lr"))
        #expect(await Self.refused { _ = try await reader.accessList(of: Self.inbox) })
        #expect(await Self.refused { try await reader.setAccess(of: Self.inbox, identifier: "2001", rights: .all) })
        #expect(try directory.members(of: support).first { $0.member == bob }?.rights == Rights(letters: "lr"))
        try await admin.setAccess(of: Self.inbox, identifier: "2001", rights: nil)
        #expect(try directory.members(of: support).map(\.member.rawValue) == ["2000"])
    }

    @Test func alertsReachEachOptedInPersonOnce() throws {
        try directory.setMember(ada, of: support, rights: .member, alerts: ["email"])
        try directory.setMember(bob, of: support, rights: .member, alerts: [])
        let recipients = try directory.alertAddresses(of: directory.requireMailbox(support))
        // support@ is both the department's and Ada's: one alert.
        #expect(recipients.emails.map(\.rawValue) == ["support@example.com", "ada@example.com"])
        try directory.setMember(bob, of: support, rights: .member, alerts: ["email"])
        #expect(
            try directory.alertAddresses(of: directory.requireMailbox(support)).emails.map(\.rawValue) == [
                "support@example.com", "ada@example.com", "bob@example.com",
            ])
    }

    @Test func membershipsAreCheckedWhenMade() throws {
        #expect(throws: DirectoryError.self) { try directory.setMember(support, of: support, rights: .member) }
        #expect(throws: DirectoryError.self) {
            try directory.setMember(MailboxID("7777")!, of: support, rights: .member)
        }
        #expect(throws: DirectoryError.self) { try directory.setMember(ada, of: support, rights: []) }
        #expect(throws: DirectoryError.self) {
            try directory.setMember(ada, of: support, rights: .member, alerts: ["pager"])
        }
        #expect(throws: DirectoryError.self) { try directory.removeMember(bob, of: support) }
        #expect(try directory.members(of: support).isEmpty)
    }
}
