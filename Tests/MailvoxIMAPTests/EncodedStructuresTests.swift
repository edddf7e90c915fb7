import MailvoxCore
import MailvoxStoreTesting
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

/// Sessions of one server share encoded ENVELOPEs and BODYSTRUCTUREs; a cached answer must
/// be the one a fresh encoding gives, and never another message's.
@Suite struct EncodedStructuresTests {
    static func append(_ harness: inout SessionHarness, to folder: String, subject: String) async throws {
        let message = Fixture.message(subject: subject)
        try await harness.send(
            "p APPEND \(folder) {\(message.count)+}\r\n" + String(decoding: message, as: UTF8.self) + "\r\n")
    }

    @Test func aCachedAnswerIsTheFreshOne() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        let cache = EncodedStructures()
        var first = try await Fixture.loggedIn(authenticator, caches: SessionCaches(structures: cache))
        try await first.send("s SELECT INBOX")
        let fresh = try await first.send("f FETCH 1:3 (ENVELOPE BODY BODYSTRUCTURE)")
        let uidValidity = try #require(first.session.state.selected?.uidValidity)
        for item in [EncodedStructures.Item.envelope, .body, .bodyStructure] {
            #expect(cache.contains(item, of: (Fixture.mailbox, "INBOX", uidValidity, 3)))
        }
        var second = try await Fixture.loggedIn(authenticator, caches: SessionCaches(structures: cache))
        try await second.send("s SELECT INBOX")
        let cached = try await second.send("f FETCH 1:3 (ENVELOPE BODY BODYSTRUCTURE)")
        #expect(cached == fresh)
        #expect(cached.contains("\"Message 2\""))
        // A session with a cache of its own encodes the same text.
        var alone = try await Fixture.loggedIn(authenticator)
        try await alone.send("s SELECT INBOX")
        #expect(try await alone.send("f FETCH 1:3 (ENVELOPE BODY BODYSTRUCTURE)") == fresh)
    }

    @Test func theSameUIDInAnotherFolderOrAnotherUIDValidityIsAnotherMessage() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        let cache = EncodedStructures()
        var harness = try await Fixture.loggedIn(authenticator, caches: SessionCaches(structures: cache))
        try await harness.send("s SELECT INBOX")
        #expect(try await harness.send("f FETCH 1 ENVELOPE").contains("\"Message 1\""))

        try await harness.send("c CREATE Work")
        try await Self.append(&harness, to: "Work", subject: "First work")
        try await harness.send("s SELECT Work")
        #expect(try await harness.send("f FETCH 1 ENVELOPE").contains("\"First work\""))

        // Deleted and made again: UID 1 again, under a new UIDVALIDITY.
        try await harness.send("u UNSELECT")
        try await harness.send("d DELETE Work")
        try await harness.send("c CREATE Work")
        try await Self.append(&harness, to: "Work", subject: "Second work")
        try await harness.send("s SELECT Work")
        let reply = try await harness.send("f FETCH 1 (ENVELOPE BODYSTRUCTURE)")
        #expect(reply.contains("\"Second work\""))
        #expect(!reply.contains("First work"))
    }
}
