import Foundation
import MailvoxTestSupport
import Testing

/// The HTTP front door of docs/DESIGN.md §3.5, driven with curl against `mailvox serve`.
@Suite struct HTTPFrontDoorTests {
    static func freePort() -> Int { Subprocess.freePort() }

    struct Server {
        var cli: CLI
        var process: Process
        var base: String
        var token: String

        /// curl's body and status code.
        func curl(_ arguments: [String]) throws -> (body: String, status: Int) {
            let output = try Subprocess.run(
                "/usr/bin/curl", ["-sk", "-w", "\n%{http_code}"] + arguments, in: cli.directory
            )
            .stdout
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            return (lines.dropLast().joined(separator: "\n"), Int(lines.last ?? "") ?? 0)
        }

        func json(_ text: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
        }

        func errorCode(_ text: String) -> String? { (json(text)["error"] as? [String: Any])?["code"] as? String }
    }

    func start() throws -> Server {
        var cli = try DepositCLITests().prepared()
        let token = try cli.run(["token", "create", "--name", "pbx1"]).lastLine
        let port = Self.freePort()
        cli.environment["MAILVOX_HTTP_LISTEN"] = "127.0.0.1:\(port)"
        let log = cli.directory + "/serve.log"
        let process = try cli.start(["serve"], log: log)
        #expect(CLI.wait(for: "ready", in: log))
        let server = Server(cli: cli, process: process, base: "https://127.0.0.1:\(port)", token: token)
        // The listener binds just after "ready"; wait until it answers.
        for _ in 0..<50 where (try? server.curl(["\(server.base)/healthz"]))?.status != 200 { usleep(100_000) }
        return server
    }

    func stop(_ server: Server) {
        server.process.terminate()
        server.process.waitUntilExit()
    }

