import Foundation
import Testing

@testable import MailvoxIMAP

/// Four sessions on one folder at once for a few seconds, each doing random STORE, EXPUNGE,
/// APPEND, FETCH, SEARCH and NOOP while it checks that every untagged response agrees with what
/// it was told before (Clients/concurrent_sessions.py lists the rules). A longer run:
/// `concurrent_sessions.py … 10 45` against `mailvox serve`.
@Suite struct ConcurrentSessionsTests {
    @Test func everySessionSeesAConsistentFolder() async throws {
        let (authenticator, _) = try await Fixture.setUp(messages: 20)
        let server = try await RunningServer.start(authenticator: authenticator)
        let result = try await Programs.python(
            "concurrent_sessions.py",
            ["127.0.0.1", "\(server.tlsPort)", server.certificate, "1000", "secret", "4", "4"])
        await server.stop()
        print(result.output)
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("PASS"))
    }
}
