import Foundation
import MailvoxTestSupport
import Testing

/// The SMTP/LMTP door (#15) driven by clients nobody here wrote — Python's smtplib, swaks,
/// msmtp, Postfix relaying over LMTP, and `mailvox sendmail -t` as Asterisk's mailcmd — with
/// voicemail mails in the formats the PBXs write (Tests/smtp/pbx_mail.py). Each lands in the
/// mailbox its address names, with the caller taken from the mail, as an IMAP client sees it.
@Suite(.serialized) struct SMTPDoorTests {
    static let smtpDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("smtp")
    static func script(_ name: String) -> String { smtpDir.appendingPathComponent(name).path }

    struct Door {
        var cli: CLI
        var smtp: Int
        var smtps: Int
        var lmtp: Int
        var imap: Int
        var http: Int
        var token: String
        var server: Process
        var log: String

        var config: String { cli.directory + "/var/mailvox.toml" }
        var certificate: String { cli.directory + "/var/tls/cert.pem" }

        func stop() {
            server.terminate()
            server.waitUntilExit()
        }

        /// `STATUS … (MESSAGES)` of a mailbox's INBOX, as curl's IMAP client reads it.
        func messages(_ mailbox: String) throws -> Int? {
            let result = try Subprocess.run(
                "/usr/bin/curl",
                [
                    "-sS", "--cacert", certificate, "-u", "\(mailbox):long-enough-1", "imaps://127.0.0.1:\(imap)/INBOX",
                    "-X", "STATUS INBOX (MESSAGES)",
                ])
            guard let range = result.stdout.range(of: #"MESSAGES (\d+)"#, options: .regularExpression) else {
                return nil
            }
            return Int(result.stdout[range].split(separator: " ")[1])
        }

        /// Waits until the mailbox holds `count` messages; the header of its newest one.
        func waitForMessages(_ mailbox: String, _ count: Int) throws -> String {
            for _ in 0..<150 {
                if try messages(mailbox) == count { break }
                usleep(200_000)
            }
            #expect(try messages(mailbox) == count, "mailbox \(mailbox)")
            return try Subprocess.run(
                "/usr/bin/curl",
                [
                    "-sS", "--cacert", certificate, "-u", "\(mailbox):long-enough-1",
                    "imaps://127.0.0.1:\(imap)/INBOX;UID=\(count);SECTION=HEADER",
                ]
            ).stdout
        }
    }

    static func startDoor(mailboxes: [String]) throws -> Door {
        var cli = try CLI()
        let (smtp, smtps, lmtp, imap, http) = (
            Subprocess.freePort(), Subprocess.freePort(), Subprocess.freePort(), Subprocess.freePort(),
            Subprocess.freePort()
        )
        cli.environment["MAILVOX_HTTP_LISTEN"] = "127.0.0.1:\(http)"
        cli.environment["MAILVOX_INBOUND_SMTP_LISTEN"] = "127.0.0.1:\(smtp)"
        cli.environment["MAILVOX_INBOUND_SMTPS_LISTEN"] = "127.0.0.1:\(smtps)"
        cli.environment["MAILVOX_INBOUND_LMTP_LISTEN"] = "127.0.0.1:\(lmtp)"
        cli.environment["MAILVOX_IMAP_LISTEN_TLS"] = "127.0.0.1:\(imap)"
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        for id in mailboxes {
            let added = try cli.run(
                ["mailbox", "add", id, "--name", "Box \(id)", "--password-stdin"], stdin: "long-enough-1")
            #expect(added.status == 0, "\(added.stderr)")
        }
        let token = try cli.run(["token", "create", "--name", "pbx"]).lastLine
        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        let door = Door(
            cli: cli, smtp: smtp, smtps: smtps, lmtp: lmtp, imap: imap, http: http, token: token, server: server,
            log: log)
        #expect(
            CLI.wait(for: "SMTP listening", in: log), "\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        #expect(CLI.wait(for: "IMAP listening", in: log))
        return door
    }