    @Test func depositsStatusHealthAndMetrics() throws {
        let server = try start()
        defer { stop(server) }
        let auth = ["-H", "Authorization: Bearer \(server.token)"]
        let url = "\(server.base)/api/v1/mailboxes/1000/voicemails"

        let raw = try server.curl(
            auth + [
                "-H", "Content-Type: audio/wav", "-H", "Idempotency-Key: k1", "--data-binary", "@hello.wav",
                "\(url)?caller_number=%2B4930123456&caller_name=Ada&urgent=true&received_at=2026-11-26T09:15:00",
            ])
        #expect(raw.status == 202, "\(raw.body)")
        let depositID = try #require(server.json(raw.body)["deposit_id"] as? String)
        #expect(server.json(raw.body)["status"] as? String == "queued")
        #expect(depositID == depositID.lowercased())

        let again = try server.curl(
            auth + ["-H", "Content-Type: audio/wav", "-H", "Idempotency-Key: k1", "--data-binary", "@hello.wav", url])
        #expect(again.status == 200)
        #expect(server.json(again.body)["deposit_id"] as? String == depositID)

        let form = try server.curl(auth + ["-F", "audio=@hello.wav;type=audio/wav", "-F", "caller_number=2001", url])
        #expect(form.status == 202, "\(form.body)")
        let formID = try #require(server.json(form.body)["deposit_id"] as? String)

        // Two deliver workers take the two deposits in either order: each gets a UID of its own.
        var uids: [String: Int] = [:]
        for _ in 0..<150 where uids.count < 2 {
            for id in [depositID, formID] where uids[id] == nil {
                let status = try server.curl(auth + ["\(server.base)/api/v1/deposits/\(id)"])
                if server.json(status.body)["status"] as? String == "delivered" {
                    #expect(server.json(status.body)["mailbox"] as? String == "1000")
                    uids[id] = server.json(status.body)["uid"] as? Int
                }
            }
            if uids.count < 2 { usleep(200_000) }
        }
        #expect(Set(uids.values) == [1, 2], "\(uids)")
        #expect(try server.curl(auth + ["\(server.base)/api/v1/deposits/nope"]).status == 404)
        #expect(try server.curl(["\(server.base)/readyz"]).status == 200)
        let metrics = try server.curl(["\(server.base)/metrics"])
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("mailvox_queue_jobs_queued_count"))
        let log = try String(contentsOfFile: server.cli.directory + "/serve.log", encoding: .utf8)
        #expect(!log.contains("4930123456") && !log.contains("caller_name"), "access logs drop the query")
    }

    /// An `Idempotency-Key` used again with a different recording used to be answered 200 with
    /// the first deposit's id, and the new recording was lost. The same body stays a duplicate.
    @Test func aReusedIdempotencyKeyWithAnotherRecordingIs422() throws {
        let server = try start()
        defer { stop(server) }
        try DepositCLITests().shell(
            "espeak-ng 'This is Bob with a different message.' -w other.wav", in: server.cli.directory)
        let auth = ["-H", "Authorization: Bearer \(server.token)"]
        let url = "\(server.base)/api/v1/mailboxes/1000/voicemails"
        func post(_ file: String) throws -> (body: String, status: Int) {
            try server.curl(
                auth + [
                    "-H", "Content-Type: audio/wav", "-H", "Idempotency-Key: call-99", "--data-binary", "@\(file)", url,
                ]
            )
        }
        let first = try post("hello.wav")
        #expect(first.status == 202, "\(first.body)")
        let depositID = try #require(server.json(first.body)["deposit_id"] as? String)

        let same = try post("hello.wav")
        #expect(same.status == 200, "\(same.body)")
        #expect(server.json(same.body)["deposit_id"] as? String == depositID)

        let other = try post("other.wav")
        #expect(other.status == 422, "\(other.body)")
        #expect(server.errorCode(other.body) == "idempotency_mismatch", "\(other.body)")
        #expect(server.json(other.body)["deposit_id"] == nil)

        // Nothing was queued for the refused body: one deliver job in all.
        let jobs = try server.cli.run(["queue", "list", "--json"])
        #expect(jobs.stdout.components(separatedBy: "\"deposit_id\" : \"").count <= 2, "\(jobs.stdout)")
        #expect(!jobs.stdout.contains("idempotency"), "\(jobs.stdout)")
    }

    /// Scratch used to be `/dev/shm/mailvox-<uid>/`, shared by every instance of the user, and a
    /// plaintext recording left there by a kill during intake survived restarts. Now: one base
    /// per data dir, mode 700, a folder per process, and folders of dead processes removed.
    @Test func scratchIsPerInstanceAndAKilledIntakesLeftoverIsRemoved() throws {
        guard access("/dev/shm", W_OK) == 0 else { return }
        let server = try start()
        defer { stop(server) }
        // The first 16 hex digits of SHA-256 over the data dir's real path.
        let hash = try shellOutput(
            "printf '%s' \"$(realpath var)\" | sha256sum | cut -c1-16", in: server.cli.directory)
        #expect(hash.count == 16)
        let base = "/dev/shm/mailvox-\(getuid())-\(hash)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        // What a `mailvox deposit` killed during intake leaves: its folder, nobody holding it.
        #expect(mkdir(base, 0o700) == 0 || errno == EEXIST)
        let dead = base + "/999999-killed"
        #expect(mkdir(dead, 0o700) == 0)
        #expect(FileManager.default.createFile(atPath: dead + "/intake-x.wav", contents: Data("RIFF".utf8)))

        let auth = ["-H", "Authorization: Bearer \(server.token)"]
        let upload = try server.curl(
            auth + [
                "-H", "Content-Type: audio/wav", "--data-binary", "@hello.wav",
                "\(server.base)/api/v1/mailboxes/1000/voicemails",
            ])
        #expect(upload.status == 202, "\(upload.body)")
        #expect(!FileManager.default.fileExists(atPath: dead), "a dead process's plaintext survived")
        var info = stat()
        #expect(lstat(base, &info) == 0 && info.st_mode & 0o777 == 0o700)
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        #expect(folders == folders.filter { $0.hasPrefix("\(server.process.processIdentifier)-") }, "\(folders)")
        #expect(!folders.isEmpty)
    }

    @Test func badRequestsGetTheirStableCodes() throws {
        let server = try start()
        defer { stop(server) }
        #expect(
            FileManager.default.createFile(atPath: server.cli.directory + "/text.bin", contents: Data("not audio".utf8))
        )
        let auth = ["-H", "Authorization: Bearer \(server.token)"]
        let url = "\(server.base)/api/v1/mailboxes/1000/voicemails"
        let wav = ["-H", "Content-Type: audio/wav", "--data-binary", "@hello.wav"]
        let cases: [([String], Int, String)] = [
            (wav + [url], 401, "unauthorized"),
            (["-H", "Authorization: Bearer mvx_wrong"] + wav + [url], 401, "unauthorized"),
            (auth + wav + ["\(server.base)/api/v1/mailboxes/9999/voicemails"], 404, "mailbox_not_found"),
            (
                auth + ["-H", "Content-Type: text/plain", "--data-binary", "@hello.wav", url], 415,
                "unsupported_media_type"
            ),
            (auth + ["-H", "Content-Type: audio/wav", "--data-binary", "@text.bin", url], 422, "audio_not_audio"),
            (auth + wav + ["\(url)?caller_number=call%20me"], 400, "bad_request"),
            (auth + wav + ["\(url)?received_at=yesterday"], 400, "bad_request"),
            (auth + wav + ["\(url)?urgent=maybe"], 400, "bad_request"),
            (auth + ["-F", "file=@hello.wav", url], 400, "bad_request"),
        ]
        for (arguments, status, code) in cases {
            let result = try server.curl(arguments)
            #expect(result.status == status, "\(arguments): \(result.body)")
            #expect(server.errorCode(result.body) == code, "\(arguments): \(result.body)")
        }
        let queue = try server.cli.run(["queue", "list", "--json"])
        #expect(!queue.stdout.contains("deliver"), "bad requests queue nothing")
    }

    @Test func tooLargeBodiesAre413() throws {
        var cli = try DepositCLITests().prepared()
        cli.environment["MAILVOX_HTTP_MAX_BODY_BYTES"] = "2048"
        let token = try cli.run(["token", "create", "--name", "pbx1"]).lastLine
        let port = Self.freePort()
        cli.environment["MAILVOX_HTTP_LISTEN"] = "127.0.0.1:\(port)"
        let process = try cli.start(["serve"], log: cli.directory + "/serve.log")
        let server = Server(cli: cli, process: process, base: "https://127.0.0.1:\(port)", token: token)
        defer { stop(server) }
        for _ in 0..<50 where (try? server.curl(["\(server.base)/healthz"]))?.status != 200 { usleep(100_000) }
        let result = try server.curl([
            "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: audio/wav", "--data-binary", "@hello.wav",
            "\(server.base)/api/v1/mailboxes/1000/voicemails",
        ])
        #expect(result.status == 413)
        #expect(server.errorCode(result.body) == "payload_too_large")
    }
}

/// Runs `command` with /bin/sh in `directory`; its standard output without the final newline.
func shellOutput(_ command: String, in directory: String) throws -> String {
    try Subprocess.shell(command, in: directory).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}
