import Foundation
import MailvoxTestSupport
import Testing

/// A mailbox's quota through every door (#14, QUOTA): the owner is warned once when a delivery
/// crosses `[quota] warn_percent`, and a full mailbox is refused by the CLI (exit 1), HTTPS (507
/// `mailbox_full`) and SMTP (`452 4.2.2` at RCPT), with nothing queued.
@Suite(.serialized) struct QuotaEndToEndTests {
    @Test func theOwnerIsWarnedOnceAndAFullMailboxIsRefusedAtEveryDoor() throws {
        let work = try temporaryDirectory()
        let relay = try Relay([], directory: work)
        let (http, smtp) = (Subprocess.freePort(), Subprocess.freePort())
        let tests = AlertEndToEndTests()
        let cli = try tests.prepared(
            relay: relay,
            extra: [
                "MAILVOX_HTTP_LISTEN": "127.0.0.1:\(http)", "MAILVOX_INBOUND_SMTP_LISTEN": "127.0.0.1:\(smtp)",
                "MAILVOX_QUOTA_WARN_PERCENT": "50",
            ])
        let added = try cli.run(
            [
                "mailbox", "add", "1000", "--name", "Front Desk", "--email", "desk@example.com", "--quota-messages",
                "2", "--password-stdin",
            ], stdin: "long-enough-1")
        #expect(added.status == 0, "\(added.stderr)")
        let token = try cli.run(["token", "create", "--name", "pbx"]).lastLine
        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        #expect(CLI.wait(for: "SMTP listening", in: log))

        // 1 of 2 is 50 %: this alert warns; 2 of 2 is past it already, so that one does not.
        for count in 1...2 {
            let deposit = try cli.run(["deposit", "--mailbox", "1000", "hello.wav"])
            #expect(deposit.status == 0, "\(deposit.stderr)")
            #expect(tests.waitFor { relay.messages().count == count }, "alert \(count) never came")
        }
        let texts = relay.messages().map(\.eml)
        #expect(texts.first?.contains("Your mailbox is 50% full.") == true, "\(texts.first ?? "")")
        #expect(texts.last?.contains("% full") == false)
        let shown = try cli.run(["mailbox", "show", "1000"]).stdout
        #expect(shown.contains("2 of 2 messages — FULL"), "\(shown)")
        let json = tests.json(try cli.run(["mailbox", "show", "1000", "--json"]).stdout)
        #expect(
            json["usage_messages"] as? Int == 2 && json["limit_messages"] as? Int == 2
                && json["quota_messages"] as? Int == 2)

        let refused = try cli.run(["deposit", "--mailbox", "1000", "hello.wav"])
        #expect(refused.status == 1 && refused.stderr.contains("mailbox_full"), "\(refused.status) \(refused.stderr)")
        let curl = try Subprocess.run(
            "/usr/bin/curl",
            [
                "-sk", "-w", "\n%{http_code}", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: audio/wav",
                "--data-binary", "@hello.wav", "https://127.0.0.1:\(http)/api/v1/mailboxes/1000/voicemails",
            ], in: cli.directory
        ).stdout
        #expect(curl.hasSuffix("\n507") && curl.contains("\"mailbox_full\""), "\(curl)")
        let dialogue = try Subprocess.run(
            Subprocess.python,
            [
                "-c",
                """
                import smtplib
                s = smtplib.SMTP("127.0.0.1", \(smtp), timeout=10)
                s.ehlo("pbx.example")
                s.mail("pbx@example.com")
                code, text = s.rcpt("1000@localhost")
                print(code, text.decode())
                s.quit()
                """,
            ])
        #expect(dialogue.stdout.hasPrefix("452 4.2.2"), "\(dialogue.stdout)\(dialogue.stderr)")
        #expect(
            try cli.run(["queue", "list"]).stdout.contains("deliver") == false,
            "nothing was queued for the full mailbox")

        // Raised to no limit: the next voicemail is taken again.
        #expect(try cli.run(["mailbox", "set", "1000", "--quota-messages", "0"]).status == 0)
        #expect(try cli.run(["deposit", "--mailbox", "1000", "hello.wav"]).status == 0)
    }
}
