import Foundation
import MailvoxCore
import MailvoxStoreTesting
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

/// The NIO server on loopback, driven by real clients nobody here wrote: Python's imaplib,
/// curl and mbsync, over STARTTLS and implicit TLS with the dev certificate.
@Suite(.serialized) struct ServerIntegrationTests {
    @Test func imaplibSession() async throws {
        // Recent messages: the script's first SELECT holds them as \Recent.
        let (authenticator, _) = try await Fixture.setUp(recent: true)
        let server = try await RunningServer.start(authenticator: authenticator)
        let result = try await Programs.python(
            "imaplib_session.py",
            ["127.0.0.1", "\(server.startTLSPort)", "\(server.tlsPort)", server.certificate, "1000", "secret"])
        await server.stop()
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("PASS"))
    }

    @Test func idlePushReachesTheClientAtOnce() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        let server = try await RunningServer.start(authenticator: authenticator)
        let result = try await Programs.python(
            "idle_push.py", ["127.0.0.1", "\(server.tlsPort)", server.certificate, "1000", "secret"])
        await server.stop()
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("PASS"))
    }

    @Test func hostileInputGetsBadOrBye() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        let server = try await RunningServer.start(authenticator: authenticator) { configuration in
            configuration.maxCommandsBeforeLogin = 10
        }
        let result = try await Programs.python(
            "hostile.py",
            ["127.0.0.1", "\(server.tlsPort)", server.certificate, "1000", "secret", "\(server.startTLSPort)"])
        await server.stop()
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("PASS"))
    }

    /// A connection that says nothing is closed after the pre-login timeout, with `* BYE` first.
    @Test func silentConnectionsAreClosed() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        let server = try await RunningServer.start(authenticator: authenticator) { configuration in
            configuration.idleTimeoutBeforeLogin = .milliseconds(500)
        }
        let script = """
            import socket, sys, time
            s = socket.create_connection(("127.0.0.1", \(server.startTLSPort)))
            s.settimeout(10)
            start = time.time()
            data = b""
            while True:
                chunk = s.recv(1000)
                if not chunk:
                    break
                data += chunk
            elapsed = time.time() - start
            print("closed after %.2f" % elapsed, data[:200])
            sys.exit(0 if 0.3 < elapsed < 5 and data.startswith(b"* OK") and b"\\r\\n* BYE " in data else 1)
            """
        let result = try await Programs.run(Programs.python, ["-c", script])
        await server.stop()
        #expect(result.status == 0, "\(result.output)\(result.error)")
    }

    @Test func curlListsAndFetchesByUID() async throws {
        let (authenticator, _) = try await Fixture.setUp()
        let server = try await RunningServer.start(authenticator: authenticator)
        let list = try await Programs.run(
            "/usr/bin/curl",
            ["-sS", "--cacert", server.certificate, "-u", "1000:secret", "imaps://127.0.0.1:\(server.tlsPort)/"])
        let message = try await Programs.run(
            "/usr/bin/curl",
            [
                "-sS", "--ssl-reqd", "--cacert", server.certificate, "-u", "1000:secret",
                "imap://127.0.0.1:\(server.startTLSPort)/INBOX;UID=2",
            ])
        let search = try await Programs.run(
            "/usr/bin/curl",
            [
                "-sS", "-k", "-u", "1000:secret", "imaps://127.0.0.1:\(server.tlsPort)/INBOX", "-X",
                "UID SEARCH SUBJECT \"Message 3\"",
            ])
        await server.stop()
        #expect(list.status == 0, "\(list.error)")
        #expect(list.output.contains("\"/\" Saved") && list.output.contains("\\Trash"), "\(list.output)")
        #expect(message.status == 0, "\(message.error)")
        #expect(message.output.contains("Subject: Message 2"), "\(message.output)")
        #expect(message.output.contains("Body number 2"))
        #expect(search.output.contains("* SEARCH 3"), "\(search.output)\(search.error)")
    }

    /// mbsync: a full sync into a Maildir, audio intact; the second run changes nothing; a flag
    /// set locally reaches the server; a message expunged on the server disappears locally.
    @Test func mbsyncSyncsAMailboxBothWays() async throws {
        let (authenticator, store) = try await Fixture.setUp()
        let server = try await RunningServer.start(authenticator: authenticator)
        defer { try? FileManager.default.removeItem(at: server.directory.appendingPathComponent("mbsync")) }
        let home = server.directory.appendingPathComponent("mbsync")
        let maildir = home.appendingPathComponent("Mail")
        try FileManager.default.createDirectory(at: maildir, withIntermediateDirectories: true)
        let config = home.appendingPathComponent("mbsyncrc")
        try String(contentsOf: Programs.clients.appendingPathComponent("mbsyncrc.template"), encoding: .utf8)
            .replacingOccurrences(of: "@PORT@", with: "\(server.tlsPort)").replacingOccurrences(
                of: "@USER@", with: "1000"
            )
            .replacingOccurrences(of: "@PASS@", with: "secret").replacingOccurrences(
                of: "@CERT@", with: server.certificate
            )
            .replacingOccurrences(of: "@MAILDIR@", with: maildir.path)
            .write(to: config, atomically: true, encoding: .utf8)
        func sync() async throws -> ProcessResult {
            try await Programs.run(
                "/usr/bin/mbsync", ["-c", config.path, "-a"], environment: ["HOME": home.path, "PATH": "/usr/bin:/bin"])
        }
        func files(_ folder: String) throws -> [URL] {
            let base = maildir.appendingPathComponent(folder)
            return try ["cur", "new"].flatMap { sub in
                try FileManager.default.contentsOfDirectory(
                    at: base.appendingPathComponent(sub), includingPropertiesForKeys: nil)
            }
        }
        let first = try await sync()
        #expect(first.status == 0, "\(first.output)\(first.error)")
        let inbox = try files("INBOX")
        #expect(inbox.count == 3)
        // mbsync stores Maildir files with LF line ends and adds its X-TUID header; otherwise
        // the messages, the audio attachment included, arrive unchanged.
        let delivered = try Set(
            inbox.map { file in
                try String(decoding: Data(contentsOf: file), as: UTF8.self).split(
                    separator: "\n", omittingEmptySubsequences: false
                )
                .filter { !$0.hasPrefix("X-TUID: ") }.joined(separator: "\n")
            })
        let originals = Set(
            (1...3).map { number in
                String(
                    decoding: Fixture.message(subject: "Message \(number)", body: "Body number \(number)"),
                    as: UTF8.self
                )
                .replacingOccurrences(of: "\r\n", with: "\n")
            })
        #expect(delivered == originals, "messages arrive intact, attachment included")
        #expect(FileManager.default.fileExists(atPath: maildir.appendingPathComponent("Trash").path))

        let snapshotBefore = try await store.snapshot(of: "INBOX")
        let second = try await sync()
        #expect(second.status == 0, "\(second.output)\(second.error)")
        #expect(try files("INBOX").count == 3)
        #expect(try await store.snapshot(of: "INBOX") == snapshotBefore, "the second run changes nothing on the server")

        // Flag one message locally (Maildir info "F"): mbsync sets \Flagged on the server.
        let local = try files("INBOX")[0]
        let name = local.lastPathComponent
        let flaggedName = name.contains(":2,") ? name + "F" : name + ":2,F"
        try FileManager.default.moveItem(
            at: local, to: maildir.appendingPathComponent("INBOX/cur").appendingPathComponent(flaggedName))
        let third = try await sync()
        #expect(third.status == 0, "\(third.output)\(third.error)")
        let flagged = try await store.search(in: "INBOX", .flagged(.flagged))
        #expect(flagged.count == 1)

        // Expunge on the server: the local copy goes.
        _ = try await store.expunge(in: "INBOX", uids: [1])
        let fourth = try await sync()
        #expect(fourth.status == 0, "\(fourth.output)\(fourth.error)")
        #expect(try files("INBOX").count == 2)
        await server.stop()
    }
}