    /// A real recording of a voice, 8 kHz mono as PBXs record.
    static func recording(in directory: String) throws -> String {
        try Subprocess.check(
            "/usr/bin/espeak-ng", ["Hello, this is Ada. Please call me back.", "-w", "voice.wav"], in: directory)
        try Subprocess.check("/usr/bin/sox", ["voice.wav", "-r", "8000", "-c", "1", "msg.wav"], in: directory)
        try Subprocess.check("/usr/bin/lame", ["--quiet", "msg.wav", "msg.mp3"], in: directory)
        return directory + "/msg.wav"
    }

    static func build(_ format: String, _ arguments: [String], in directory: String, name: String) throws -> String {
        let out = directory + "/" + name
        try Subprocess.check(
            Subprocess.python, [script("pbx_mail.py"), format] + arguments + ["--out", out], in: directory)
        return out
    }

    @Test func everyPBXFormatAndClientLandsInItsMailboxWithItsCaller() throws {
        let door = try Self.startDoor(mailboxes: ["2000", "2001", "2002", "2003", "2004", "2005"])
        defer { door.stop() }
        let dir = door.cli.directory
        let wav = try Self.recording(in: dir)
        #expect(try door.cli.run(["mailbox", "set", "2001", "--alias", "grace@localhost"]).status == 0)

        // Asterisk's app_voicemail mail, over STARTTLS + AUTH (a token) with Python's smtplib.
        let asterisk = try Self.build(
            "asterisk",
            [
                "--wav", wav, "--caller-number", "+4930123456", "--caller-name", "Ada Lovelace", "--to",
                "2000@localhost",
            ],
            in: dir, name: "asterisk.eml")
        let sent = try Subprocess.run(
            Subprocess.python,
            [
                Self.script("smtplib_send.py"), "--port", "\(door.smtp)", "--starttls", "--user", "pbx", "--password",
                door.token, "--from", "asterisk@pbx.example.com", "--to", "2000@localhost", asterisk,
            ])
        #expect(sent.stdout.contains(#""code": 250"#), "\(sent.output)")
        let header2000 = try door.waitForMessages("2000", 1)
        #expect(header2000.contains("Ada Lovelace"), "\(header2000)")
        #expect(header2000.contains("+4930123456"), "\(header2000)")

        // FreeSWITCH's mail to an alias with +detail, sent by swaks with STARTTLS, AUTH and PIPELINING.
        let freeswitch = try Self.build(
            "freeswitch",
            [
                "--wav", wav, "--caller-number", "+4940555666", "--caller-name", "Bob Builder", "--to",
                "grace+vm@localhost",
            ],
            in: dir, name: "freeswitch.eml")
        let swaks = try Subprocess.run(
            "/usr/bin/swaks",
            [
                "--server", "127.0.0.1", "--port", "\(door.smtp)", "--tls", "--auth", "PLAIN", "--auth-user", "pbx",
                "--auth-password", door.token, "--pipeline", "--from", "freeswitch@pbx.example.com", "--to",
                "grace+vm@localhost", "--data", "@\(freeswitch)",
            ])
        #expect(swaks.status == 0, "\(swaks.output)")
        #expect(swaks.stdout.contains("250 2.0.0 Queued as"), "\(swaks.output)")
        let header2001 = try door.waitForMessages("2001", 1)
        #expect(header2001.contains("Bob Builder") && header2001.contains("+4940555666"), "\(header2001)")

        // A 3CX-style mail with an MP3, caller in the Subject, by msmtp in implicit TLS.
        let threecx = try Self.build(
            "threecx",
            [
                "--audio", dir + "/msg.mp3", "--format", "mp3", "--caller-number", "+4930999888", "--caller-name",
                "Carol Danvers", "--to", "2002@localhost",
            ],
            in: dir, name: "threecx.eml")
        let msmtp = try Subprocess.run(
            "/bin/sh",
            [
                "-c",
                "/usr/bin/msmtp --host=127.0.0.1 --port=\(door.smtps) --tls=on --tls-starttls=off --tls-certcheck=off "
                    + "--auth=login --user=3cx --passwordeval='echo \(door.token)' --from=3cx@pbx.example.com "
                    + "2002@localhost < \(threecx)",
            ])
        #expect(msmtp.status == 0, "\(msmtp.output)")
        let header2002 = try door.waitForMessages("2002", 1)
        #expect(header2002.contains("Carol Danvers") && header2002.contains("+4930999888"), "\(header2002)")

        // `mailvox sendmail -t` as Asterisk's mailcmd: LF line ends and the final dot line, exactly
        // what app_voicemail pipes; no running server needed, the queue takes it.
        let raw = try Self.build(
            "asterisk",
            [
                "--wav", wav, "--caller-number", "0301234567", "--caller-name", "Dan Brown", "--to", "2004@localhost",
                "--raw",
            ],
            in: dir, name: "raw.eml")
        let mailcmd = try Subprocess.run(
            CLI.binary, ["sendmail", "--config", door.config, "-t"], in: dir,
            stdin: try Data(contentsOf: URL(fileURLWithPath: raw)))
        #expect(mailcmd.status == 0, "\(mailcmd.output)")
        let header2004 = try door.waitForMessages("2004", 1)
        #expect(header2004.contains("Dan Brown") && header2004.contains("0301234567"), "\(header2004)")

        // The same Asterisk mail again (a PBX or MTA retrying after a lost answer): no second voicemail.
        let again = try Subprocess.run(
            Subprocess.python,
            [
                Self.script("smtplib_send.py"), "--port", "\(door.smtp)", "--starttls", "--user", "pbx", "--password",
                door.token, "--from", "asterisk@pbx.example.com", "--to", "2000@localhost", asterisk,
            ])
        #expect(again.stdout.contains("Already queued as"), "\(again.output)")

        // One mail to two mailboxes is one voicemail in each.
        let octet = try Self.build(
            "octet-stream",
            ["--audio", wav, "--caller-number", "+4930111222", "--caller-name", "Eve Adams", "--to", "2003@localhost"],
            in: dir, name: "octet.eml")
        let both = try Subprocess.run(
            Subprocess.python,
            [
                Self.script("smtplib_send.py"), "--port", "\(door.smtp)", "--from", "phones@pbx.example.com",
                "--to", "2003@localhost", "--to", "2005@localhost", octet,
            ])
        #expect(both.stdout.contains(#""code": 250"#), "\(both.output)")
        for mailbox in ["2003", "2005"] {
            let header = try door.waitForMessages(mailbox, 1)
            #expect(header.contains("Eve Adams") && header.contains("+4930111222"), "\(header)")
        }
        #expect(try door.messages("2000") == 1)

        // /metrics counts what the door took, per recipient and result: Asterisk, FreeSWITCH, 3CX,
        // the resend (a 250 too) and the two mailboxes of one mail; sendmail does not pass serve.
        let metrics = try Subprocess.run(
            "/usr/bin/curl", ["-sS", "--cacert", door.certificate, "https://127.0.0.1:\(door.http)/metrics"])
        #expect(metrics.stdout.contains(#"mailvox_inbound_deliveries{result="accepted"} 6"#), "\(metrics.output)")
    }

