import Foundation
import MailvoxTestSupport
import Testing

/// `mailvox deposit` → `mailvox serve` → a real SMTP relay (aiosmtpd) and a test-owned SMS
/// gateway, through the built binary; the received mail is read with Python's `email`.
@Suite(.serialized) struct AlertEndToEndTests {
    static let parser = Relay.folder + "/parse_alert.py"

    /// An initialised data dir, alerts pointed at `relay`, backoff of one second.
    func prepared(relay: Relay, extra: [String: String] = [:]) throws -> CLI {
        var cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        cli.environment.merge(
            [
                "MAILVOX_SMTP_HOST": "127.0.0.1", "MAILVOX_SMTP_PORT": "\(relay.port)", "MAILVOX_SMTP_SECURITY": "none",
                "MAILVOX_QUEUE_BACKOFF_INITIAL_SECONDS": "1", "MAILVOX_QUEUE_MAX_ATTEMPTS": "4",
            ].merging(extra) { $1 }
        ) { $1 }
        try shell(
            "espeak-ng 'Hello, this is Juergen. Please call me back about the invoice.' -w hello.wav", in: cli.directory
        )
        return cli
    }

    func waitFor(seconds: Double = 60, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(200_000)
        }
        return false
    }

    func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    func alerts(_ cli: CLI, _ mailbox: String) throws -> [[String: Any]] {
        json(try cli.run(["mailbox", "show", mailbox, "--json"]).stdout)["alerts"] as? [[String: Any]] ?? []
    }

    func secretFile(_ path: String, _ text: String) throws {
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
    }

    /// A department's voicemail alerts the department's own address and each member who opted
    /// in (#16): one mail per person, even when a member shares the department's address or is
    /// listed twice over, and none for a member who did not opt in.
    @Test func aDepartmentsVoicemailAlertsEachOptedInMemberOnce() throws {
        let work = try temporaryDirectory()
        let relay = try Relay([], directory: work)
        let cli = try prepared(relay: relay)
        for (id, name, email) in [
            ("2100", "Support", "support@example.com"), ("2000", "Ada", "ada@example.com"),
            ("2001", "Bob", "bob@example.com"), ("2002", "Cy", "support@example.com"),
        ] {
            let added = try cli.run(
                ["mailbox", "add", id, "--name", name, "--email", email, "--password-stdin"], stdin: "long-enough-1")
            #expect(added.status == 0, "\(added.stderr)")
        }
        for (member, alerts) in [("2000", "email"), ("2001", "none"), ("2002", "email,sms")] {
            #expect(try cli.run(["mailbox", "member", "add", "2100", member, "--alerts", alerts]).status == 0)
        }
        #expect(
            try cli.run(["deposit", "--mailbox", "2100", "--caller-number", "+4930123456", "hello.wav"]).status == 0)
        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        #expect(
            waitFor { relay.messages().count >= 2 && ((try? alerts(cli, "2100")) ?? []).count >= 2 },
            "alerts never arrived; log: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        sleep(2)
        let recipients = relay.messages().flatMap { $0.envelope["rcpt_tos"] as? [String] ?? [] }.sorted()
        #expect(recipients == ["ada@example.com", "support@example.com"], "\(recipients)")
        #expect(!recipients.contains("bob@example.com"))
    }

    @Test func aVoicemailReachesTheRelayAndTheGatewayAndARejectedRecipientDeadLetters() throws {
        let work = try temporaryDirectory()
        let relay = try Relay(["--reject", "gone@example.com"], directory: work)
        try secretFile(work + "/sms.secret", "hook-secret\n")
        let gateway = try Relay(
            ["--secret-file", work + "/sms.secret"], directory: work, script: Relay.folder + "/sms_receiver.py")
        let httpPort = try shell(
            "/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'",
            in: work
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        let cli = try prepared(
            relay: relay,
            extra: [
                "MAILVOX_HTTP_LISTEN": "127.0.0.1:\(httpPort)", "MAILVOX_SMS_PROVIDER": "webhook",
                "MAILVOX_SMS_WEBHOOK_URL": "http://127.0.0.1:\(gateway.port)/hook",
                "MAILVOX_SMS_WEBHOOK_SECRET_FILE": work + "/sms.secret",
            ])
        let added = try cli.run(
            [
                "mailbox", "add", "1000", "--name", "Front Desk", "--email", "desk@example.com", "--email",
                "gone@example.com", "--sms", "+4915112345678", "--password-stdin",
            ], stdin: "long-enough-1")
        #expect(added.status == 0, "\(added.stderr)")
        let deposit = try cli.run([
            "deposit", "--mailbox", "1000", "--caller-number", "+4930123456", "--caller-name", "Jürgen Groß",
            "hello.wav",
        ])
        #expect(deposit.status == 0, "\(deposit.stderr)")
        let depositID = deposit.lastLine

        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        func settled() -> Bool {
            let results = (try? alerts(cli, "1000")) ?? []
            return relay.messages().count == 1 && gateway.requests().count == 1 && results.count == 3
                && results.allSatisfy { $0["outcome"] as? String != "retrying" }
        }
        #expect(
            waitFor { settled() },
            "alerts never all settled; log: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        // A permanent failure is not retried: one 550, no storm.
        sleep(3)
        #expect(relay.events().filter { $0 == "reply 550 rcpt gone@example.com" }.count == 1)
        #expect(relay.messages().count == 1, "the accepted recipient gets exactly one mail")
        let metrics = try shell("curl -sk https://127.0.0.1:\(httpPort)/metrics", in: work)
        for (channel, outcome, value) in [("email", "sent", 1), ("email", "failed", 1), ("sms", "sent", 1)] {
            #expect(
                metrics.split(separator: "\n").contains {
                    $0.hasPrefix("mailvox_alert_recipients") && $0.contains("channel=\"\(channel)\"")
                        && $0.contains("outcome=\"\(outcome)\"") && $0.hasSuffix(" \(value)")
                        || $0.hasSuffix(" \(value).0") && $0.contains("channel=\"\(channel)\"")
                            && $0.contains("outcome=\"\(outcome)\"")
                }, "\(metrics)")
        }
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()

        // The mail as the relay received it.
        let received = try #require(relay.messages().first)
        #expect(received.envelope["mail_from"] as? String == "voicemail@localhost")
        #expect(received.envelope["rcpt_tos"] as? [String] == ["desk@example.com"])
        #expect(received.envelope["ehlo"] as? String == "localhost")
        let fromLine = received.eml.components(separatedBy: "\r\n").first { $0.hasPrefix("From:") } ?? ""
        #expect(fromLine.contains("=?utf-8?"), "non-ASCII display name is RFC 2047-encoded: \(fromLine)")
        try received.eml.write(toFile: work + "/alert.eml", atomically: true, encoding: .utf8)
        let parsed = json(try shell("/usr/bin/python3 \(Self.parser) alert.eml \(work)", in: work))
        #expect(parsed["from"] as? String == "Jürgen Groß (+4930123456) via Voicemail <voicemail@localhost>")
        #expect(parsed["message_id"] as? String == "<\(depositID)@localhost>")
        #expect(parsed["defects"] as? Int == 0)
        let audio = parsed["audio"] as? [[String: Any]] ?? []
        #expect(audio.count == 1)
        #expect(audio.first?["type"] as? String == "audio/mpeg")
        let stated = Double(audio.first?["duration"] as? String ?? "") ?? -1
        let probe = try cli.run(["audio", "probe", audio.first?["path"] as? String ?? "missing"])
        #expect(probe.status == 0, "\(probe.stderr)")
        let measured =
            probe.stdout.split(separator: "\n").first { $0.hasPrefix("duration:") }.flatMap {
                Double($0.dropFirst("duration:".count).trimmingCharacters(in: .whitespaces))
            } ?? -100
        #expect(abs(measured - stated) <= 1.0, "attachment plays \(measured) s, Content-Duration says \(stated)")
        #expect(stated >= 2)

        // The SMS as the gateway received it.
        let sms = try #require(gateway.requests().first)
        #expect(sms["signature_valid"] as? Bool == true)
        let body = json(sms["body"] as? String ?? "")
        #expect(body["event"] as? String == "voicemail.new")
        #expect(body["deposit_id"] as? String == depositID)
        #expect(body["to"] as? String == "+4915112345678")
        #expect(body["caller_number"] as? String == "+4930123456")
        #expect(body["caller_name"] as? String == "Jürgen Groß")
        let text = body["text"] as? String ?? ""
        #expect(text.contains("Jürgen Groß") && text.count <= 160, "GSM-7 text (ü and ß are in it): \(text)")

        // What the owner sees: the last result per recipient.
        let results = try alerts(cli, "1000")
        func result(_ recipient: String) -> [String: Any] {
            results.first { $0["recipient"] as? String == recipient } ?? [:]
        }
        #expect(result("desk@example.com")["outcome"] as? String == "sent")
        #expect(result("+4915112345678")["outcome"] as? String == "sent")
        #expect(result("gone@example.com")["outcome"] as? String == "failed")
        #expect(result("gone@example.com")["attempts"] as? Int == 1)
        #expect((result("gone@example.com")["detail"] as? String ?? "").contains("550"))
        let shown = try cli.run(["mailbox", "show", "1000"]).stdout
        #expect(shown.contains("last alerts:") && shown.contains("failed"))
        let dead = try cli.run(["queue", "list", "--dead", "--json"]).stdout
        #expect(dead.contains("gone@example.com"))

        // The alert copy is gone once every notify job finished, and nothing under the data
        // dir — nor the log at the default level — names the caller.
        let copies = (try? FileManager.default.contentsOfDirectory(atPath: cli.directory + "/var/queue/notify")) ?? []
        #expect(copies.isEmpty, "\(copies)")
        for needle in ["4930123456", "Jürgen", "Groß", "Juergen", "J\\xfcrgen"] {
            let grep = Process()
            grep.executableURL = URL(fileURLWithPath: "/bin/grep")
            grep.arguments = ["-r", "-a", "-l", "-F", "-e", needle, cli.directory + "/var", log]
            let output = Pipe()
            grep.standardOutput = output
            try grep.run()
            let found = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            grep.waitUntilExit()
            #expect(found.isEmpty, "\(needle) found in \(found)")
        }
    }

    @Test func a451IsRetriedOverSTARTTLSWithAuthAndDeleteAfterEmailExpunges() throws {
        let work = try temporaryDirectory()
        let certificates = try TestCertificates(directory: work + "/tls")
        let relay = try Relay(
            [
                "--mode", "starttls", "--cert", certificates.goodCert, "--key", certificates.goodKey, "--auth",
                "alerts:relay-pass", "--fail-first", "1",
            ], directory: work)
        try secretFile(work + "/smtp.pass", "relay-pass\n")
        let cli = try prepared(
            relay: relay,
            extra: [
                "MAILVOX_SMTP_HOST": "localhost", "MAILVOX_SMTP_SECURITY": "starttls",
                "MAILVOX_SMTP_CA_FILE": certificates.ca, "MAILVOX_SMTP_USERNAME": "alerts",
                "MAILVOX_SMTP_PASSWORD_FILE": work + "/smtp.pass", "MAILVOX_SERVER_HOSTNAME": "vm.example.net",
            ])
        #expect(
            try cli.run(
                [
                    "mailbox", "add", "2000", "--name", "Email Only", "--email", "only@example.com",
                    "--no-attach-audio", "--delete-after-email", "--password-stdin",
                ], stdin: "long-enough-2"
            ).status == 0)
        let deposit = try cli.run(["deposit", "--mailbox", "2000", "--caller-number", "201", "hello.wav"])
        #expect(deposit.status == 0, "\(deposit.stderr)")
        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        func inbox() throws -> Int {
            let folders =
                json(try cli.run(["mailbox", "show", "2000", "--json"]).stdout)["folders"] as? [[String: Any]]
            return folders?.first { $0["name"] as? String == "INBOX" }?["messages"] as? Int ?? -1
        }
        func sent() -> Bool {
            relay.messages().count == 1 && (try? alerts(cli, "2000"))?.first?["outcome"] as? String == "sent"
        }
        #expect(
            waitFor { sent() },
            "never delivered after the 451; log: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let events = relay.events()
        let first451 = events.firstIndex(of: "reply 451 data") ?? Int.max
        let then250 = events.lastIndex(of: "reply 250 data") ?? -1
        #expect(first451 < then250, "\(events)")
        #expect(try alerts(cli, "2000").first?["attempts"] as? Int == 2)
        #expect(try waitFor(seconds: 10) { try inbox() == 0 }, "delete_after_email did not expunge")
        // Expunged recoverably, as every deletion is (#19): the voicemail waits in Recently Deleted.
        let deleted = try cli.run(["mailbox", "deleted", "2000", "--json"]).stdout
        let kept = (try? JSONSerialization.jsonObject(with: Data(deleted.utf8)) as? [[String: Any]]) ?? []
        #expect(kept.count == 1 && kept.first?["deleted_by"] as? String == "delete_after_email", "\(deleted)")
        #expect(kept.first?["caller"] as? String == "201", "\(deleted)")

        let received = try #require(relay.messages().first)
        #expect(received.envelope["tls"] as? Bool == true)
        #expect(received.envelope["authenticated"] as? Bool == true)
        #expect(received.envelope["ehlo"] as? String == "vm.example.net")
        try received.eml.write(toFile: work + "/alert.eml", atomically: true, encoding: .utf8)
        let parsed = json(try shell("/usr/bin/python3 \(Self.parser) alert.eml \(work)", in: work))
        #expect((parsed["audio"] as? [Any])?.isEmpty == true, "--no-attach-audio sends no audio part")
        #expect(parsed["from"] as? String == "201 via Voicemail <voicemail@localhost>")
        #expect(!((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("relay-pass"))
    }
}
