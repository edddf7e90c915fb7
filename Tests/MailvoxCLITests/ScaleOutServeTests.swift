import Foundation
import MailvoxTestSupport
import Synchronization
import Testing

/// Several `mailvox serve` nodes over one PostgreSQL database and one bucket (docs/SCALE-OUT.md),
/// each with a data dir of its own and the same master key file, driven by curl and imaplib.
@Suite(.serialized) struct ScaleOutServeTests {
    static let clients = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MailvoxIMAPTests/Clients")

    /// One node: its CLI (data dir, environment), its ports and its running server.
    /// Unchecked: its `Process` is touched under the crash test's lock only.
    struct Node: @unchecked Sendable {
        var cli: CLI
        var http: Int
        var imap: Int
        var log: String
        var process: Process?
        var certificate: String { cli.directory + "/var/tls/cert.pem" }
        var base: String { "https://127.0.0.1:\(http)" }

        func logText() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        /// curl against this node's HTTP door; body and status.
        func curl(_ arguments: [String]) throws -> (body: String, status: Int) {
            let result = try Subprocess.run(
                "/usr/bin/curl", ["-sk", "-w", "\n%{http_code}"] + arguments, in: cli.directory)
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (lines.dropLast().joined(separator: "\n"), Int(lines.last ?? "") ?? 0)
        }

        /// One IMAP command through curl on this node's implicit-TLS port.
        func imap(_ command: String, user: String = "1000", password: String = "long-enough-1") throws -> String {
            try Subprocess.run(
                "/usr/bin/curl",
                [
                    "-sS", "--cacert", certificate, "-u", "\(user):\(password)", "imaps://127.0.0.1:\(imap)/INBOX",
                    "-X", command,
                ],
                in: cli.directory
            ).stdout
        }
    }

    /// `count` nodes sharing a new database and a new bucket; `runJobs[i]` says whether node i
    /// takes jobs. Node 1's `init` makes the master key every node uses.
    static func cluster(_ count: Int, runJobs: [Bool], postgres given: PostgresServer? = nil) throws -> [Node] {
        let postgres = try given ?? PostgresServer.shared
        let url = postgres.url(database: try postgres.createDatabase())
        let bucket = try TestBuckets.freshNow()
        var nodes: [Node] = []
        var masterKey = ""
        for index in 0..<count {
            var cli = try CLI()
            #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
            if index == 0 { masterKey = cli.directory + "/var/keys/master.key" }
            try Data(bucket.accessKey.utf8).write(to: URL(fileURLWithPath: cli.directory + "/access.key"))
            try Data(bucket.secretKey.utf8).write(to: URL(fileURLWithPath: cli.directory + "/secret.key"))
            for file in ["access.key", "secret.key"] { chmod(cli.directory + "/" + file, 0o600) }
            let http = Subprocess.freePort()
            let imap = Subprocess.freePort()
            cli.environment.merge([
                "MAILVOX_STORAGE_BACKEND": "postgres", "MAILVOX_POSTGRES_URL": url,
                "MAILVOX_BLOBS_BACKEND": "s3", "MAILVOX_BLOBS_ENDPOINT": bucket.endpoint,
                "MAILVOX_BLOBS_BUCKET": bucket.bucket, "MAILVOX_BLOBS_PATH_STYLE": "true",
                "MAILVOX_BLOBS_ACCESS_KEY_FILE": cli.directory + "/access.key",
                "MAILVOX_BLOBS_SECRET_KEY_FILE": cli.directory + "/secret.key",
                "MAILVOX_CRYPTO_MASTER_KEY_FILE": masterKey,
                "MAILVOX_HTTP_LISTEN": "127.0.0.1:\(http)", "MAILVOX_IMAP_LISTEN_TLS": "127.0.0.1:\(imap)",
                "MAILVOX_SERVER_RUN_JOBS": runJobs[index] ? "true" : "false",
                "MAILVOX_SERVER_HOSTNAME": "node\(index + 1).example",
            ]) { $1 }
            nodes.append(Node(cli: cli, http: http, imap: imap, log: cli.directory + "/serve.log"))
        }
        return nodes
    }

    /// Mailbox 1000 (password `long-enough-1`) and an API token for the PBX, made through `cli`'s
    /// node (the database is shared); returns the token.
    static func addMailbox(_ cli: CLI) throws -> String {
        let added = try cli.run(
            ["mailbox", "add", "1000", "--name", "Front Desk", "--password-stdin"], stdin: "long-enough-1")
        #expect(added.status == 0, "\(added.stderr)")
        return try cli.run(["token", "create", "--name", "pbx1"]).lastLine
    }

