import Foundation
import MailvoxTestSupport
import Testing

/// `mailvox deposit` → queue → `mailvox serve` → the mailbox, through the built binary.
@Suite struct DepositCLITests {
    /// An initialised data dir with mailbox 1000 and a spoken recording, `hello.wav`.
    func prepared() throws -> CLI {
        let cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        #expect(
            try cli.run(
                ["mailbox", "add", "1000", "--name", "Front Desk", "--email", "desk@example.com", "--password-stdin"],
                stdin: "long-enough-1"
            ).status == 0)
        try shell(
            "espeak-ng 'Hello, this is Ada. Please call me back about the invoice.' -w hello.wav", in: cli.directory)
        return cli
    }

    func shell(_ command: String, in directory: String) throws {
        let result = try Subprocess.shell(command, in: directory)
        #expect(result.succeeded, "\(command): \(result.output)")
    }

    func inboxCount(_ cli: CLI) throws -> Int {
        let shown = try cli.run(["mailbox", "show", "1000", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any]
        let folders = object?["folders"] as? [[String: Any]] ?? []
        return folders.first { $0["name"] as? String == "INBOX" }?["messages"] as? Int ?? -1
    }

    func waitFor(_ condition: () throws -> Bool, seconds: Double = 30) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(200_000)
        }
        return false
    }

    @Test func aDepositWaitsForServeAndLandsInTheInbox() throws {
        let cli = try prepared()
        let deposit = try cli.run([
            "deposit", "--mailbox", "1000", "--caller-number", "+4930123456", "--caller-name", "Jürgen Groß",
            "--received", "2026-11-26T09:15:00+01:00", "--urgent", "hello.wav",
        ])
        #expect(deposit.status == 0, "\(deposit.stderr)")
        #expect(
            deposit.lastLine.range(
                of: #"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"#, options: .regularExpression)
                != nil)
        #expect(try inboxCount(cli) == 0, "without a server the deposit waits")

        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        #expect(try waitFor { try inboxCount(cli) == 1 }, "never delivered")
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()

        #expect(try cli.run(["export", "--maildir", "out", "--mailbox", "1000"]).status == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: cli.directory + "/out/cur")
        let message = try String(contentsOfFile: cli.directory + "/out/cur/" + files[0], encoding: .utf8)
        #expect(message.contains("Message-ID: <\(deposit.lastLine)@localhost>"))
        #expect(message.contains("Message-Context: voice-message"))
        #expect(message.contains("X-CallingTelephoneNumber: +4930123456"))
        #expect(message.contains("Importance: high"))
        #expect(message.contains("Date: Thu, 26 Nov 2026 08:15:00 +0000"))
        #expect(message.contains("Content-Type: audio/mpeg"))
        #expect(
            !FileManager.default.fileExists(atPath: cli.directory + "/var/queue/\(deposit.lastLine).mvx"),
            "sealed deposit removed")
    }

    @Test func removingAMailboxDropsItsQueuedDeposits() throws {
        let cli = try prepared()
        let deposit = try cli.run(["deposit", "--mailbox", "1000", "hello.wav"])
        #expect(FileManager.default.fileExists(atPath: cli.directory + "/var/queue/\(deposit.lastLine).mvx"))
        let refused = try cli.run(["mailbox", "remove", "1000"])
        #expect(refused.status == 2)
        // Removed recoverably, the deposit waits with the mailbox; purged, it goes.
        #expect(try cli.run(["mailbox", "remove", "1000", "--yes"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: cli.directory + "/var/queue/\(deposit.lastLine).mvx"))
        #expect(try cli.run(["mailbox", "remove", "1000", "--yes", "--purge-now"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: cli.directory + "/var/queue/\(deposit.lastLine).mvx"))
        #expect(!(try cli.run(["queue", "list"]).stdout.contains(deposit.lastLine)))
    }

    @Test func theSameIdempotencyKeyDepositsOnce() throws {
        let cli = try prepared()
        let first = try cli.run(["deposit", "--mailbox", "1000", "--idempotency-key", "call-42", "hello.wav"])
        let second = try cli.run(["deposit", "--mailbox", "1000", "--idempotency-key", "call-42", "hello.wav"])
        #expect(first.status == 0)
        #expect(second.status == 0)
        #expect(first.lastLine == second.lastLine)
        let jobs = try cli.run(["queue", "list", "--json"])
        #expect(jobs.stdout.components(separatedBy: "\"kind\" : \"deliver\"").count == 2)
        // The key is scoped to the mailbox: another mailbox may use it.
        #expect(
            try cli.run(["mailbox", "add", "2000", "--name", "B", "--password-stdin"], stdin: "long-enough-2").status
                == 0)
        let other = try cli.run(["deposit", "--mailbox", "2000", "--idempotency-key", "call-42", "hello.wav"])
        #expect(other.lastLine != first.lastLine)
    }

    /// The same key with a different recording is refused (exit 2, naming the code) instead of
    /// answered with the first deposit's id while the new recording is dropped.
    @Test func theSameIdempotencyKeyWithAnotherRecordingIsRefused() throws {
        let cli = try prepared()
        try shell("espeak-ng 'This is Bob with a different message.' -w other.wav", in: cli.directory)
        let first = try cli.run(["deposit", "--mailbox", "1000", "--idempotency-key", "call-43", "hello.wav"])
        #expect(first.status == 0)
        let refused = try cli.run(["deposit", "--mailbox", "1000", "--idempotency-key", "call-43", "other.wav"])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("idempotency_mismatch"), "\(refused.stderr)")
        #expect(refused.stderr.contains(first.lastLine), "names the first deposit: \(refused.stderr)")
        let jobs = try cli.run(["queue", "list", "--json"])
        #expect(jobs.stdout.components(separatedBy: "\"kind\" : \"deliver\"").count == 2)
    }

    @Test(
        arguments: [
            (["--mailbox", "9999", "hello.wav"], 2, "unknown mailbox 9999"),
            (["--mailbox", "1000", "--caller-number", "+49 30 abc", "hello.wav"], 2, "caller_number"),
            (["--mailbox", "1000", "--received", "yesterday", "hello.wav"], 2, "--received"),
            (["--mailbox", "1000", "--format", "aac", "hello.wav"], 2, "--format"),
            (["--mailbox", "1000", "empty.wav"], 2, "empty"),
            (["--mailbox", "1000", "text.wav"], 2, "audio"),
            (["--mailbox", "1000", "missing.wav"], 2, "cannot read"),
            (["--mailbox", "1000", "big.wav"], 2, "limit is 2048"),
        ] as [([String], Int32, String)])
    func badDepositsQueueNothing(_ arguments: [String], _ status: Int32, _ message: String) throws {
        var cli = try prepared()
        cli.environment["MAILVOX_HTTP_MAX_BODY_BYTES"] = "2048"
        #expect(FileManager.default.createFile(atPath: cli.directory + "/big.wav", contents: Data(count: 4096)))
        #expect(FileManager.default.createFile(atPath: cli.directory + "/empty.wav", contents: Data()))
        #expect(
            FileManager.default.createFile(atPath: cli.directory + "/text.wav", contents: Data("hello, not audio".utf8))
        )
        let result = try cli.run(["deposit"] + arguments)
        #expect(result.status == status, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(try cli.run(["queue", "list", "--json"]).stdout.contains("deliver") == false)
        let queued = try FileManager.default.contentsOfDirectory(atPath: cli.directory + "/var/queue")
        #expect(queued.filter { $0.hasSuffix(".mvx") }.isEmpty)
    }

    /// docs/DESIGN.md §5.4: after deposits through all three doors — `mailvox deposit` (a file and
    /// raw µ-law on standard input), HTTPS and the drop folder — plus one refused at the door
    /// (pure silence) and one dead-lettered (its sealed file lost), no caller number or name
    /// appears anywhere under the data dir, nor in the log.
    @Test func noCallerDataUnderTheDataDirAfterDeposits() throws {
        let cli = try prepared()
        try shell(
            "sox -n -r 8000 -c 1 silence.wav trim 0 3 && sox hello.wav -r 8000 -c 1 -t ul hello.ulaw", in: cli.directory
        )
        #expect(
            try cli.run([
                "deposit", "--mailbox", "1000", "--caller-number", "+4930987654", "--caller-name", "Jürgen Groß",
                "hello.wav",
            ]).status == 0)
        let raw = try Data(contentsOf: URL(fileURLWithPath: cli.directory + "/hello.ulaw"))
        let stdin = Process()
        stdin.executableURL = URL(fileURLWithPath: CLI.binary)
        stdin.arguments = [
            "deposit", "--config", cli.directory + "/var/mailvox.toml", "--mailbox", "1000", "--format", "ulaw",
            "--caller-number", "+4930987654", "--caller-name", "Jürgen Groß", "-",
        ]
        let pipe = Pipe()
        stdin.standardInput = pipe
        stdin.standardOutput = FileHandle.nullDevice
        try stdin.run()
        pipe.fileHandleForWriting.write(raw)
        try pipe.fileHandleForWriting.close()
        stdin.waitUntilExit()
        #expect(stdin.terminationStatus == 0)
        let silent = try cli.run([
            "deposit", "--mailbox", "1000", "--caller-number", "+4930987654", "--caller-name", "Jürgen Groß",
            "silence.wav",
        ])
        #expect(silent.status == 2)
        #expect(silent.stderr.contains("silent"))
        let doomed = try cli.run([
            "deposit", "--mailbox", "1000", "--caller-number", "+4930987654", "--caller-name", "Jürgen Groß",
            "hello.wav",
        ])
        try FileManager.default.removeItem(atPath: cli.directory + "/var/queue/\(doomed.lastLine).mvx")

        // The other two doors: HTTPS and the drop folder, with the same caller.
        let token = try cli.run(["token", "create", "--name", "pbx1"]).lastLine
        let port = HTTPFrontDoorTests.freePort()
        var serving = cli
        serving.environment["MAILVOX_QUEUE_MAX_ATTEMPTS"] = "1"
        serving.environment["MAILVOX_HTTP_LISTEN"] = "127.0.0.1:\(port)"
        serving.environment["MAILVOX_INTAKE_DROP_DIR"] = cli.directory + "/drop"
        let server = try serving.start(["serve"], log: cli.directory + "/serve.log")
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        #expect(CLI.wait(for: "ready", in: cli.directory + "/serve.log"))
        let http = HTTPFrontDoorTests.Server(cli: cli, process: server, base: "https://127.0.0.1:\(port)", token: token)
        var posted = 0
        for _ in 0..<50 where posted != 202 {
            posted =
                (try? http.curl([
                    "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: audio/wav", "--data-binary",
                    "@hello.wav",
                    "\(http.base)/api/v1/mailboxes/1000/voicemails?caller_number=%2B4930987654&caller_name=J%C3%BCrgen%20Gro%C3%9F",
                ]))?.status ?? 0
            if posted != 202 { usleep(100_000) }
        }
        #expect(posted == 202)
        try FileManager.default.copyItem(atPath: cli.directory + "/hello.wav", toPath: cli.directory + "/drop/call.wav")
        try Data(#"{"mailbox": "1000", "caller_number": "+4930987654", "caller_name": "Jürgen Groß"}"#.utf8).write(
            to: URL(fileURLWithPath: cli.directory + "/drop/call.json"))
        #expect(try waitFor { try inboxCount(cli) == 4 })
        #expect(try waitFor { try cli.run(["queue", "list", "--dead", "--json"]).stdout.contains(doomed.lastLine) })
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()

        let enumerator = FileManager.default.enumerator(atPath: cli.directory + "/var")
        var checked = 0
        while let name = enumerator?.nextObject() as? String {
            let path = cli.directory + "/var/" + name
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            checked += 1
            for needle in ["+4930987654", "4930987654", "Jürgen", "Groß", "J\\u00fcrgen"] {
                #expect(data.range(of: Data(needle.utf8)) == nil, "\(needle) in \(name)")
            }
        }
        #expect(checked >= 5)
        let log = try String(contentsOfFile: cli.directory + "/serve.log", encoding: .utf8)
        #expect(!log.contains("4930987654") && !log.contains("Jürgen"), "the log at info level names no caller")
    }
}
