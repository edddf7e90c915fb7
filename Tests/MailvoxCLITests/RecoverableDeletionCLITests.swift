import Foundation
import MailvoxTestSupport
import Testing

/// Nothing deleted by accident (#19), as users meet it: a voicemail the pipeline made is
/// deleted by imaplib over `serve`, `mailbox deleted` names it and who deleted it, `mailbox
/// restore` brings back the very bytes, a MOVE out of Recently Deleted restores too, and
/// `mailvox maintenance --now` purges only past the window and never while the mailbox is held.
@Suite(.serialized) struct RecoverableDeletionCLITests {
    func python(_ script: String, _ arguments: [String], in directory: String) throws -> ProcessResult {
        try Subprocess.run(
            Subprocess.python, [IMAPServeTests.clients.appendingPathComponent(script).path] + arguments,
            in: directory)
    }

    @Test func deletedRestoredAndPurgedThroughTheFrontDoors() throws {
        var cli = try CLI()
        let port = IMAPServeTests.freePort()
        cli.environment["MAILVOX_IMAP_LISTEN"] = "127.0.0.1:\(IMAPServeTests.freePort())"
        cli.environment["MAILVOX_IMAP_LISTEN_TLS"] = "127.0.0.1:\(port)"
        try #require(try cli.run(["init", "--data-dir", "var"]).status == 0)
        try #require(
            try cli.run(["mailbox", "add", "1000", "--name", "Orders", "--password-stdin"], stdin: "long-enough-1")
                .status == 0)
        let speech = try Subprocess.run(
            "/usr/bin/espeak-ng", ["Please call me back about the order.", "-w", "call.wav"], in: cli.directory)
        #expect(speech.status == 0, "\(speech.output)")
        for number in ["+4930123456", "+4930999999", "+4930555555"] {
            #expect(try cli.run(["deposit", "--mailbox", "1000", "--caller-number", number, "call.wav"]).status == 0)
        }
        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        #expect(CLI.wait(for: "IMAP listening", in: log))
        let certificate = cli.directory + "/var/tls/cert.pem"
        let login = ["127.0.0.1", "\(port)", certificate, "1000", "long-enough-1"]
        // All three delivered, as a client sees it.
        var delivered = false
        for _ in 0..<150 where !delivered {
            let status = try Subprocess.run(
                "/usr/bin/curl",
                [
                    "-sS", "--cacert", certificate, "-u", "1000:long-enough-1", "imaps://127.0.0.1:\(port)/INBOX",
                    "-X", "STATUS INBOX (MESSAGES)",
                ], in: cli.directory)
            delivered = status.stdout.contains("MESSAGES 3")
            if !delivered { usleep(200_000) }
        }
        try #require(delivered)

        let deleted = try python("recoverable.py", login + ["delete", "saved.eml"], in: cli.directory)
        #expect(deleted.status == 0 && deleted.stdout.contains("PASS"), "\(deleted.output)")

        let listing = try cli.run(["mailbox", "deleted", "1000", "--json"])
        #expect(listing.status == 0, "\(listing.stderr)")
        let entries = (try? JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [[String: Any]]) ?? []
        #expect(entries.count == 1)
        #expect(entries.first?["folder"] as? String == "INBOX")
        #expect(entries.first?["original_uid"] as? Int == 1)
        // Two deliver workers may take the deposits in either order, so UID 1 is one of the three.
        #expect(["+4930123456", "+4930999999", "+4930555555"].contains(entries.first?["caller"] as? String ?? ""))
        #expect((entries.first?["deleted_by"] as? String)?.hasPrefix("1000 from 127.0.0.1") == true, "\(entries)")

