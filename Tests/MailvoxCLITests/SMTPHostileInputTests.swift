import Foundation
import MailvoxTestSupport
import Testing

/// The SMTP door (issue #15) against hostile clients, through its public contract only: one
/// `mailvox serve` with small limits, attacked by `Tests/smtp/hostile.py` (raw sockets), each
/// attack answered with the contract's reply codes and leaving nothing in the queue; then a
/// well-behaved PBX (smtplib, STARTTLS, AUTH) still gets its voicemail in, as IMAP shows.
@Suite(.serialized) struct SMTPHostileInputTests {
    static let smtpTools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("smtp")

    /// The `[auth]` lockout: short, so the good client at the end is no longer locked out.
    static let lockoutSeconds = 4.0
    static let idleTimeoutSeconds = 3.0

    /// One JSON line of hostile.py; each attack fills the fields it has.
    struct Report: Decodable {
        /// One run of equal replies ("452 4.5.3" × 9895).
        struct Run: Decodable {
            var reply: String
            var count: Int
        }
        /// One STARTTLS-with-injection attempt.
        struct Injection: Decodable {
            var tlsReply: String?
            var plaintextAfter: String?
            var handshake: String?
            var closed: Bool?
            var answers: [String]?
        }
        var check: String
        var error: String?
        var replies: [String]?
        var final: String?
        var finals: [String]?
        var mail: String?
        var rcpt: String?
        var noop: String?
        var answered: Int?
        var runs: [Run]?
        var closed: Bool?
        var refused: String?
        var second: String?
        var rssBeforeKb: Int?
        var rssAfterKb: Int?
        var results: [Injection]?
        var attempts: [String]?
        var retry: String?
        var retryClosed: Bool?
        var timeoutReply: String?
        var seconds: Double?
    }

    /// What the queue holds: deposits ever accepted, jobs waiting, jobs dead.
    struct QueueState: Equatable, CustomStringConvertible {
        var deposits: Int
        var waiting: Int
        var dead: Int
        var description: String { "deposits=\(deposits) waiting=\(waiting) dead=\(dead)" }
    }

    /// The running server and what the checks need to reach it.
    struct Door {
        var cli: CLI
        var smtpPort: Int
        var imapPort: Int
        var token: String
        var pid: Int32
        var certificate: String { cli.directory + "/var/tls/cert.pem" }

        /// Runs one attack of hostile.py and decodes its JSON line.
        func hostile(_ command: String, _ arguments: [String] = []) throws -> Report {
            let result = try Subprocess.run(
                Subprocess.python,
                [SMTPHostileInputTests.smtpTools.appendingPathComponent("hostile.py").path, command]
                    + ["--port", "\(smtpPort)", "--cafile", certificate] + arguments, in: cli.directory)
            let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            guard result.succeeded, let report = try? decoder.decode(Report.self, from: Data(line.utf8)) else {
                Issue.record("hostile.py \(command) exited \(result.status): \(result.output)")
                return Report(check: command, error: result.output)
            }
            if let error = report.error { Issue.record("hostile.py \(command): \(error)") }
            return report
        }

        /// Deposits are counted in the queue's table: a deposit row is written with its job in
        /// one transaction (`JobQueue.accept`) and stays after delivery, so any message the door
        /// took, delivered yet or not, shows here. `queue list` shows jobs waiting or dead.
        func queueState() throws -> QueueState {
            let count = try Subprocess.check(
                "/usr/bin/sqlite3", ["-readonly", "var/mailvox.sqlite", "SELECT count(*) FROM deposit"],
                in: cli.directory)
            func jobs(_ extra: [String]) throws -> Int {
                let list = try cli.run(["queue", "list", "--json"] + extra)
                guard list.status == 0,
                    let array = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [Any]
                else {
                    Issue.record("queue list \(extra) exited \(list.status): \(list.stdout)\(list.stderr)")
                    return -1
                }
                return array.count
            }
            return QueueState(
                deposits: Int(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1,
                waiting: try jobs([]), dead: try jobs(["--dead"]))
        }

        /// INBOX of mailbox 2000 as an IMAP client sees it (implicit TLS, curl).
        func inboxMessages() throws -> Int? {
            let status = try Subprocess.run(
                "/usr/bin/curl",
                [
                    "-sS", "--cacert", certificate, "-u", "2000:long-enough-1", "imaps://127.0.0.1:\(imapPort)/INBOX",
                    "-X", "STATUS INBOX (MESSAGES)",
                ], in: cli.directory)
            guard let range = status.stdout.range(of: #"MESSAGES (\d+)"#, options: .regularExpression) else {
                return nil
            }
            return Int(status.stdout[range].dropFirst("MESSAGES ".count))
        }
    }

