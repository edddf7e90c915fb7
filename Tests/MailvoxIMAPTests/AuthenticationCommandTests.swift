import Foundation
import MailvoxCore
import MailvoxStoreTesting
import Testing

@testable import MailvoxIMAP

@Suite struct AuthenticationCommandTests {
    @Test func beforeTLSNoPasswordTravels() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        var harness = SessionHarness(authenticator: authenticator, configuration: SessionConfiguration())
        let greeting = try await harness.greet()
        #expect(greeting.contains("STARTTLS LOGINDISABLED SASL-IR"))
        #expect(!greeting.contains("AUTH=PLAIN"))
        #expect(try await harness.send("a LOGIN 1000 secret").lines == ["a NO [PRIVACYREQUIRED] Use STARTTLS first"])
        #expect(
            try await harness.send("b AUTHENTICATE PLAIN ADEwMDAAc2VjcmV0").lines == [
                "b NO [PRIVACYREQUIRED] Use STARTTLS first"
            ])
        #expect(await authenticator.attempts.isEmpty)
        #expect(try await harness.send("c STARTTLS").lines == ["c OK Begin TLS negotiation now"])
        #expect(harness.startedTLS)
        harness.session.didStartTLS()
        let capabilities = try await harness.send("d CAPABILITY").lines[0]
        #expect(capabilities.hasPrefix("* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR ID ENABLE IDLE"))
        #expect(!capabilities.contains("STARTTLS") && !capabilities.contains("LOGINDISABLED"))
        #expect(try await harness.send("e LOGIN 1000 secret").lines.last?.hasPrefix("e OK [CAPABILITY") == true)
    }

    @Test func capabilitiesAfterLoginInDesignOrder() async throws {
        var (harness, _) = try await Fixture.selected()
        #expect(
            try await harness.send("c CAPABILITY").lines == [
                "* CAPABILITY IMAP4rev1 SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE "
                    + "LITERAL+ LIST-EXTENDED STATUS=SIZE CONDSTORE ESEARCH",
                "c OK CAPABILITY completed",
            ])
    }

    @Test func wrongPasswordIsDelayedAndAnswered() async throws {
        let authenticator = InMemoryAuthenticator(baseDelay: .milliseconds(300))
        await authenticator.add(Fixture.mailbox, password: "secret")
        var harness = SessionHarness(authenticator: authenticator)
        _ = try await harness.greet()
        let clock = ContinuousClock()
        let start = clock.now
        let reply = try await harness.send("a LOGIN 1000 wrong")
        #expect(clock.now - start >= .milliseconds(300))
        #expect(reply.lines == ["a NO [AUTHENTICATIONFAILED] Authentication failed"])
        #expect(harness.session.state.store == nil)
        let attempts = await authenticator.attempts
        #expect(attempts.count == 1 && attempts[0].mailbox == "1000" && attempts[0].succeeded == false)
    }

    @Test func authenticatePlainWithAndWithoutInitialResponse() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        var harness = SessionHarness(authenticator: authenticator)
        _ = try await harness.greet()
        // "\0" "1000" "\0" "secret"
        let reply = try await harness.send("a AUTHENTICATE PLAIN ADEwMDAAc2VjcmV0")
        #expect(reply.lines.last?.hasPrefix("a OK [CAPABILITY IMAP4rev1") == true)

        var second = SessionHarness(authenticator: authenticator)
        _ = try await second.greet()
        #expect(try await second.send("b AUTHENTICATE PLAIN").lines == ["+ "])
        #expect(second.session.parserMode == .authentication)
        let done = try await second.send("AGJvZ3VzAHNlY3JldA==")  // \0bogus\0secret
        #expect(done.lines == ["b NO [AUTHENTICATIONFAILED] Authentication failed"])
        #expect(try await second.send("c AUTHENTICATE PLAIN").lines == ["+ "])
        #expect(try await second.send("*").lines == ["c BAD AUTHENTICATE cancelled"])
        // Another identity than the login is refused.
        let other = Data("someone\u{0}1000\u{0}secret".utf8).base64EncodedString()
        #expect(
            try await second.send("d AUTHENTICATE PLAIN \(other)").lines == [
                "d NO [AUTHORIZATIONFAILED] Cannot act as another mailbox"
            ])
        #expect(
            try await second.send("e AUTHENTICATE CRAM-MD5").lines == [
                "e NO [CANNOT] Unsupported authentication mechanism"
            ])
    }

    @Test func idAndEnable() async throws {
        var (harness, _) = try await Fixture.selected()
        #expect(
            try await harness.send("c ID (\"name\" \"test\")").lines == [
                "* ID (\"name\" \"Mailvox\" \"vendor\" \"Mailvox\")", "c OK ID completed",
            ])
        #expect(
            try await harness.send("d ENABLE CONDSTORE X-FOO").lines == [
                "* ENABLED CONDSTORE", "d OK ENABLE completed",
            ])
        #expect(harness.session.condStore)
    }
}