        let unknown = try cli.run(["mailbox", "restore", "1000", "--uid", "INBOX:99"])
        #expect(unknown.status != 0 && unknown.stderr.contains("nothing deleted from INBOX with UID 99"))
        let restore = try cli.run(["mailbox", "restore", "1000", "--uid", "INBOX:1"])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.contains("restored INBOX:1 as INBOX:4"), "\(restore.stdout)")
        let restored = try python("recoverable.py", login + ["restored", "saved.eml"], in: cli.directory)
        #expect(restored.status == 0 && restored.stdout.contains("PASS"), "\(restored.output)")

        let moved = try python("recoverable.py", login + ["move-out"], in: cli.directory)
        #expect(moved.status == 0 && moved.stdout.contains("PASS"), "\(moved.output)")

        // One more deletion, then the clock moves on: held, nothing goes; released, it does.
        let again = try python("recoverable.py", login + ["delete", "second.eml"], in: cli.directory)
        #expect(again.status == 0, "\(again.output)")
        let later = ISO8601DateFormatter().string(from: Date().addingTimeInterval(31 * 86_400))
        let soon = ISO8601DateFormatter().string(from: Date().addingTimeInterval(29 * 86_400))
        #expect(try cli.run(["maintenance", "--now", soon]).stdout.contains("purged 0 from Recently Deleted"))
        #expect(try cli.run(["mailbox", "set", "1000", "--trash-days", "7"]).status == 0)
        let shown = try cli.run(["mailbox", "show", "1000"]).stdout
        #expect(shown.contains("Trash 7 days, INBOX kept ([retention]), Saved kept ([retention])"), "\(shown)")
        #expect(try cli.run(["mailbox", "hold", "1000", "--on", "--reason", "dispute 17"]).status == 0)
        #expect(try cli.run(["mailbox", "show", "1000"]).stdout.contains("ON since"))
        let remove = try cli.run(["mailbox", "remove", "1000", "--yes"])
        #expect(remove.status != 0 && remove.stderr.contains("on hold"), "\(remove.stderr)")
        #expect(try cli.run(["maintenance", "--now", later]).stdout.contains("purged 0 from Recently Deleted"))
        #expect(try cli.run(["mailbox", "hold", "1000", "--off"]).status == 0)
        let purge = try cli.run(["maintenance", "--now", later])
        #expect(purge.stdout.contains("purged 1 from Recently Deleted"), "\(purge.stdout)\(purge.stderr)")
        let left = try cli.run(["mailbox", "deleted", "1000", "--json"])
        #expect(
            (try? JSONSerialization.jsonObject(with: Data(left.stdout.utf8)) as? [Any])?.isEmpty == true,
            "\(left.stdout)\(left.stderr)")
        // mbsync: a voicemail deleted in the local Maildir is expunged on the server at the next
        // sync — and kept there in Recently Deleted, which mbsync syncs down read-only.
        let mbsync = try MBSync(home: cli.directory + "/home")
        try mbsync.configure(port: port, user: "1000", password: "long-enough-1", certificate: certificate)
        let pulled = try mbsync.sync()
        #expect(pulled.status == 0, "\(pulled.output)")
        let victim = try #require(try mbsync.files("INBOX").sorted().first)
        try FileManager.default.removeItem(atPath: mbsync.maildir + "/INBOX/" + victim)
        let pushed = try mbsync.sync()
        #expect(pushed.status == 0, "\(pushed.output)")
        let afterSync = try cli.run(["mailbox", "deleted", "1000", "--json"])
        let synced = (try? JSONSerialization.jsonObject(with: Data(afterSync.stdout.utf8)) as? [[String: Any]]) ?? []
        #expect(synced.count == 1 && synced.first?["folder"] as? String == "INBOX", "\(afterSync.stdout)")
        #expect((synced.first?["deleted_by"] as? String)?.hasPrefix("1000 from 127.0.0.1") == true)
        let again2 = try mbsync.sync()
        #expect(again2.status == 0, "mbsync syncs Recently Deleted down without error: \(again2.output)")
        let bin = try mbsync.files("Recently Deleted")
        #expect(bin.count == 1, "\(bin)")

        // A removed mailbox: no login while removed, back with undelete, purged after the window.
        #expect(try cli.run(["mailbox", "remove", "1000", "--yes"]).status == 0)
        let refusedLogin = try python("recoverable.py", login + ["restored", "second.eml"], in: cli.directory)
        #expect(refusedLogin.status != 0 && refusedLogin.output.contains("LOGIN"), "\(refusedLogin.output)")
        #expect(try cli.run(["mailbox", "undelete", "1000"]).status == 0)
        let back = try Subprocess.run(
            "/usr/bin/curl",
            [
                "-sS", "--cacert", certificate, "-u", "1000:long-enough-1", "imaps://127.0.0.1:\(port)/INBOX",
                "-X", "STATUS \"Recently Deleted\" (MESSAGES)",
            ], in: cli.directory)
        #expect(back.stdout.contains("MESSAGES 1"), "undeleted with what it held: \(back.output)")
        #expect(try cli.run(["mailbox", "remove", "1000", "--yes"]).status == 0)
        #expect(try cli.run(["maintenance", "--now", soon]).stdout.contains("purged removed") == false)
        let gone = try cli.run(["maintenance", "--now", later])
        #expect(gone.stdout.contains("purged removed mailbox 1000"), "\(gone.stdout)")
        #expect(try cli.run(["mailbox", "list", "--removed"]).stdout.contains("1000") == false)
        #expect(!FileManager.default.fileExists(atPath: cli.directory + "/var/spool/1000"))
    }
}
