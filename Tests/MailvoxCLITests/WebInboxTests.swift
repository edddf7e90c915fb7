import Foundation
import MailvoxTestSupport
import Testing

/// The web inbox and its API (docs/WEB.md, docs/API.md) against `mailvox serve`, driven with
/// curl: sign-in, sessions, CSRF, isolation between mailboxes, the lockout shared with IMAP,
/// audio ranges, and IMAP and web seeing each other's changes. The real browser is
/// `WebBrowserTests`.
@Suite struct WebInboxTests {
    struct Server {
        var cli: CLI
        var process: Process
        var base: String
        var imapPort: Int

        var log: String { (try? String(contentsOfFile: cli.directory + "/serve.log", encoding: .utf8)) ?? "" }

        func stop() {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// A browser stand-in: curl with a cookie jar of its own.
    struct Browser {
        let server: Server
        let jar: String
        var csrf = ""

        init(_ server: Server, name: String = "jar") {
            self.server = server
            self.jar = server.cli.directory + "/\(name).cookies"
        }

        /// Body, status and headers (lower-cased names) of one request.
        func request(
            _ arguments: [String], path: String
        ) throws -> (body: String, status: Int, headers: [String: [String]]) {
            let headerFile = server.cli.directory + "/\(UUID().uuidString).headers"
            defer { try? FileManager.default.removeItem(atPath: headerFile) }
            let output = try Subprocess.run(
                "/usr/bin/curl",
                ["-sk", "-b", jar, "-c", jar, "-D", headerFile, "-w", "\n%{http_code}"] + arguments
                    + [server.base + path], in: server.cli.directory
            ).stdout
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            var headers: [String: [String]] = [:]
            let raw = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
            for line in raw.split(separator: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased(), default: []].append(
                    line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            return (lines.dropLast().joined(separator: "\n"), Int(lines.last ?? "") ?? 0, headers)
        }

        func get(
            _ path: String, _ extra: [String] = []
        ) throws -> (body: String, status: Int, headers: [String: [String]]) {
            try request(extra, path: path)
        }

        func post(
            _ path: String, form: [String: String], _ extra: [String] = []
        ) throws -> (
            body: String, status: Int, headers: [String: [String]]
        ) {
            let fields =
                form.isEmpty ? ["--data", ""] : form.flatMap { ["--data-urlencode", "\($0.key)=\($0.value)"] }
            return try request(fields + extra, path: path)
        }

        /// An API call with the session's CSRF token, JSON body optional.
        func api(
            _ method: String, _ path: String, json: String? = nil, csrf: Bool = true
        ) throws -> (
            body: String, status: Int, headers: [String: [String]]
        ) {
            var arguments = ["-X", method]
            if csrf { arguments += ["-H", "X-CSRF-Token: \(self.csrf)"] }
            if let json { arguments += ["-H", "Content-Type: application/json", "--data-binary", json] }
            return try request(arguments, path: path)
        }

        /// Signs in; returns the status of the form post (303 on success).
        @discardableResult
        mutating func signIn(_ mailbox: String, _ password: String) throws -> Int {
            try signingIn(mailbox, password).status
        }

        /// Signs in; the form post's answer.
        mutating func signingIn(
            _ mailbox: String, _ password: String
        ) throws -> (
            body: String, status: Int, headers: [String: [String]]
        ) {
            let page = try get("/login")
            let token = try #require(Self.hidden("csrf", in: page.body))
            let result = try post("/login", form: ["csrf": token, "mailbox": mailbox, "password": password])
            if result.status == 303 {
                let session = try get("/api/v1/session")
                csrf = (WebInboxTests.json(session.body)["csrf_token"] as? String) ?? ""
            }
            return result
        }

        static func hidden(_ name: String, in html: String) -> String? {
            guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
            return String(html[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    static func errorCode(_ text: String) -> String? { (json(text)["error"] as? [String: Any])?["code"] as? String }

    /// A data dir with mailboxes 1000 and 2000, `voicemails` deposits for 1000 (and one for
    /// 2000), and `mailvox serve` running with them delivered.
    func start(environment: [String: String] = [:], voicemails: Int = 1) throws -> Server {
        var cli = try DepositCLITests().prepared()
        #expect(
            try cli.run(["mailbox", "add", "2000", "--name", "Sales", "--password-stdin"], stdin: "other-secret-2")
                .status == 0)
        let port = Subprocess.freePort()
        let imapPort = Subprocess.freePort()
        cli.environment["MAILVOX_HTTP_LISTEN"] = "127.0.0.1:\(port)"
        cli.environment["MAILVOX_IMAP_LISTEN"] = "127.0.0.1:\(imapPort)"
        cli.environment["MAILVOX_IMAP_LISTEN_TLS"] = ""
        for (key, value) in environment { cli.environment[key] = value }
        for index in 0..<voicemails {
            #expect(
                try cli.run([
                    "deposit", "--mailbox", "1000", "--caller-number", "+4930123456\(index)", "--caller-name",
                    "Ada Lovelace", "hello.wav",
                ]).status == 0)
        }
        #expect(try cli.run(["deposit", "--mailbox", "2000", "--caller-number", "+4989777", "hello.wav"]).status == 0)
        let log = cli.directory + "/serve.log"
        let process = try cli.start(["serve"], log: log)
        #expect(CLI.wait(for: "ready", in: log))
        let server = Server(cli: cli, process: process, base: "https://127.0.0.1:\(port)", imapPort: imapPort)
        let probe = Browser(server, name: "probe")
        for _ in 0..<100 where (try? probe.get("/healthz"))?.status != 200 { usleep(100_000) }
        // Delivered: every deposit is in its INBOX.
        #expect(
            DepositCLITests().waitFor {
                server.log.components(separatedBy: "delivered").count - 1 >= voicemails + 1
            })
        return server
    }

    // MARK: - Signing in

    @Test func signInSetsAStrictSessionCookieAndEveryAnswerCarriesTheSecurityHeaders() throws {
        let server = try start()
        defer { server.stop() }
        var browser = Browser(server)

        let unsigned = try browser.get("/inbox")
        #expect(unsigned.status == 303)
        #expect(unsigned.headers["location"]?.first?.hasPrefix("/login?next=") == true)

        let page = try browser.get("/login")
        #expect(page.status == 200)
        let signInCookie = try #require(page.headers["set-cookie"]?.first)
        #expect(signInCookie.hasPrefix("__Host-mailvox-signin="))

        // A form without the token its page set is refused (login CSRF).
        let forged = try Browser(server, name: "forger").post(
            "/login", form: ["csrf": "made-up", "mailbox": "1000", "password": "long-enough-1"])
        #expect(forged.status == 403)

        #expect(try browser.signIn("1000", "wrong-password") == 401)
        let signedIn = try browser.signingIn("1000", "long-enough-1")
        #expect(signedIn.status == 303)
        #expect(signedIn.headers["location"] == ["/inbox"])
        let session = try #require(signedIn.headers["set-cookie"]?.first { $0.hasPrefix("__Host-mailvox=") })
        for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            #expect(session.contains(attribute), "\(session)")
        }
        // A new session at every sign-in: the cookie is never one the browser had before.
        var again = Browser(server, name: "again")
        let second = try #require(
            try again.signingIn("1000", "long-enough-1").headers["set-cookie"]?.first {
                $0.hasPrefix("__Host-mailvox=")
            })
        #expect(second.prefix(60) != session.prefix(60))
        #expect(!session.contains("Domain="))

        for path in ["/inbox", "/login", "/api/v1/mailboxes", "/api/v1/mailboxes/1000/voicemails/1/audio?folder=INBOX"]
        {
            let answer = try browser.get(path)
            #expect(answer.headers["content-security-policy"]?.first?.contains("script-src 'self'") == true, "\(path)")
            #expect(answer.headers["content-security-policy"]?.first?.contains("unsafe-inline") == false, "\(path)")
            #expect(answer.headers["x-content-type-options"] == ["nosniff"], "\(path)")
            #expect(answer.headers["referrer-policy"] == ["no-referrer"], "\(path)")
            #expect(answer.headers["strict-transport-security"]?.isEmpty == false, "\(path)")
        }
        let inbox = try browser.get("/inbox")
        #expect(inbox.status == 200)
        #expect(inbox.body.contains("Ada Lovelace"))
        #expect(!inbox.body.contains("<script>"), "no inline script")
        #expect(inbox.headers["cache-control"] == ["no-store"])
    }

    @Test func stateChangesWithoutTheCSRFTokenAreRefused() throws {
        let server = try start()
        defer { server.stop() }
        var browser = Browser(server)
        #expect(try browser.signIn("1000", "long-enough-1") == 303)

        let form = ["mailbox": "1000", "folder": "INBOX", "uid": "1", "action": "heard"]
        #expect(try browser.post("/inbox/action", form: form).status == 403)
        #expect(try browser.post("/inbox/action", form: form.merging(["csrf": "wrong"]) { $1 }).status == 403)
        let patch = try browser.api(
            "PATCH", "/api/v1/mailboxes/1000/voicemails/1?folder=INBOX", json: #"{"heard":true}"#, csrf: false)
        #expect(patch.status == 403)
        #expect(Self.errorCode(patch.body) == "forbidden")
        #expect(try browser.post("/logout", form: [:]).status == 403)
        // None of it happened: still unheard, still signed in.
        let listed = try browser.get("/api/v1/mailboxes/1000/voicemails?folder=INBOX")
        let first = try #require((Self.json(listed.body)["voicemails"] as? [[String: Any]])?.first)
        #expect(first["heard"] as? Bool == false)

        #expect(try browser.post("/inbox/action", form: form.merging(["csrf": browser.csrf]) { $1 }).status == 303)
        let heard = try browser.get("/api/v1/mailboxes/1000/voicemails/1?folder=INBOX")
        #expect(Self.json(heard.body)["heard"] as? Bool == true)
    }

    @Test func aSessionEndsAtSignOutAndAfterItsIdleTimeout() throws {
        let server = try start(environment: ["MAILVOX_WEB_IDLE_TIMEOUT_SECONDS": "3"])
        defer { server.stop() }
        var browser = Browser(server)
        #expect(try browser.signIn("1000", "long-enough-1") == 303)
        #expect(try browser.get("/api/v1/mailboxes").status == 200)

        // The event stream of a session ends when the session does.
        let events = Process()
        events.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        events.arguments = ["-sk", "-N", "-b", browser.jar, "--max-time", "20", server.base + "/api/v1/events"]
        events.standardOutput = FileHandle.nullDevice
        try events.run()
        usleep(500_000)

        let jarCopy = server.cli.directory + "/stolen.cookies"
        try FileManager.default.copyItem(atPath: browser.jar, toPath: jarCopy)
        let out = try browser.post("/logout", form: ["csrf": browser.csrf])
        #expect(out.status == 303)
        #expect(
            out.headers["set-cookie"]?.contains { $0.hasPrefix("__Host-mailvox=;") && $0.contains("Max-Age=0") } == true
        )
        // The old cookie, replayed, opens nothing.
        let replay = Browser(server, name: "stolen")
        #expect(try replay.get("/api/v1/mailboxes").status == 401)
        #expect(try replay.get("/inbox").status == 303)
        let started = Date()
        events.waitUntilExit()
        #expect(Date().timeIntervalSince(started) < 5, "the event stream ended with the session")

        #expect(try browser.signIn("1000", "long-enough-1") == 303)
        #expect(try browser.get("/api/v1/mailboxes").status == 200)
        sleep(4)
        #expect(try browser.get("/api/v1/mailboxes").status == 401, "idle past the timeout")
    }

    // MARK: - Isolation

    /// Signed in as 1000, every endpoint is tried with mailbox 2000: each answers as if 2000 did
    /// not exist, and nothing of 2000 changes.
    @Test func aSessionNeverReachesAnotherMailbox() throws {
        let server = try start()
        defer { server.stop() }
        var browser = Browser(server)
        #expect(try browser.signIn("1000", "long-enough-1") == 303)

        let other = "/api/v1/mailboxes/2000"
        let attempts: [(String, String, String?)] = [
            ("GET", "\(other)/folders", nil),
            ("GET", "\(other)/voicemails?folder=INBOX", nil),
            ("GET", "\(other)/voicemails/1?folder=INBOX", nil),
            ("GET", "\(other)/voicemails/1/audio?folder=INBOX", nil),
            ("PATCH", "\(other)/voicemails/1?folder=INBOX", #"{"heard":true}"#),
            ("POST", "\(other)/voicemails/1/move?folder=INBOX", #"{"to":"Saved"}"#),
            ("DELETE", "\(other)/voicemails/1?folder=INBOX", nil),
            ("POST", "\(other)/trash/empty", nil),
        ]
        for (method, path, body) in attempts {
            let answer = try browser.api(method, path, json: body)
            #expect(answer.status == 404, "\(method) \(path): \(answer.status) \(answer.body)")
            #expect(!answer.body.contains("4989777"))
        }
        let mailboxes = try browser.get("/api/v1/mailboxes")
        #expect((Self.json(mailboxes.body)["mailboxes"] as? [[String: Any]])?.map { $0["id"] as? String } == ["1000"])
        #expect(try browser.get("/inbox?mailbox=2000&folder=INBOX").status == 404)
        for action in ["heard", "save", "delete"] {
            let answer = try browser.post(
                "/inbox/action",
                form: ["csrf": browser.csrf, "mailbox": "2000", "folder": "INBOX", "uid": "1", "action": action])
            #expect(answer.status == 404, "\(action)")
        }
        // Folder names cannot climb into the shared namespace either.
        #expect(
            try browser.get("/api/v1/mailboxes/1000/voicemails?folder=Shared%2F2000%20Sales%2FINBOX").status == 404)

        var owner = Browser(server, name: "owner")
        #expect(try owner.signIn("2000", "other-secret-2") == 303)
        let untouched = try owner.get("/api/v1/mailboxes/2000/voicemails/1?folder=INBOX")
        #expect(untouched.status == 200)
        #expect(Self.json(untouched.body)["heard"] as? Bool == false)

        // A personal token opens its own mailbox only.
        let token = try server.cli.run(["mailbox", "token", "create", "2000", "--name", "phone"]).lastLine
        #expect(token.hasPrefix("mvp_"))
        let bearer = ["-H", "Authorization: Bearer \(token)"]
        let anonymous = Browser(server, name: "program")
        #expect(try anonymous.get("/api/v1/mailboxes/2000/voicemails?folder=INBOX", bearer).status == 200)
        #expect(try anonymous.get("/api/v1/mailboxes/1000/voicemails?folder=INBOX", bearer).status == 404)
        #expect(try anonymous.get("/api/v1/mailboxes", ["-H", "Authorization: Bearer mvp_guess"]).status == 401)
        #expect(try server.cli.run(["mailbox", "token", "revoke", "2000", "phone"]).status == 0)
        #expect(try anonymous.get("/api/v1/mailboxes/2000/voicemails?folder=INBOX", bearer).status == 401)
    }

    /// Wrong passwords on IMAP lock the web sign-in too, and the other way round: one
    /// authenticator counts both doors.
    @Test func theLockoutIsSharedWithIMAP() throws {
        let server = try start(environment: ["MAILVOX_AUTH_MAX_FAILURES": "3"])
        defer { server.stop() }
        for _ in 0..<3 {
            _ = try Subprocess.run(
                "/usr/bin/curl",
                [
                    "-sk", "--ssl-reqd", "--max-time", "10", "-u", "1000:wrong-password",
                    "imap://127.0.0.1:\(server.imapPort)/INBOX",
                ], in: server.cli.directory)
        }
        var browser = Browser(server)
        #expect(try browser.signIn("1000", "long-enough-1") == 401, "locked by IMAP failures")

        var web = Browser(server, name: "web")
        for _ in 0..<3 { #expect(try web.signIn("2000", "wrong-password") == 401) }
        let imap = try Subprocess.run(
            "/usr/bin/curl",
            [
                "-sk", "--ssl-reqd", "--max-time", "10", "-u", "2000:other-secret-2",
                "imap://127.0.0.1:\(server.imapPort)/INBOX", "-X", "NOOP",
            ], in: server.cli.directory)
        #expect(!imap.succeeded, "locked by web failures: \(imap.output)")
    }

    // MARK: - Audio

    @Test func audioAnswersRangesOnMP3AndOpus() throws {
        let server = try start(environment: ["MAILVOX_AUDIO_FORMATS": "mp3,opus"])
        defer { server.stop() }
        var browser = Browser(server)
        #expect(try browser.signIn("1000", "long-enough-1") == 303)
        let shown = Self.json(try browser.get("/api/v1/mailboxes/1000/voicemails/1?folder=INBOX").body)
        let formats = (shown["audio"] as? [[String: Any]])?.compactMap { $0["format"] as? String }
        #expect(formats == ["mp3", "opus"])

        for (format, type, magic) in [("mp3", "audio/mpeg", [UInt8]()), ("opus", "audio/ogg", Array("OggS".utf8))] {
            let path = "/api/v1/mailboxes/1000/voicemails/1/audio?folder=INBOX&format=\(format)"
            let whole = server.cli.directory + "/whole.\(format)"
            let full = try browser.get(path, ["-o", whole])
            #expect(full.status == 200)
            #expect(full.headers["content-type"] == [type])
            #expect(full.headers["accept-ranges"] == ["bytes"])
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: whole)))
            #expect(bytes.count > 1000)
            #expect(Array(bytes.prefix(magic.count)) == magic)

            func range(_ header: String, expect slice: Range<Int>) throws {
                let file = server.cli.directory + "/part"
                let answer = try browser.get(path, ["-H", "Range: \(header)", "-o", file])
                #expect(answer.status == 206, "\(format) \(header)")
                #expect(
                    answer.headers["content-range"]
                        == ["bytes \(slice.lowerBound)-\(slice.upperBound - 1)/\(bytes.count)"], "\(format) \(header)")
                #expect(
                    [UInt8](try Data(contentsOf: URL(fileURLWithPath: file))) == Array(bytes[slice]),
                    "\(format) \(header)")
            }
            try range("bytes=0-0", expect: 0..<1)
            try range("bytes=0-", expect: 0..<bytes.count)
            try range("bytes=100-599", expect: 100..<600)
            try range("bytes=-50", expect: (bytes.count - 50)..<bytes.count)
            try range("bytes=\(bytes.count - 10)-99999999", expect: (bytes.count - 10)..<bytes.count)
            for invalid in ["bytes=\(bytes.count)-", "bytes=99999999-", "bytes=9-2", "bytes=abc", "bytes=-0"] {
                let answer = try browser.get(path, ["-H", "Range: \(invalid)", "-o", "/dev/null"])
                #expect(answer.status == 416, "\(format) \(invalid)")
                #expect(answer.headers["content-range"] == ["bytes */\(bytes.count)"], "\(format) \(invalid)")
            }
        }
        #expect(try browser.get("/api/v1/mailboxes/1000/voicemails/1/audio?folder=INBOX&format=flac").status == 404)
        let download = try browser.get(
            "/api/v1/mailboxes/1000/voicemails/1/audio?folder=INBOX&download=1", ["-o", "/dev/null"])
        #expect(download.headers["content-disposition"]?.first?.contains("attachment") == true)
        #expect(download.headers["content-disposition"]?.first?.contains("4930") == false, "no caller data in names")
    }

    // MARK: - IMAP and web, both ways

    @Test func imapAndWebSeeEachOthersChanges() throws {
        let server = try start(voicemails: 2)
        defer { server.stop() }
        var browser = Browser(server)
        #expect(try browser.signIn("1000", "long-enough-1") == 303)
        let imap = { (command: String) throws -> String in
            try Subprocess.run(
                "/usr/bin/curl",
                [
                    "-sk", "--ssl-reqd", "--max-time", "10", "-u", "1000:long-enough-1",
                    "imap://127.0.0.1:\(server.imapPort)/INBOX", "-X", command,
                ], in: server.cli.directory
            ).stdout
        }
        // Web → IMAP.
        #expect(
            try browser.api("PATCH", "/api/v1/mailboxes/1000/voicemails/1?folder=INBOX", json: #"{"heard":true}"#)
                .status == 200)
        #expect(try imap("UID FETCH 1 FLAGS").contains("\\Seen"))
        let moved = try browser.api(
            "POST", "/api/v1/mailboxes/1000/voicemails/2/move?folder=INBOX", json: #"{"to":"Saved"}"#)
        #expect(moved.status == 200)
        #expect(Self.json(moved.body)["folder"] as? String == "Saved")
        #expect(try imap("UID SEARCH ALL").contains("SEARCH 1") && !(try imap("UID SEARCH ALL").contains(" 2")))

        // IMAP → web.
        _ = try imap("UID STORE 1 -FLAGS (\\Seen)")
        #expect(
            Self.json(try browser.get("/api/v1/mailboxes/1000/voicemails/1?folder=INBOX").body)["heard"] as? Bool
                == false)

        // Delete goes to Trash, and from Trash into Recently Deleted; empty Trash likewise.
        let deleted = try browser.api("DELETE", "/api/v1/mailboxes/1000/voicemails/1?folder=INBOX")
        #expect(Self.json(deleted.body)["folder"] as? String == "Trash")
        let emptied = try browser.api("POST", "/api/v1/mailboxes/1000/trash/empty")
        #expect(Self.json(emptied.body)["expunged"] as? Int == 1)
        let recoverable = try server.cli.run(["mailbox", "deleted", "1000", "--json"])
        #expect(recoverable.stdout.contains("Trash"), "emptied Trash stays recoverable: \(recoverable.stdout)")
    }

    @Test func theLogsAndURLsCarryNothingOfTheCaller() throws {
        let server = try start()
        defer { server.stop() }
        var browser = Browser(server)
        #expect(try browser.signIn("1000", "long-enough-1") == 303)
        let page = try browser.get("/inbox")
        #expect(page.body.contains("Ada Lovelace"))
        for link in page.body.components(separatedBy: "href=\"").dropFirst()
            + page.body.components(separatedBy: "src=\"").dropFirst()
        {
            let url = link.prefix { $0 != "\"" }
            #expect(!url.contains("4930") && !url.contains("Ada"), "\(url)")
        }
        _ = try browser.get("/api/v1/mailboxes/1000/voicemails?folder=INBOX")
        _ = try browser.get("/api/v1/mailboxes/1000/voicemails/1/audio?folder=INBOX", ["-o", "/dev/null"])
        let log = server.log
        #expect(log.contains("/inbox"), "access log written")
        #expect(!log.contains("4930123456") && !log.contains("Ada") && !log.contains("long-enough-1"))
    }

    // MARK: - Greetings

    @Test func aGreetingIsStoredAsAVoiceMessageAndHandedToThePBXAsMuLaw() throws {
        let server = try start()
        defer { server.stop() }
        var browser = Browser(server)
        #expect(try browser.signIn("1000", "long-enough-1") == 303)
        let base = "/api/v1/mailboxes/1000/greetings"
        let upload = { (type: String) throws -> (body: String, status: Int, headers: [String: [String]]) in
            try browser.request(
                [
                    "-X", "POST", "-H", "X-CSRF-Token: \(browser.csrf)", "-H", "Content-Type: audio/wav",
                    "--data-binary",
                    "@hello.wav",
                ], path: "\(base)?type=\(type)")
        }
        #expect(try upload("bogus").status == 400)
        let first = try upload("unavailable")
        #expect(first.status == 201, "\(first.body)")
        let second = try upload("unavailable")
        #expect(second.status == 201)
        let listed = Self.json(try browser.get(base).body)["greetings"] as? [[String: Any]]
        #expect(listed?.count == 1)
        #expect(listed?.first?["uid"] as? Int == Self.json(second.body)["uid"] as? Int, "the newest one counts")
        // The one it replaced is in Trash, recoverable.
        let trash = Self.json(try browser.get("/api/v1/mailboxes/1000/voicemails?folder=Trash").body)
        #expect((trash["voicemails"] as? [[String: Any]])?.first?["greeting_type"] as? String == "unavailable")

        // Over IMAP it is a voice message with its type.
        let header = try Subprocess.run(
            "/usr/bin/curl",
            [
                "-sk", "--ssl-reqd", "-u", "1000:long-enough-1",
                "imap://127.0.0.1:\(server.imapPort)/Greetings;UID=\(Self.json(second.body)["uid"] as? Int ?? 0);SECTION=HEADER",
            ], in: server.cli.directory
        ).stdout
        #expect(header.contains("X-CNS-Greeting-Type: unavailable"), "\(header)")
        #expect(header.contains("Message-Context: voice-message"))

        let file = server.cli.directory + "/pbx.wav"
        let pbx = try browser.get("\(base)/unavailable/audio?format=wav-ulaw", ["-o", file])
        #expect(pbx.status == 200)
        #expect(pbx.headers["content-type"] == ["audio/wav"])
        let wav = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(Array(wav.prefix(4)) == Array("RIFF".utf8))
        #expect(wav.count > 44 && wav[20] == 7 && wav[21] == 0, "format 7: G.711 µ-law")
        let rate = Int(wav[24]) | Int(wav[25]) << 8 | Int(wav[26]) << 16
        #expect(rate == 8000)
        let probe = try server.cli.run(["audio", "probe", file])
        #expect(probe.status == 0, "\(probe.stdout)")
        #expect(try browser.get("\(base)/busy/audio?format=wav-ulaw").status == 404)
        #expect(
            try browser.get("\(base)/unavailable/audio", ["-o", "/dev/null"]).headers["content-type"] == ["audio/mpeg"])

        // The page's form takes any audio file, and refuses what is not audio.
        try "not audio at all".write(toFile: server.cli.directory + "/text.wav", atomically: true, encoding: .utf8)
        let page = try browser.get("/greetings")
        #expect(page.body.contains("id=\"greeting-upload\""))
        let form = { (file: String) throws -> Int in
            try browser.request(
                [
                    "-F", "csrf=\(browser.csrf)", "-F", "mailbox=1000", "-F", "type=busy", "-F",
                    "audio=@\(file);type=audio/wav",
                ], path: "/greetings"
            ).status
        }
        #expect(try form("text.wav") == 422)
        #expect(try form("hello.wav") == 303)
        #expect(try browser.get("\(base)/busy/audio?format=wav-alaw", ["-o", "/dev/null"]).status == 200)
        let other = try browser.request(
            [
                "-X", "POST", "-H", "X-CSRF-Token: \(browser.csrf)", "-H", "Content-Type: audio/wav", "--data-binary",
                "@hello.wav",
            ],
            path: "/api/v1/mailboxes/2000/greetings?type=name")
        #expect(other.status == 404)
    }

    // MARK: - Second factor

    /// The current TOTP code for the base32 `key` an authenticator app is given (RFC 6238:
    /// HMAC-SHA-1 of the 30 s step, 6 digits), `steps` steps from now, computed apart from the
    /// server's code.
    static func totp(_ secret: String, steps: Int = 0, in directory: String) throws -> String {
        let script = """
            import base64, hmac, hashlib, struct, sys, time
            key = sys.argv[1].replace(' ', '')
            key = base64.b32decode(key + '=' * (-len(key) % 8))
            step = int(time.time() // 30) + int(sys.argv[2])
            digest = hmac.new(key, struct.pack('>Q', step), hashlib.sha1).digest()
            offset = digest[-1] & 15
            print('%06d' % ((struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7fffffff) % 1000000))
            """
        return try Subprocess.run(Subprocess.python, ["-c", script, secret, "\(steps)"], in: directory).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aSecondFactorIsEnrolledWithAQRCodeAndThenAsked() throws {
        let server = try start()
        defer { server.stop() }
        var browser = Browser(server)
        #expect(try browser.signIn("1000", "long-enough-1") == 303)
        #expect(
            try browser.post("/settings", form: ["csrf": browser.csrf, "action": "second_factor_start"]).status == 303)
        let enrolment = try browser.get("/settings")
        #expect(enrolment.body.contains("<svg"), "the QR code")
        let secretStart = try #require(enrolment.body.range(of: "id=\"second-factor-secret\">"))
        let secret = String(enrolment.body[secretStart.upperBound...].prefix { $0 != "<" })
        #expect(secret.filter { $0 != " " }.count == 52, "160 bits, base32: \(secret)")
        #expect(enrolment.body.contains("secret=\(secret.filter { $0 != " " })&"), "the QR code's key is the one shown")
        let wrong = try browser.post(
            "/settings", form: ["csrf": browser.csrf, "action": "second_factor_confirm", "code": "000000"])
        #expect(wrong.status == 422)
        let confirmed = try browser.post(
            "/settings",
            form: [
                "csrf": browser.csrf, "action": "second_factor_confirm",
                "code": try Self.totp(secret, in: server.cli.directory),
            ])
        #expect(confirmed.status == 200)
        #expect(confirmed.body.contains("data-on=\"true\""))
        #expect(!server.log.contains(secret), "the secret is never logged")

        // The password alone no longer opens a session: it asks for the code.
        var next = Browser(server, name: "second")
        let password = try next.signingIn("1000", "long-enough-1")
        #expect(password.status == 200)
        #expect(password.body.contains("action=\"/login/code\""))
        #expect(try next.get("/api/v1/mailboxes").status == 401)
        let current = try Self.totp(secret, steps: 1, in: server.cli.directory)
        let wrongCode = try next.post(
            "/login/code", form: ["csrf": Browser.hidden("csrf", in: password.body) ?? "", "code": "123456"])
        #expect(wrongCode.status == 401)
        let signedIn = try next.post(
            "/login/code", form: ["csrf": Browser.hidden("csrf", in: wrongCode.body) ?? "", "code": current])
        #expect(signedIn.status == 303, "\(signedIn.body)")
        #expect(try next.get("/api/v1/mailboxes").status == 200)
        // A code is good once.
        var replay = Browser(server, name: "replay")
        let replayStep = try replay.signingIn("1000", "long-enough-1")
        let replayed = try replay.post(
            "/login/code", form: ["csrf": Browser.hidden("csrf", in: replayStep.body) ?? "", "code": current])
        #expect(replayed.status == 401)

        // An administrator turns it off for a user who lost the phone.
        #expect(try server.cli.run(["mailbox", "second-factor-off", "1000"]).status == 0)
        var after = Browser(server, name: "after")
        #expect(try after.signIn("1000", "long-enough-1") == 303)
    }

    // MARK: - Links in alert mails

    @Test func theVoicemailsLinkOpensItInTheWebInboxAfterSignIn() throws {
        let server = try start(environment: ["MAILVOX_WEB_BASE_URL": "https://voicemail.example.com/"])
        defer { server.stop() }
        let message = try Subprocess.run(
            "/usr/bin/curl",
            ["-sk", "--ssl-reqd", "-u", "1000:long-enough-1", "imap://127.0.0.1:\(server.imapPort)/INBOX;UID=1"],
            in: server.cli.directory
        ).stdout.replacingOccurrences(of: "=\r\n", with: "")  // quoted-printable's soft line breaks
        let start = try #require(message.range(of: "https://voicemail.example.com/voicemail/"))
        let deposit = String(message[start.upperBound...].prefix { $0.isHexDigit || $0 == "-" })
        #expect(deposit.count == 36, "\(deposit)")
        #expect(!message[start.lowerBound...].prefix(120).contains("4930"), "no caller data in the link")

        var browser = Browser(server)
        let unsigned = try browser.get("/voicemail/\(deposit)")
        #expect(unsigned.status == 303)
        let next = try #require(unsigned.headers["location"]?.first)
        #expect(next.hasPrefix("/login?next="))
        let page = try browser.get(next)
        let signedIn = try browser.post(
            "/login",
            form: [
                "csrf": Browser.hidden("csrf", in: page.body) ?? "", "mailbox": "1000", "password": "long-enough-1",
                "next": Browser.hidden("next", in: page.body) ?? "",
            ])
        #expect(signedIn.headers["location"] == ["/voicemail/\(deposit)"])
        let found = try browser.get("/voicemail/\(deposit)")
        #expect(found.headers["location"] == ["/inbox?mailbox=1000&folder=INBOX&uid=1#vm-1"])
        #expect(try browser.get("/voicemail/00000000-0000-0000-0000-000000000000").status == 404)
        #expect(try browser.get("/voicemail/..%2F..%2Fetc").status == 404)
    }

    // MARK: - Departments and live events

    /// A member sees the department beside its own mailbox, with the rights it was given: a
    /// read-only member lists and plays, and is refused a change.
    @Test func aMemberSeesItsDepartmentWithItsRights() throws {
        let server = try start()
        defer { server.stop() }
        #expect(try server.cli.run(["mailbox", "member", "add", "2000", "1000", "--rights", "lr"]).status == 0)
        var browser = Browser(server)
        #expect(try browser.signIn("1000", "long-enough-1") == 303)
        let mailboxes = Self.json(try browser.get("/api/v1/mailboxes").body)["mailboxes"] as? [[String: Any]] ?? []
        #expect(mailboxes.map { $0["id"] as? String } == ["1000", "2000"])
        #expect(mailboxes.last?["name"] as? String == "Sales")
        #expect(mailboxes.last?["own"] as? Bool == false)
        let inbox = (mailboxes.last?["folders"] as? [[String: Any]])?.first { $0["name"] as? String == "INBOX" }
        #expect(inbox?["rights"] as? String == "lr")

        let listed = Self.json(try browser.get("/api/v1/mailboxes/2000/voicemails?folder=INBOX").body)
        #expect((listed["voicemails"] as? [[String: Any]])?.first?["caller_number"] as? String == "+4989777")
        #expect(
            try browser.get("/api/v1/mailboxes/2000/voicemails/1/audio?folder=INBOX", ["-o", "/dev/null"]).status == 200
        )
        let refused = try browser.api(
            "PATCH", "/api/v1/mailboxes/2000/voicemails/1?folder=INBOX", json: #"{"heard":true}"#)
        #expect(refused.status == 403, "\(refused.body)")
        #expect(try browser.api("DELETE", "/api/v1/mailboxes/2000/voicemails/1?folder=INBOX").status == 403)
        let page = try browser.get("/inbox?mailbox=2000&folder=INBOX")
        #expect(page.status == 200)
        #expect(page.body.contains("Sales"))
    }

    @Test func theEventStreamTellsOfANewVoicemailAtOnce() throws {
        let server = try start()
        defer { server.stop() }
        var browser = Browser(server)
        #expect(try browser.signIn("1000", "long-enough-1") == 303)
        let output = server.cli.directory + "/events.txt"
        let events = Process()
        events.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        events.arguments = [
            "-sk", "-N", "-b", browser.jar, "--max-time", "15", "-o", output, server.base + "/api/v1/events",
        ]
        try events.run()
        defer { events.terminate() }
        usleep(700_000)
        #expect(
            try server.cli.run(["deposit", "--mailbox", "1000", "--caller-number", "+4930999", "hello.wav"]).status == 0
        )
        let seen = DepositCLITests().waitFor(
            {
                ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").contains(#""kind":"added""#)
            }, seconds: 10)
        #expect(seen, "\((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(text.contains(#""folder":"INBOX""#) && text.contains(#""uids":[2]"#))
        #expect(!text.contains("4930999"), "events carry UIDs, never caller data")
    }
}