    static func start(_ nodes: inout [Node]) throws {
        for index in nodes.indices {
            nodes[index].process = try nodes[index].cli.start(["serve"], log: nodes[index].log)
        }
        for node in nodes {
            #expect(CLI.wait(for: "IMAP listening", in: node.log, seconds: 60), "\(node.logText())")
        }
    }

    static func stop(_ nodes: [Node]) {
        for node in nodes {
            node.process?.terminate()
            node.process?.waitUntilExit()
        }
    }

    /// A deposit over HTTPS on node 1 is delivered by node 2's worker and pushed to an IDLE
    /// client of node 3; every node then shows the same UIDs; the message and the deposit are
    /// objects of the bucket, never files of a node.
    @Test func threeNodesServeOneSetOfMailboxes() async throws {
        var nodes = try Self.cluster(3, runJobs: [false, true, false])
        let first = nodes[0].cli
        let token = try Self.addMailbox(first)
        let speech = try Subprocess.run(
            "/usr/bin/espeak-ng", ["Hello, this is Ada. Please call me back.", "-w", "hello.wav"], in: first.directory)
        #expect(speech.status == 0)
        try Self.start(&nodes)
        defer { Self.stop(nodes) }

        // IDLE on node 3, then deposit on node 1.
        let idleLog = nodes[2].cli.directory + "/idle.log"
        FileManager.default.createFile(atPath: idleLog, contents: nil)
        let idle = Process()
        idle.executableURL = URL(fileURLWithPath: Subprocess.python)
        idle.arguments = [
            Self.clients.appendingPathComponent("idle_wait.py").path, "127.0.0.1", "\(nodes[2].imap)",
            nodes[2].certificate, "1000", "long-enough-1", "120",
        ]
        idle.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: idleLog))
        idle.standardError = idle.standardOutput
        try idle.run()
        #expect(CLI.wait(for: "READY", in: idleLog, seconds: 60), "IDLE never started")
        let deposit = try nodes[0].curl([
            "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: audio/wav",
            "--data-binary", "@\(first.directory)/hello.wav", "\(nodes[0].base)/api/v1/mailboxes/1000/voicemails",
        ])
        #expect(deposit.status == 202, "\(deposit.body)")
        while idle.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        let pushed = (try? String(contentsOfFile: idleLog, encoding: .utf8)) ?? ""
        #expect(idle.terminationStatus == 0 && pushed.contains("PASS"), "\(pushed)\n\(nodes[2].logText())")
        #expect(nodes[1].logText().contains("delivered"), "node 2 delivered it: \(nodes[1].logText())")
        #expect(!nodes[0].logText().contains("delivered"))

        // Two more, deposited on node 3 and node 2, and every node lists the same UIDs.
        for node in [nodes[2], nodes[1]] {
            let more = try node.curl([
                "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: audio/wav",
                "--data-binary", "@\(first.directory)/hello.wav", "\(node.base)/api/v1/mailboxes/1000/voicemails",
            ])
            #expect(more.status == 202, "\(more.body)")
        }
        var listed: [String] = []
        for _ in 0..<100 {
            listed = try nodes.map { try $0.imap("UID SEARCH ALL") }
            if listed.allSatisfy({ $0.contains("SEARCH 1 2 3") }) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(listed.allSatisfy { $0.contains("SEARCH 1 2 3") }, "\(listed)")

        // mbsync against node 1, then against node 3 with the same local Maildir and sync state:
        // node 3 must answer with node 1's UIDVALIDITY and UIDs, or mbsync refuses the far side
        // ("UIDVALIDITY changed") or fetches the messages a second time.
        let mbsync = try MBSync(home: first.directory + "/home")
        for node in [nodes[0], nodes[2]] {
            try mbsync.configure(
                port: node.imap, user: "1000", password: "long-enough-1", certificate: node.certificate)
            let synced = try mbsync.sync()
            #expect(synced.status == 0, "\(synced.output)")
        }
        let synced = try mbsync.files("INBOX")
        #expect(synced.count == 3, "\(synced)")
        // The same message, byte for byte, from every node (curl's FETCH of UID 2).
        let bodies = try nodes.map { node in
            try Subprocess.run(
                "/usr/bin/curl",
                [
                    "-sS", "--cacert", node.certificate, "-u", "1000:long-enough-1",
                    "imaps://127.0.0.1:\(node.imap)/INBOX;UID=2",
                ],
                in: node.cli.directory
            ).stdout
        }
        #expect(Set(bodies).count == 1 && bodies[0].contains("Message-ID: <"), "\(bodies.map { $0.prefix(300) })")

        // Nothing of the mailbox on any node's disk.
        for node in nodes {
            let spool = (try? FileManager.default.contentsOfDirectory(atPath: node.cli.directory + "/var/spool")) ?? []
            #expect(spool.isEmpty, "\(spool)")
            let queue = (try? FileManager.default.contentsOfDirectory(atPath: node.cli.directory + "/var/queue")) ?? []
            #expect(!queue.contains { $0.hasSuffix(".mvx") }, "\(queue)")
        }
    }

    /// A web session lives in the shared database: signed in on node 1, it works on node 2
    /// (behind a TCP load balancer a browser lands anywhere); signed out on node 2, node 1 refuses
    /// it at once.
    @Test func aWebSessionMadeOnOneNodeIsGoodOnEveryOther() throws {
        var nodes = try Self.cluster(2, runJobs: [false, false])
        _ = try Self.addMailbox(nodes[0].cli)
        try Self.start(&nodes)
        defer { Self.stop(nodes) }
        let jar = ["-b", nodes[0].cli.directory + "/web.cookies", "-c", nodes[0].cli.directory + "/web.cookies"]
        let page = try nodes[0].curl(jar + ["\(nodes[0].base)/login"])
        let formToken = try #require(page.body.firstMatch(of: /name="csrf" value="([^"]+)"/).map { String($0.1) })
        let signedIn = try nodes[0].curl(
            jar + [
                "--data-urlencode", "csrf=\(formToken)", "--data-urlencode", "mailbox=1000", "--data-urlencode",
                "password=long-enough-1", "\(nodes[0].base)/login",
            ])
        #expect(signedIn.status == 303, "\(signedIn.body)")
        let jarText = try String(contentsOfFile: nodes[0].cli.directory + "/web.cookies", encoding: .utf8)
        let cookie = try #require(
            jarText.split(separator: "\n").first { $0.contains("\t__Host-mailvox\t") }?.split(separator: "\t").last
                .map(String.init))

        let elsewhere = try nodes[1].curl(jar + ["\(nodes[1].base)/api/v1/session"])
        #expect(elsewhere.status == 200, "\(elsewhere.body)")
        let csrf = try #require(elsewhere.body.firstMatch(of: /"csrf_token" *: *"([^"]+)"/).map { String($0.1) })
        #expect(try nodes[1].curl(jar + ["\(nodes[1].base)/inbox"]).status == 200)

        let signedOut = try nodes[1].curl(jar + ["--data-urlencode", "csrf=\(csrf)", "\(nodes[1].base)/logout"])
        #expect(signedOut.status == 303)
        let after = try nodes[0].curl(["-H", "Cookie: __Host-mailvox=\(cookie)", "\(nodes[0].base)/api/v1/session"])
        #expect(after.status == 401, "\(after.body)")
    }

    /// The bucket does not answer: every door refuses with a temporary error and nothing is
    /// recorded — HTTP 503 `unavailable` with Retry-After, LMTP 451, `mailvox deposit` exit 1 —
    /// and `/readyz` takes the node out of rotation.
    @Test func aBucketOutOfReachRefusesDepositsAtEveryDoor() throws {
        var nodes = try Self.cluster(1, runJobs: [true])
        let lmtp = Subprocess.freePort()
        nodes[0].cli.environment["MAILVOX_BLOBS_ENDPOINT"] = "http://127.0.0.1:\(Subprocess.freePort())"
        nodes[0].cli.environment["MAILVOX_INBOUND_LMTP_LISTEN"] = "127.0.0.1:\(lmtp)"
        let cli = nodes[0].cli
        let token = try Self.addMailbox(cli)
        let wav = try SMTPDoorTests.recording(in: cli.directory)
        try Self.start(&nodes)
        defer { Self.stop(nodes) }

        let http = try nodes[0].curl([
            "-D", "-", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: audio/wav",
            "--data-binary", "@\(wav)", "\(nodes[0].base)/api/v1/mailboxes/1000/voicemails",
        ])
        #expect(http.status == 503, "\(http.body)")
        #expect(http.body.lowercased().contains("retry-after: 30"), "\(http.body)")
        #expect(http.body.contains("\"unavailable\""), "\(http.body)")
        let ready = try nodes[0].curl(["\(nodes[0].base)/readyz"])
        #expect(ready.status == 503 && ready.body.contains("bucket"), "\(ready.body)")

        let mail = try SMTPDoorTests.build(
            "asterisk", ["--wav", wav, "--caller-number", "+4930777888", "--to", "1000@localhost"],
            in: cli.directory, name: "vm.eml")
        let swaks = try Subprocess.run(
            "/usr/bin/swaks",
            [
                "--protocol", "LMTP", "--server", "127.0.0.1", "--port", "\(lmtp)", "--from",
                "asterisk@pbx.example.com", "--to", "1000@node1.example", "--data", "@\(mail)",
            ])
        #expect(swaks.stdout.contains("<** 451"), "\(swaks.output)")

        let deposit = try cli.run(["deposit", "--mailbox", "1000", "--caller-number", "+4930555555", wav])
        #expect(deposit.status == 1, "\(deposit.stderr)")
        #expect(deposit.stderr.contains("blob store unavailable"), "\(deposit.stderr)")
        #expect(!deposit.stderr.contains(try String(contentsOfFile: cli.directory + "/secret.key", encoding: .utf8)))

        // Nothing was recorded: no job, no deposit, for any door.
        let jobs = try cli.run(["queue", "list"])
        #expect(jobs.status == 0 && !jobs.stdout.contains("deliver"), "\(jobs.stdout)")
    }

    /// PostgreSQL stops and comes back while deposits arrive at two nodes: while it is away the
    /// doors answer 503 `unavailable` and `/readyz` says why; afterwards the nodes reconnect by
    /// themselves, and every deposit that was acknowledged is stored exactly once.
    @Test func aPostgresRestartUnderLoadLosesNothingAcknowledged() async throws {
        let total = 60
        let postgres = try PostgresServer.makePrivate()
        var nodes = try Self.cluster(2, runJobs: [true, true], postgres: postgres)
        let cli = nodes[0].cli
        let token = try Self.addMailbox(cli)
        let wav = try SMTPDoorTests.recording(in: cli.directory)
        try Self.start(&nodes)
        defer { Self.stop(nodes) }
        let frozen = nodes
        @Sendable func deposit(_ index: Int, on node: Node) -> (status: Int, id: String?) {
            guard
                let answer = try? node.curl([
                    "-m", "20", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: audio/wav",
                    "-H", "Idempotency-Key: pg-\(index)", "--data-binary", "@\(wav)",
                    "\(node.base)/api/v1/mailboxes/1000/voicemails",
                ])
            else { return (0, nil) }
            let id = answer.body.range(of: #"[0-9a-f-]{36}"#, options: .regularExpression).map {
                String(answer.body[$0])
            }
            return (answer.status, id)
        }

        let accepted = Mutex<[Int: String]>([:])
        let refusals = Mutex<[Int: Int]>([:])
        let done = DispatchSemaphore(value: 0)
        let deadline = Date().addingTimeInterval(600)
        Thread.detachNewThread {
            defer { done.signal() }
            for index in 0..<total {
                var target = index % 2
                while Date() < deadline {
                    let answer = deposit(index, on: frozen[target])
                    if answer.status == 200 || answer.status == 202, let id = answer.id {
                        accepted.withLock { $0[index] = id }
                        break
                    }
                    refusals.withLock { $0[answer.status, default: 0] += 1 }
                    target = (target + 1) % 2
                    usleep(200_000)
                }
            }
        }
        while accepted.withLock({ $0.count }) < 15 { try await Task.sleep(for: .milliseconds(100)) }
        try postgres.stop()
        // While it is away: a clear temporary refusal, and out of rotation.
        let refused = deposit(10_000, on: nodes[0])
        let ready = try nodes[1].curl(["\(nodes[1].base)/readyz"])
        try await Task.sleep(for: .seconds(2))
        try postgres.start()
        #expect(refused.status == 503, "\(refused)")
        #expect(ready.status == 503 && ready.body.contains("database"), "\(ready.body)")
        while done.wait(timeout: .now()) == .timedOut && Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(Date() < deadline, "the sender never finished")

        var pending = -1
        for _ in 0..<300 {
            let jobs = try cli.run(["queue", "list", "--json"]).stdout
            pending = jobs.components(separatedBy: "\"deliver\"").count - 1
            if pending == 0 { break }
            try await Task.sleep(for: .seconds(1))
        }
        #expect(pending == 0, "deliver jobs left")
        let export = cli.directory + "/export"
        #expect(try cli.run(["export", "--maildir", export, "--mailbox", "1000"]).status == 0)
        var stored: [String: Int] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: export + "/cur")) ?? [] {
            let text = (try? String(contentsOfFile: export + "/cur/" + name, encoding: .utf8)) ?? ""
            guard let line = text.components(separatedBy: "\r\n").first(where: { $0.hasPrefix("Message-ID: <") }) else {
                continue
            }
            stored[String(line.dropFirst("Message-ID: <".count).prefix { $0 != "@" }), default: 0] += 1
        }
        let ids = Set(accepted.withLock { $0.values })
        print("postgres restart: accepted \(ids.count), stored \(stored.count), refusals \(refusals.withLock { $0 })")
        #expect(ids.count == total)
        #expect(ids.subtracting(stored.keys).isEmpty, "lost")
        #expect(stored.values.allSatisfy { $0 == 1 }, "duplicated")
        #expect(!nodes.contains { $0.process?.isRunning == false }, "a node stopped instead of reconnecting")
    }
}
