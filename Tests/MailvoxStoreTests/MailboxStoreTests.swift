import Foundation
import MailvoxCore
import MailvoxMIME
import MailvoxStore
import Testing

/// The `MailStore` protocol over the real sealed store: what an IMAP session can do.
@Suite struct MailboxStoreTests {
    let fixture: StoreFixture
    let store: MailboxStore

    init() throws {
        fixture = try StoreFixture()
        store = MailboxStore(mailbox: fixture.mailbox, store: fixture.store, limits: MessageLimits(maxBytes: 100_000))
    }

    /// A voicemail-like message with an RFC 2047 name and a quoted-printable body.
    static let voicemail = Array(
        """
        From: =?UTF-8?Q?J=C3=BCrgen_Gro=C3=9F?= <+4930123456@voicemail.localhost>\r
        To: <1000@localhost>\r
        Subject: Voicemail from +49 30 123456 (0:42)\r
        Date: Tue, 01 Jul 2025 10:52:37 +0200\r
        Message-ID: <m1@localhost>\r
        MIME-Version: 1.0\r
        Content-Type: multipart/mixed; boundary="b1"\r
        \r
        --b1\r
        Content-Type: text/plain; charset=utf-8\r
        Content-Transfer-Encoding: quoted-printable\r
        \r
        Bitte r=C3=BCckrufen wegen der Lieferung.\r
        --b1\r
        Content-Type: audio/mpeg; name="voicemail.mp3"\r
        Content-Transfer-Encoding: base64\r
        \r
        SUQzBAAAAAAAAA==\r
        --b1--\r

        """.utf8)

    @Test func appendedMessageReadsBackWithItsStructureAndRanges() async throws {
        let appended = try await store.append(
            to: "INBOX", message: Self.voicemail, flags: MessageFlags(system: .seen), internalDate: nil)
        #expect(appended.summary.uid == 1)
        #expect(appended.summary.size == Self.voicemail.count)
        #expect(appended.uidValidity == (try await store.status(of: "INBOX")).uidValidity)

        let structure = try await store.structure(in: "INBOX", uid: 1)
        #expect(structure == (try MessageParser.parse(Self.voicemail)))
        #expect(structure.envelope.subject == "Voicemail from +49 30 123456 (0:42)")
        #expect(try await store.content(in: "INBOX", uid: 1, range: nil) == Self.voicemail)
        #expect(try await store.content(in: "INBOX", uid: 1, range: 6..<40) == Array(Self.voicemail[6..<40]))

        let snapshot = try await store.snapshot(of: "INBOX")
        #expect(snapshot.messages.map(\.uid) == [1])
        #expect(snapshot.status.messages == 1 && snapshot.status.unseen == 0)
    }

    @Test func structuresComeInBatchesWithoutTheExpunged() async throws {
        for _ in 0..<3 {
            _ = try await store.append(to: "INBOX", message: Self.voicemail, flags: MessageFlags(), internalDate: nil)
        }
        _ = try await store.expunge(in: "INBOX", uids: [2])
        // First call opens the sealed metadata, the second is served from the cache: both agree.
        for _ in 0..<2 {
            let structures = try await store.structures(in: "INBOX", uids: [1, 2, 3, 9])
            #expect(structures.keys.sorted() == [1, 3])
            #expect(structures[3] == (try MessageParser.parse(Self.voicemail)))
        }
    }

    @Test func deliveredVoicemailCarriesItsParsedStructureSealed() async throws {
        let uid = try fixture.store.deliver(mailbox: fixture.mailbox, depositID: "d-1", message: Data(Self.voicemail))
        let meta = try fixture.store.metadata(mailbox: fixture.mailbox, folder: "INBOX", uid: uid)
        #expect(meta.structure == (try MessageParser.parse(Self.voicemail)))
        #expect(meta.headers.hasSuffix("\r\n\r\n"))
    }

