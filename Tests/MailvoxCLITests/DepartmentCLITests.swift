import Foundation
import MailvoxTestSupport
import Testing

/// Departments (#16) as people meet them: `mailbox member` commands, then members' own
/// logins through imaplib (`Clients/departments.py`: the shared namespace, rights refused
/// NOPERM with nothing changed, names that try to reach another mailbox, IDLE push between
/// members, removal ending an IDLE at once) and mbsync syncing the department's folders.
@Suite(.serialized) struct DepartmentCLITests {
    @Test func membersReachTheDepartmentWithTheirOwnLogins() throws {
        var cli = try CLI()
        let port = IMAPServeTests.freePort()
        cli.environment["MAILVOX_IMAP_LISTEN"] = "127.0.0.1:\(IMAPServeTests.freePort())"
        cli.environment["MAILVOX_IMAP_LISTEN_TLS"] = "127.0.0.1:\(port)"
        try #require(try cli.run(["init", "--data-dir", "var"]).status == 0)
        for (id, name, password) in [
            ("2100", "Support", "support-password-1"), ("2101", "Sales", "sales-password-1"),
            ("2000", "Ada", "ada-password-1"), ("2001", "Bob", "bob-password-1"),
        ] {
            try #require(
                try cli.run(["mailbox", "add", id, "--name", name, "--password-stdin"], stdin: password).status == 0)
        }
        let noLogin = try cli.run(["mailbox", "set", "2100", "--no-login"])
        #expect(noLogin.status == 0, "\(noLogin.stderr)")

        // The member commands, with their refusals.
        let added = try cli.run([
            "mailbox", "member", "add", "2100", "2000", "--rights", "lrswtei", "--alerts", "email",
        ])
        #expect(
            added.stdout.contains("added 2000 as a member of 2100 with rights lrswite, alerts by email"),
            "\(added.stdout)\(added.stderr)")
        #expect(try cli.run(["mailbox", "member", "add", "2100", "2001", "--rights", "lrs"]).status == 0)
        let badRights = try cli.run(["mailbox", "member", "add", "2100", "2001", "--rights", "lrz"])
        #expect(badRights.status == 2 && badRights.stderr.contains("--rights"), "\(badRights.stderr)")
        let unknown = try cli.run(["mailbox", "member", "add", "2100", "7777"])
        #expect(unknown.status != 0 && unknown.stderr.contains("7777"), "\(unknown.stderr)")
        let itself = try cli.run(["mailbox", "member", "add", "2100", "2100"])
        #expect(itself.status != 0 && itself.stderr.contains("itself"), "\(itself.stderr)")
        let notMember = try cli.run(["mailbox", "member", "remove", "2101", "2000"])
        #expect(notMember.status != 0 && notMember.stderr.contains("not a member"), "\(notMember.stderr)")
        let listed = try cli.run(["mailbox", "member", "list", "2100", "--json"])
        let members = (try? JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]) ?? []
        #expect(members.map { $0["member"] as? String } == ["2000", "2001"], "\(listed.stdout)")
        #expect(members.map { $0["rights"] as? String } == ["lrswite", "lrs"])
        #expect(members.first?["alerts"] as? [String] == ["email"])
        #expect(try cli.run(["mailbox", "member", "list", "2100"]).stdout.contains("Ada"))
        let shown = try cli.run(["mailbox", "show", "2100", "--json"]).stdout
        #expect(shown.contains("\"login\" : false") || shown.contains("\"login\":false"), "\(shown)")

        let speech = try Subprocess.run(
            "/usr/bin/espeak-ng", ["The printer on floor two is broken.", "-w", "call.wav"], in: cli.directory)
        #expect(speech.status == 0, "\(speech.output)")
        #expect(
            try cli.run(["deposit", "--mailbox", "2100", "--caller-number", "+4930123456", "call.wav"]).status == 0)
        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        #expect(CLI.wait(for: "IMAP listening", in: log))
        let certificate = cli.directory + "/var/tls/cert.pem"
        var delivered = false
        for _ in 0..<150 where !delivered {
            let status = try Subprocess.run(
                "/usr/bin/curl",
                [
                    "-sS", "--cacert", certificate, "-u", "2000:ada-password-1",
                    "imaps://127.0.0.1:\(port)/", "-X", "STATUS \"Shared/2100 Support/INBOX\" (MESSAGES)",
                ], in: cli.directory)
            delivered = status.stdout.contains("MESSAGES 1")
            if !delivered { usleep(200_000) }
        }
        try #require(delivered)

        // mbsync as Ada: the department's folders sync down beside her own.
        let mbsync = try MBSync(home: cli.directory + "/home")
        try mbsync.configure(port: port, user: "2000", password: "ada-password-1", certificate: certificate)
        let synced = try mbsync.sync()
        #expect(synced.status == 0, "\(synced.output)")
        let files = try mbsync.files("Shared/2100 Support/INBOX")
        #expect(files.count == 1, "\(files)")
        #expect(!FileManager.default.fileExists(atPath: mbsync.maildir + "/Shared/2101 Sales"))

        let client = try Subprocess.run(
            Subprocess.python,
            [
                IMAPServeTests.clients.appendingPathComponent("departments.py").path, "127.0.0.1", "\(port)",
                certificate, CLI.binary, cli.directory + "/var/mailvox.toml",
            ], in: cli.directory)
        #expect(client.status == 0 && client.stdout.contains("ALL PASS"), "\(client.output)")
        #expect(try cli.run(["mailbox", "member", "list", "2100"]).stdout.contains("has no members"))

        // Who did what: the department's audit log names each member, their address and action.
        let audit = try cli.run(["mailbox", "audit", "2100", "--json"])
        #expect(audit.status == 0, "\(audit.stderr)")
        let entries = (try? JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]]) ?? []
        func did(_ actor: String, _ action: String, _ detail: String? = nil) -> Bool {
            entries.contains {
                $0["actor"] as? String == actor && $0["action"] as? String == action
                    && $0["address"] as? String == "127.0.0.1"
                    && (detail == nil || ($0["detail"] as? String)?.contains(detail!) == true)
            }
        }
        #expect(did("2000", "login") && did("2001", "login"), "\(audit.stdout)")
        #expect(did("2000", "open") && did("2001", "open"))
        #expect(did("2001", "flags", "+\\Seen") && did("2000", "flags", "+\\Flagged"), "\(audit.stdout)")
        #expect(!did("2001", "flags", "\\Deleted"), "a refused change is not recorded as done")
        let table = try cli.run(["mailbox", "audit", "2100", "--since", "1h"]).stdout
        #expect(table.contains("2000") && table.contains("open") && table.contains("Shared") == false, "\(table)")
        // The log is sealed: nothing of an entry is in the database in the clear.
        for file in ["mailvox.sqlite", "mailvox.sqlite-wal"] {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: cli.directory + "/var/" + file))) ?? Data()
            #expect(bytes.range(of: Data("+\\Flagged".utf8)) == nil, "\(file)")
        }
    }
}