    @Test func sendmailExitCodesAreSendmails() throws {
        var cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        #expect(
            try cli.run(["mailbox", "add", "2000", "--name", "Grace", "--password-stdin"], stdin: "long-enough-1")
                .status == 0)
        cli.environment["MAILVOX_CONFIG"] = cli.directory + "/var/mailvox.toml"
        let wav = try Self.recording(in: cli.directory)
        let good = try Data(
            contentsOf: URL(
                fileURLWithPath: try Self.build(
                    "asterisk", ["--wav", wav, "--to", "2000@localhost", "--raw"], in: cli.directory, name: "a.eml")))
        let noAudio = try Data(
            contentsOf: URL(
                fileURLWithPath: try Self.build(
                    "no-audio", ["--to", "2000@localhost"], in: cli.directory, name: "n.eml")))
        func sendmail(_ arguments: [String], _ input: Data) throws -> Int32 {
            try Subprocess.run(
                CLI.binary, ["sendmail"] + arguments, in: cli.directory,
                environment: ["MAILVOX_CONFIG": cli.directory + "/var/mailvox.toml"], stdin: input
            ).status
        }
        #expect(try sendmail(["-t"], good) == 0)
        #expect(try sendmail(["-oi", "2000"], good) == 0)
        #expect(try sendmail(["nobody@localhost"], good) == 67)  // EX_NOUSER
        #expect(try sendmail(["2000@elsewhere.example"], good) == 67)
        #expect(try sendmail(["-t"], noAudio) == 65)  // EX_DATAERR
        #expect(try sendmail([], good) == 64)  // EX_USAGE: no recipient
        #expect(try sendmail(["-bs"], good) == 64)
        // One voicemail: the second good send carried the same Message-ID, and the refusals left
        // nothing half-made.
        let queue = try cli.run(["queue", "list", "--json"])
        #expect(queue.status == 0, "\(queue.stderr)")
        let jobs = try JSONSerialization.jsonObject(with: Data(queue.stdout.utf8)) as? [Any]
        #expect(jobs?.count == 1, "\(queue.stdout)")
    }

    /// A site's Postfix in front: it takes the PBX's mail on its own smtpd and relays it over
    /// LMTP (`relay_transport = lmtp:inet:…`), as docs/PBX.md's recipe sets it up.
    @Test func postfixRelaysOverLMTPIntoTheMailbox() throws {
        let door = try Self.startDoor(mailboxes: ["2100"])
        defer { door.stop() }
        let dir = door.cli.directory
        let wav = try Self.recording(in: dir)
        let postfix = Self.script("postfix.py")
        // A free port is picked, released and then bound by Postfix: under the whole suite another
        // test took one in between once ("Address already in use"), so a taken port gets another
        // try, in a fresh work dir.
        func startPostfix(_ attempt: Int) throws -> (dir: String, port: Int, result: ProcessResult) {
            let (workdir, port) = (dir + "/postfix-\(attempt)", Subprocess.freePort())
            let result = try Subprocess.run(
                Subprocess.python,
                [
                    postfix, "start", "--workdir", workdir, "--port", "\(port)", "--mode", "relay", "--domain",
                    "localhost", "--lmtp", "127.0.0.1:\(door.lmtp)",
                ])
            return (workdir, port, result)
        }
        var run = try startPostfix(1)
        for attempt in 2...3 where !run.result.succeeded && run.result.output.contains("Address already in use") {
            run = try startPostfix(attempt)
        }
        let (postfixDir, postfixPort, started) = run
        #expect(started.succeeded, "\(started.output)")
        defer { _ = try? Subprocess.run(Subprocess.python, [postfix, "stop", "--workdir", postfixDir]) }
        let mail = try Self.build(
            "asterisk",
            [
                "--wav", wav, "--caller-number", "+4930777888", "--caller-name", "Frank Castle", "--to",
                "2100@localhost",
            ],
            in: dir, name: "relayed.eml")
        let swaks = try Subprocess.run(
            "/usr/bin/swaks",
            [
                "--server", "127.0.0.1", "--port", "\(postfixPort)", "--from", "asterisk@pbx.example.com", "--to",
                "2100@localhost", "--data", "@\(mail)",
            ])
        #expect(swaks.status == 0, "\(swaks.output)")
        let waited = try Subprocess.run(
            Subprocess.python, [postfix, "wait", "--workdir", postfixDir, "--count", "1", "--timeout", "60"])
        let postfixLog = try Subprocess.run(Subprocess.python, [postfix, "log", "--workdir", postfixDir]).stdout
        #expect(waited.succeeded, "\(postfixLog)")
        // Postfix's own log names Mailvox's LMTP answer.
        #expect(postfixLog.contains("status=sent"), "\(postfixLog)")
        let header = try door.waitForMessages("2100", 1)
        #expect(header.contains("Frank Castle") && header.contains("+4930777888"), "\(header)")
    }
}