    @Test func refusedAppendsLeaveNothingBehind() async throws {
        let before = try await store.status(of: "INBOX")
        let tooBig = Array(repeating: UInt8(ascii: "a"), count: 100_001)
        await #expect(throws: MailStoreError.messageTooLarge(size: 100_001, limit: 100_000)) {
            try await store.append(to: "INBOX", message: tooBig, flags: MessageFlags(), internalDate: nil)
        }
        let deep = Array(
            (0..<200).map { "Content-Type: multipart/mixed; boundary=\"b\($0)\"\r\n\r\n--b\($0)\r\n" }.joined().utf8)
        await #expect {
            try await store.append(to: "INBOX", message: deep, flags: MessageFlags(), internalDate: nil)
        } throws: { error in
            if case .malformedMessage = error as? MailStoreError { return true }
            return false
        }
        await #expect(throws: MailStoreError.noSuchFolder("Nope")) {
            try await store.append(to: "Nope", message: Self.voicemail, flags: MessageFlags(), internalDate: nil)
        }
        #expect(try await store.status(of: "INBOX") == before)
        #expect(fixture.files().filter { $0.contains("/spool/") }.isEmpty)
    }

    @Test func searchReadsDecodedHeadersAndBodyText() async throws {
        _ = try await store.append(to: "INBOX", message: Self.voicemail, flags: MessageFlags(), internalDate: nil)
        _ = try await store.append(
            to: "INBOX", message: Array(StoreFixture.message(subject: "Other", body: "nothing here")),
            flags: MessageFlags(system: [.seen, .flagged]), internalDate: Date(timeIntervalSince1970: 0))

        func search(_ criterion: SearchCriterion) async throws -> [UInt32] {
            try await store.search(in: "INBOX", criterion)
        }
        #expect(try await search(.header(field: "From", contains: "jürgen")) == [1])
        #expect(try await search(.header(field: "From", contains: "Lovelace")) == [2])
        #expect(try await search(.header(field: "Subject", contains: "")) == [1, 2])
        #expect(try await search(.body("RÜCKRUFEN")) == [1])
        #expect(try await search(.text("Lieferung")) == [1])
        #expect(try await search(.text("voicemail from")) == [1])
        #expect(try await search(.body("Voicemail from")) == [])
        #expect(try await search(.unflagged(.seen)) == [1])
        #expect(try await search(.flagged([.seen, .flagged])) == [2])
        #expect(try await search(.received(.before, SearchDay(year: 1971, month: 1, day: 1))) == [2])
        #expect(try await search(.sent(.on, SearchDay(year: 2025, month: 7, day: 1))) == [1])
        #expect(try await search(.sent(.since, SearchDay(year: 2025, month: 7, day: 2))) == [])
        #expect(try await search(.larger(200)) == [1])
        #expect(try await search(.or(.uids([2...2]), .body("Lieferung"))) == [1, 2])
        #expect(try await search(.not(.uids([1...1]))) == [2])
        #expect(try await search(.and([.modseq(atLeast: 3), .all])) == [2])
    }

    @Test func copyMoveAndTheChangeFeedAgree() async throws {
        for _ in 0..<3 {
            _ = try await store.append(to: "INBOX", message: Self.voicemail, flags: MessageFlags(), internalDate: nil)
        }
        var feed = try await store.changes(of: "INBOX").makeAsyncIterator()
        let saved = try await store.status(of: "Saved")
        let copied = try await store.copy(from: "INBOX", uids: [2, 3], to: "Saved", removingSource: false)
        #expect(copied.uidValidity == saved.uidValidity)
        #expect(copied.pairs == [.init(source: 2, target: 1), .init(source: 3, target: 2)])

        let flagged = try await store.storeFlags(
            in: "INBOX", uids: [1], operation: .add, flags: MessageFlags(system: .flagged), unchangedSince: nil)
        #expect(flagged.changed.map(\.uid) == [1])
        let moved = try await store.copy(from: "INBOX", uids: [1], to: "Trash", removingSource: true)
        #expect(moved.pairs == [.init(source: 1, target: 1)])
        #expect(try await store.snapshot(of: "INBOX").messages.map(\.uid) == [2, 3])

        let first = await feed.next()
        guard case .flags(uid: 1, let flags, _) = first else {
            Issue.record("expected a flag change, got \(String(describing: first))")
            return
        }
        #expect(flags.system == .flagged)
        guard case .expunged(uids: [1], _) = await feed.next() else {
            Issue.record("expected the move's expunge")
            return
        }
        let trash = try await store.summaries(in: "Trash", uids: [1, 7])
        #expect(trash.map(\.uid) == [1])
        #expect(trash.first?.flags.system == .flagged)
        #expect(try await store.quota().usage == QuotaUsage(bytes: 5 * Self.voicemail.count, messages: 5))
    }

    @Test func foldersListInboxFirstAndKeepTheirNames() async throws {
        try await store.createFolder("Archiv/2025")
        try await store.renameFolder("Archiv", to: "Ablage")
        let names = try await store.folders().map(\.name)
        #expect(names == ["INBOX", "Ablage", "Ablage/2025", "Greetings", "Recently Deleted", "Saved", "Trash"])
        await #expect(throws: MailStoreError.protectedFolder("INBOX")) { try await store.deleteFolder("INBOX") }
        await #expect(throws: MailStoreError.folderExists("Saved")) { try await store.createFolder("Saved") }
    }

    /// RFC 9208 §5: APPEND and COPY past a limit are refused with OVERQUOTA and change nothing;
    /// MOVE within the mailbox adds nothing, so it is allowed even when full.
    @Test func appendAndCopyPastTheQuotaAreRefused() async throws {
        let limited = MailboxStore(
            mailbox: fixture.mailbox, store: fixture.store, limits: MessageLimits(maxBytes: 100_000),
            quotaDefaults: Configuration.Quota(defaultMessages: 3))
        for _ in 0..<2 {
            _ = try await limited.append(to: "INBOX", message: Self.voicemail, flags: MessageFlags(), internalDate: nil)
        }
        await #expect(throws: MailStoreError.overQuota) {
            _ = try await limited.copy(from: "INBOX", uids: [1, 2], to: "Saved", removingSource: false)
        }
        _ = try await limited.append(to: "INBOX", message: Self.voicemail, flags: MessageFlags(), internalDate: nil)
        await #expect(throws: MailStoreError.overQuota) {
            _ = try await limited.append(to: "Saved", message: Self.voicemail, flags: MessageFlags(), internalDate: nil)
        }
        _ = try await limited.copy(from: "INBOX", uids: [1], to: "Saved", removingSource: true)
        let quota = try await limited.quota()
        #expect(quota.usage == QuotaUsage(bytes: 3 * Self.voicemail.count, messages: 3))
        #expect(quota.limits == QuotaLimits(bytes: nil, messages: 3) && quota.isFull)
        #expect(try await store.quota().limits == .none, "no [quota] default: no limit")
    }
}
