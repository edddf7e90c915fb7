import Foundation
import Logging
import MailvoxCore
import MailvoxStoreTesting
import NIOConcurrencyHelpers
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

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
        #expect(capabilities.hasPrefix("* CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN SASL-IR ID ENABLE IDLE"))
        #expect(!capabilities.contains("STARTTLS") && !capabilities.contains("LOGINDISABLED"))
        #expect(try await harness.send("e LOGIN 1000 secret").lines.last?.hasPrefix("e OK [CAPABILITY") == true)
    }

    @Test func capabilitiesAfterLoginInDesignOrder() async throws {
        var (harness, _) = try await Fixture.selected()
        #expect(
            try await harness.send("c CAPABILITY").lines == [
                "* CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE "
                    + "LITERAL+ LIST-EXTENDED LIST-STATUS STATUS=SIZE CONDSTORE QRESYNC ESEARCH SEARCHRES SORT "
                    + "SORT=DISPLAY ESORT MULTIAPPEND BINARY QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE ACL RIGHTS=texk UTF8=ACCEPT "
                    + "COMPRESS=DEFLATE",
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

    @Test func undecodableSASLResponseEndsTheExchange() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        var harness = SessionHarness(authenticator: authenticator)
        _ = try await harness.greet()
        #expect(try await harness.send("a AUTHENTICATE PLAIN").lines == ["+ "])
        #expect(try await harness.send("!!not base64!!").lines == ["a BAD Invalid SASL response"])
        #expect(harness.session.parserMode == .command)
        #expect(try await harness.send("b NOOP").lines == ["b OK NOOP completed"])
    }

    /// Passwords never reach the log, whether the login succeeds or fails.
    @Test func passwordsAreNeverLogged() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        let records = LogRecords()
        let logger = Logger(label: "test") { _ in RecordingLogHandler(records: records) }
        let sink = CollectingSink()
        var session = IMAPSession(
            configuration: SessionConfiguration(allowPlaintextAuth: true), authenticator: authenticator, sink: sink,
            logger: logger)
        var parser = CommandParser()
        parser.append(Array("a LOGIN 1000 wrong-horse\r\nb AUTHENTICATE PLAIN ADEwMDAAc2VjcmV0\r\n".utf8))
        while let event = parser.next() { _ = try await session.handle(event) }
        let lines = records.lines
        #expect(lines.count == 2, "\(lines)")
        #expect(
            lines.allSatisfy {
                !$0.contains("wrong-horse") && !$0.contains("secret") && !$0.contains("ADEwMDAAc2VjcmV0")
            })
        #expect(lines.contains { $0.contains("IMAP login failed") && $0.contains("1000") })
    }

    @Test func idAndEnable() async throws {
        var (harness, store) = try await Fixture.selected()
        #expect(
            try await harness.send("c ID (\"name\" \"test\")").lines == [
                "* ID (\"name\" \"Mailvox\" \"vendor\" \"Mailvox\")", "c OK ID completed",
            ])
        // Enabled with INBOX selected: the OK tells its HIGHESTMODSEQ (RFC 7162 §3.1).
        let highest = try await store.status(of: "INBOX").highestModseq
        #expect(
            try await harness.send("d ENABLE CONDSTORE X-FOO").lines == [
                "* ENABLED CONDSTORE", "d OK [HIGHESTMODSEQ \(highest)] ENABLE completed",
            ])
        #expect(harness.session.state.condStore)
    }
}

/// Log lines as text, for checking what is (not) logged.
final class LogRecords: Sendable {
    private let box = NIOLockedValueBox<[String]>([])
    var lines: [String] { box.withLockedValue { $0 } }
    func append(_ line: String) { box.withLockedValue { $0.append(line) } }
}

struct RecordingLogHandler: LogHandler {
    let records: LogRecords
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        let all = self.metadata.merging(metadata ?? [:]) { $1 }
        records.append("\(level) \(message) \(all)")
    }
}
