import Foundation
import MailvoxCore
import Testing

@testable import MailvoxIMAP

/// SEARCH FROM/TO/CC/BCC match the address however comments and white space are spread
/// through the header (RFC 5322 CFWS is not part of it), and ENVELOPE names an address by its
/// comment when it has no phrase (issue #14, items 3 and 4).
@Suite struct AddressSearchTests {
    @Test func addressesMatchWithoutTheirComments() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 0)
        for from in ["<user-from (comment)@ (comment) domain.org>", "user@domain (Real Name)", "other@domain.org"] {
            try await store.deliver(Fixture.message(subject: "From \(from)", from: from), internalDate: Date())
        }
        var harness = try await Fixture.loggedIn(authenticator)
        try await harness.send("b SELECT INBOX")
        #expect(try await harness.send("c SEARCH FROM user-from@domain.org").lines.first == "* SEARCH 1")
        #expect(try await harness.send("d SEARCH FROM \"Real Name\"").lines.first == "* SEARCH 2")
        #expect(try await harness.send("e SEARCH FROM comment").lines.first == "* SEARCH 1")
        #expect(try await harness.send("f SEARCH FROM domain.org").lines.first == "* SEARCH 1 3")
        let envelope = try await harness.send("g FETCH 2 ENVELOPE").lines.first ?? ""
        #expect(envelope.contains("((\"Real Name\" NIL \"user\" \"domain\"))"), "\(envelope)")
    }
}
