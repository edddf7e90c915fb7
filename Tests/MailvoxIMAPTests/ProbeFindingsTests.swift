import Foundation
import MailvoxCore
import MailvoxStoreTesting
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

/// The findings of the security probe, each against the real listener on loopback with real
/// clients (Python's socket and ssl, openssl s_client), with test-sized timeouts.
@Suite(.serialized) struct ProbeFindingsTests {
    /// Finding 1: before login a literal is held to 8 KiB; after login APPEND's limit applies.
    @Test func literalsBeforeLoginAreHeldTo8KiB() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        let server = try await RunningServer.start(authenticator: authenticator)
        let result = try await Programs.python(
            "prelogin_limits.py", ["127.0.0.1", "\(server.tlsPort)", server.certificate, "1000", "secret"])
        await server.stop()
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("PASS"))
    }

    /// Finding 2: the pre-login timer is a deadline from connect; a byte every 0.2 s does not
    /// move it, and the close is announced with `* BYE`.
    @Test func preLoginDeadlineIsNotMovedByTraffic() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        let server = try await RunningServer.start(authenticator: authenticator) { configuration in
            configuration.idleTimeoutBeforeLogin = .seconds(1)
        }
        let result = try await Programs.python("timeouts.py", ["deadline", "127.0.0.1", "\(server.startTLSPort)"])
        await server.stop()
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("PASS"))
    }

    /// Finding 2: after login every read restarts the idle timer, and its close says BYE too.
    @Test func idleTimeoutAfterLoginSaysBye() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        let server = try await RunningServer.start(authenticator: authenticator) { configuration in
            // Seconds, not fractions: on a loaded test machine one NOOP's answer may take a while.
            configuration.idleTimeoutBeforeLogin = .seconds(10)
            configuration.idleTimeoutAfterLogin = .seconds(2)
        }
        let result = try await Programs.python(
            "timeouts.py", ["idle", "127.0.0.1", "\(server.tlsPort)", server.certificate, "1000", "secret"])
        await server.stop()
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("PASS"))
    }

    /// Finding 3: a refused login delayed past the pre-login deadline is still answered.
    @Test func delayedRefusalOutlivesTheDeadline() async throws {
        let authenticator = InMemoryAuthenticator(baseDelay: .milliseconds(1500))
        await authenticator.add(Fixture.mailbox, password: "secret")
        let server = try await RunningServer.start(authenticator: authenticator) { configuration in
            configuration.idleTimeoutBeforeLogin = .milliseconds(500)
        }
        let result = try await Programs.python(
            "timeouts.py", ["delayed", "127.0.0.1", "\(server.tlsPort)", server.certificate, "1000"])
        await server.stop()
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("PASS"))
    }

    /// Finding 6: TLS 1.2 offers only ECDHE with AEAD; CBC and static RSA fail, on both
    /// listeners, with the ECDSA dev certificate.
    @Test func tlsOffersOnlyAEADWithTheDevCertificate() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        let server = try await RunningServer.start(authenticator: authenticator)
        let result = try await Programs.python(
            "tls_policy.py", ["127.0.0.1", "\(server.tlsPort)", "\(server.startTLSPort)", "ECDSA"])
        await server.stop()
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("PASS"))
    }

    /// Finding 6 with an RSA certificate, where static-RSA suites such as AES128-SHA could be
    /// negotiated at all — the probe's `openssl s_client -tls1_2 -cipher AES128-SHA`.
    @Test func tlsOffersOnlyAEADWithAnRSACertificate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mailvox-rsa-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let made = try await Programs.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "1",
                "-subj", "/CN=localhost",
            ])
        try #require(made.status == 0, "\(made.error)")
        let (authenticator, _) = try await Fixture.setUp()
        let server = try await RunningServer.start(authenticator: authenticator) { configuration in
            configuration.certificateFile = certificate
            configuration.privateKeyFile = key
        }
        func sClient(_ arguments: [String]) async throws -> ProcessResult {
            try await Programs.run(
                "/usr/bin/openssl",
                ["s_client", "-connect", "127.0.0.1:\(server.tlsPort)", "-servername", "localhost"] + arguments,
                timeout: .seconds(20))
        }
        let cbc = try await sClient(["-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0"])
        let ecdheCBC = try await sClient(["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0"])
        let aead = try await sClient(["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"])
        let result = try await Programs.python(
            "tls_policy.py", ["127.0.0.1", "\(server.tlsPort)", "\(server.startTLSPort)", "RSA"])
        await server.stop()
        #expect(cbc.status != 0, "AES128-SHA must fail: \(cbc.output)")
        #expect(ecdheCBC.status != 0, "ECDHE-RSA-AES128-SHA must fail: \(ecdheCBC.output)")
        #expect(aead.status == 0, "ECDHE-RSA-AES128-GCM-SHA256 must work: \(aead.error)")
        #expect(aead.output.contains("ECDHE-RSA-AES128-GCM-SHA256"))
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("PASS"))
    }
}