    /// Starts serve on free ports with small limits, a mailbox 2000, a token, and a real
    /// voicemail (espeak-ng, sox at 8 kHz mono, pbx_mail's Asterisk format) in good.eml.
    func startDoor() throws -> (Door, Process) {
        var cli = try CLI()
        let smtpPort = Subprocess.freePort()
        let imapPort = Subprocess.freePort()
        cli.environment["MAILVOX_INBOUND_SMTP_LISTEN"] = "127.0.0.1:\(smtpPort)"
        cli.environment["MAILVOX_IMAP_LISTEN_TLS"] = "127.0.0.1:\(imapPort)"
        cli.environment["MAILVOX_INBOUND_MAX_MESSAGE_BYTES"] = "2000000"
        cli.environment["MAILVOX_INBOUND_MAX_RECIPIENTS"] = "100"
        cli.environment["MAILVOX_INBOUND_IDLE_TIMEOUT_SECONDS"] = "\(Int(Self.idleTimeoutSeconds))"
        cli.environment["MAILVOX_INBOUND_REQUIRE_AUTH"] = "true"
        // Empty: only loopback is trusted. AUTH refusals are exercised by using AUTH anyway —
        // a trusted client may authenticate, and its wrong tokens count all the same.
        cli.environment["MAILVOX_INBOUND_TRUSTED_NETWORKS"] = ""
        cli.environment["MAILVOX_AUTH_MAX_FAILURES"] = "3"
        cli.environment["MAILVOX_AUTH_LOCKOUT_SECONDS"] = "\(Int(Self.lockoutSeconds))"
        try #require(try cli.run(["init", "--data-dir", "var"]).status == 0)
        try #require(
            try cli.run(["mailbox", "add", "2000", "--name", "Grace", "--password-stdin"], stdin: "long-enough-1")
                .status == 0)
        let token = try cli.run(["token", "create", "--name", "pbx"])
        try #require(token.status == 0, "\(token.stderr)")
        try Subprocess.check(
            "/usr/bin/espeak-ng",
            ["Hello Grace, this is Ada. Please call me back about the invoice.", "-w", "speech.wav"],
            in: cli.directory)
        try Subprocess.check("/usr/bin/sox", ["speech.wav", "-r", "8000", "-c", "1", "pcm.wav"], in: cli.directory)
        try Subprocess.check(
            Subprocess.python,
            [
                Self.smtpTools.appendingPathComponent("pbx_mail.py").path, "asterisk", "--wav", "pcm.wav",
                "--caller-number", "0301234567", "--caller-name", "Ada", "--message-id", "<good-1@pbx.example.com>",
                "--out", "good.eml",
            ], in: cli.directory)
        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        let listening = CLI.wait(for: "SMTP listening", in: log) && CLI.wait(for: "IMAP listening", in: log)
        if !listening {
            server.terminate()
            server.waitUntilExit()
        }
        try #require(listening, "serve never listened: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let door = Door(
            cli: cli, smtpPort: smtpPort, imapPort: imapPort, token: token.lastLine, pid: server.processIdentifier)
        return (door, server)
    }

    @Test func hostileClientsAreRefusedAndTheDoorKeepsServing() throws {
        let (door, server) = try startDoor()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let empty = QueueState(deposits: 0, waiting: 0, dead: 0)
        #expect(try door.queueState() == empty)

        // No audio part at all (Asterisk attach=no): 554 5.6.0.
        let noAudio = try door.hostile("no-audio")
        #expect(noAudio.final?.hasPrefix("554 5.6.0") == true, "no-audio: \(noAudio.replies ?? [])")
        #expect(try door.queueState() == empty, "no-audio left something queued")

        // An audio/x-wav part that is text, random bytes, or a bare RIFF header: 554 5.6.0 each.
        let notAudio = try door.hostile("not-audio")
        #expect(notAudio.finals?.count == 3, "not-audio: \(notAudio.replies ?? [])")
        for final in notAudio.finals ?? [] { #expect(final.hasPrefix("554 5.6.0"), "not-audio: \(final)") }
        #expect(try door.queueState() == empty, "not-audio left something queued")

        // RFC 1870 §6: a declared SIZE over the limit is refused at MAIL, before any data.
        let declared = try door.hostile("size-declared")
        #expect(declared.mail?.hasPrefix("552 5.3.4") == true, "SIZE=1073741824: \(declared.replies ?? [])")
        #expect(declared.rcpt?.hasPrefix("503") == true, "no transaction may follow a refused MAIL")

        // 3 MB without SIZE: read to the end, 552 5.3.4, and the connection still serves.
        let oversize = try door.hostile("oversize", ["--bytes", "3000000"])
        #expect(oversize.final?.hasPrefix("552 5.3.4") == true, "oversize: \(oversize.replies ?? [])")
        #expect(oversize.noop?.hasPrefix("250") == true, "oversize: NOOP after the 552: \(oversize.noop ?? "none")")
        #expect(try door.queueState() == empty, "an over-limit message was queued")

        // 10,000 RCPTs pipelined: 100 accepted, then 452 4.5.3 (RFC 5321 §4.5.3.1.8). Closing
        // the connection along the way would be fine; a deposit without DATA would not.
        let flood = try door.hostile("rcpt-flood", ["--count", "10000"])
        let runs = flood.runs ?? []
        let accepted = runs.filter { $0.reply == "250 2.0.0" }.reduce(0) { $0 + $1.count }
        let firstFull = runs.firstIndex { $0.reply == "452 4.5.3" }
        #expect(accepted == 100, "rcpt-flood: \(runs.map { "\($0.reply)×\($0.count)" })")
        #expect(firstFull != nil, "rcpt-flood: never 452 4.5.3")
        if let firstFull {
            #expect(
                runs[firstFull...].allSatisfy { $0.reply == "452 4.5.3" },
                "rcpt-flood: only 452 after the 100th: \(runs.map { "\($0.reply)×\($0.count)" })")
            #expect(
                runs[..<firstFull].allSatisfy { ["250 2.0.0", "550 5.1.1", "550 5.7.1"].contains($0.reply) },
                "rcpt-flood: unknown users 550 5.1.1, a foreign domain 550 5.7.1")
        }
        #expect(flood.closed == true || flood.answered == 10000, "rcpt-flood: answered \(flood.answered ?? -1)")
        #expect(try door.queueState() == empty, "recipients without DATA were queued")

        // A megabyte of bare-LF command lines: 500 5.5.2, then 421 4.7.0 and close.
        let bareLF = try door.hostile("bare-lf", ["--bytes", "1000000"])
        let bareReplies = (bareLF.replies ?? []).dropFirst(2)  // greeting, EHLO
        #expect(bareReplies.first?.hasPrefix("500 5.5.2") == true, "bare-lf: \(bareLF.replies ?? [])")
        #expect(bareReplies.last?.hasPrefix("421 4.7.0") == true, "bare-lf: \(bareLF.replies ?? [])")
        #expect(bareLF.closed == true, "bare-lf: the connection stayed open")

        // A 1 MB line before its CRLF: 500 5.5.6, memory not kept (twice, then NOOP works).
        let longLine = try door.hostile("long-line", ["--bytes", "1000000", "--pid", "\(door.pid)"])
        #expect(longLine.refused?.hasPrefix("500 5.5.6") == true, "long-line: \(longLine.replies ?? [])")
        #expect(longLine.second?.hasPrefix("500 5.5.6") == true, "long-line: \(longLine.replies ?? [])")
        #expect(longLine.noop?.hasPrefix("250") == true, "long-line: \(longLine.replies ?? [])")
        if let before = longLine.rssBeforeKb, let after = longLine.rssAfterKb {
            #expect(after - before < 50_000, "serve grew from \(before) kB to \(after) kB on two 1 MB lines")
        }

        // STARTTLS with commands pipelined behind it (CVE-2011-0411): 220, then the server hangs
        // up; nothing is answered, and a whole injected voicemail leaves no deposit.
        let injected = try door.hostile("starttls-inject", ["--message", "good.eml"])
        #expect(injected.results?.count == 2, "starttls-inject: \(String(describing: injected.results))")
        for result in injected.results ?? [] {
            #expect(result.tlsReply?.hasPrefix("220") == true, "starttls-inject: \(result.answers ?? [])")
            #expect(result.plaintextAfter?.isEmpty == true, "injected commands answered in plaintext")
            #expect(result.answers?.count == 1, "injected commands answered: \(result.answers ?? [])")
            #expect(result.closed == true, "starttls-inject: still open (handshake \(result.handshake ?? "?"))")
        }
        #expect(try door.queueState() == empty, "an injected transaction was queued")

        // AUTH PLAIN with wrong tokens under TLS: 535 5.7.8 until max_failures (3), then 421
        // 4.7.0 and close; a new connection is refused while locked, even with the right token.
        let brute = try door.hostile("auth-brute", ["--token", door.token])
        let bruteEnded = Date()
        let attempts = brute.attempts ?? []
        #expect(attempts.count == 3, "auth-brute: \(attempts)")
        #expect(attempts.dropLast().allSatisfy { $0.hasPrefix("535 5.7.8") }, "auth-brute: \(attempts)")
        #expect(attempts.last?.hasPrefix("421 4.7.0") == true, "auth-brute: \(attempts)")
        #expect(brute.closed == true, "auth-brute: open after the lockout")
        #expect(brute.retry?.hasPrefix("421 4.7.0") == true, "auth-brute, new connection: \(brute.retry ?? "none")")
        #expect(brute.retryClosed == true, "auth-brute: the new connection stayed open")

        // Half a voicemail in DATA, then silence: 421 4.4.2 at the idle timeout, nothing queued.
        let stall = try door.hostile("stall", ["--message", "good.eml", "--timeout", "\(Self.idleTimeoutSeconds)"])
        #expect(stall.timeoutReply?.hasPrefix("421 4.4.2") == true, "stall: \(stall.replies ?? [])")
        if let seconds = stall.seconds {
            #expect(
                seconds >= Self.idleTimeoutSeconds - 0.5 && seconds < Self.idleTimeoutSeconds + 3, "stall: \(seconds) s"
            )
        }
        #expect(stall.closed == true, "stall: still open after the 421")
        #expect(try door.queueState() == empty, "a stalled DATA was queued")

        // The listener still serves: a good PBX (STARTTLS, AUTH with the token) gets 250 once
        // the address's lockout has passed, and the voicemail reaches INBOX, alone.
        let wait = Self.lockoutSeconds + 0.5 - Date().timeIntervalSince(bruteEnded)
        if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
        let good = try door.hostile("good", ["--token", door.token, "--message", "good.eml"])
        #expect(good.final?.hasPrefix("250") == true, "good: \(good.replies ?? [])")
        var messages: Int?
        for _ in 0..<60 {
            messages = try door.inboxMessages()
            if (messages ?? 0) > 0 { break }
            usleep(250_000)
        }
        #expect(messages == 1, "INBOX of 2000 has \(messages.map(String.init) ?? "no answer") messages")
        let final = try door.queueState()
        #expect(final.deposits == 1 && final.dead == 0, "at the end: \(final)")
    }
}
