import Foundation
import MailvoxTestSupport
import Testing

/// The web inbox as a person meets it, in a real browser: Debian's Chromium driven by Selenium
/// (`Clients/web_browser.py`) against `mailvox serve`, with imaplib beside it. At a phone's and
/// a desktop's window size: a refused and an accepted sign-in, the pipeline's voicemail listed
/// and played to its end, heard in the page (IMAP sees `\Seen`) and unheard over IMAP (the open
/// page follows live), saved, deleted, the Trash emptied, signed out; page actions never reload.
@Suite(.serialized) struct WebBrowserTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Clients/web_browser.py")
    /// Where a person looks at the screenshots after a run (not committed).
    static let artefacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/test-artefacts/web")
    /// A name that needs RFC 2047 on its way through the message headers.
    static let callerName = "Jürgen Groß"
    static let callerNumber = "+4930123456"
    static let password = "long-enough-1"

    @Test func aPersonUsesTheWebInboxInChromiumAtPhoneAndDesktopSizes() throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(
                FileManager.default.isExecutableFile(atPath: tool),
                "\(tool) is missing: scripts/bootstrap test installs chromium and chromium-driver")
        }
        let deposits = DepositCLITests()
        var cli = try deposits.prepared()
        let httpPort = Subprocess.freePort()
        let imapPort = Subprocess.freePort()
        cli.environment["MAILVOX_HTTP_LISTEN"] = "127.0.0.1:\(httpPort)"
        cli.environment["MAILVOX_IMAP_LISTEN"] = "127.0.0.1:\(imapPort)"
        // One voicemail per window size: each run of the scenario saves, deletes and purges one.
        for _ in 0..<2 {
            let deposit = try cli.run([
                "deposit", "--mailbox", "1000", "--caller-number", Self.callerNumber, "--caller-name",
                Self.callerName, "hello.wav",
            ])
            try #require(deposit.status == 0, "\(deposit.stderr)")
        }
        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        try #require(CLI.wait(for: "IMAP listening", in: log), "serve never started: \(Self.tail(of: log))")
        let base = "https://127.0.0.1:\(httpPort)"
        try #require(
            deposits.waitFor {
                try Subprocess.run(
                    "/usr/bin/curl", ["-sk", "-o", "/dev/null", "-w", "%{http_code}", base + "/healthz"]
                )
                .stdout == "200"
            }, "the HTTPS listener never answered: \(Self.tail(of: log))")
        try #require(
            try deposits.waitFor { try deposits.inboxCount(cli) == 2 }, "never delivered: \(Self.tail(of: log))")
        let seconds = try audioSeconds(cli, imapPort: imapPort)

        let screenshots = cli.directory + "/screenshots"
        let browser = try Subprocess.run(
            Subprocess.python,
            [
                Self.script.path, base, "\(imapPort)", "1000", Self.password, screenshots,
                String(format: "%.3f", seconds), Self.callerName, Self.callerNumber, cli.directory + "/hello.wav",
            ], in: cli.directory)
        let copied = keep(screenshots)
        #expect(
            browser.status == 0,
            """
            web_browser.py exited \(browser.status):
            \(browser.output)
            screenshots: \(copied.joined(separator: ", "))
            serve.log, last lines:
            \(Self.tail(of: log))
            """)
    }

    /// The stored MP3's exact length, fetched over IMAP (`BODY.PEEK`: it stays unheard) and
    /// measured by `mailvox audio probe` (libsndfile's frame count, encoder delay and padding
    /// excluded), so the browser's `audio.duration` is checked against another decoder's count.
    /// Both voicemails come from the same recording, so the first stands for both.
    func audioSeconds(_ cli: CLI, imapPort: Int) throws -> Double {
        let fetch = """
            import email, imaplib, ssl, sys
            port, user, password, target = sys.argv[1:5]
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            imap = imaplib.IMAP4("127.0.0.1", int(port))
            imap.starttls(ssl_context=context)
            imap.login(user, password)
            imap.select("INBOX", readonly=True)
            typ, data = imap.uid("FETCH", "1", "(BODY.PEEK[])")
            message = email.message_from_bytes(data[0][1])
            audio = [part for part in message.walk() if part.get_content_type() == "audio/mpeg"]
            open(target, "wb").write(audio[0].get_payload(decode=True))
            imap.logout()
            """
        try Subprocess.check(
            Subprocess.python, ["-c", fetch, "\(imapPort)", "1000", Self.password, "voicemail.mp3"], in: cli.directory)
        let probe = try cli.run(["audio", "probe", "voicemail.mp3"])
        try #require(probe.status == 0, "\(probe.stderr)")
        let line = probe.stdout.split(separator: "\n").first { $0.hasPrefix("duration: ") }
        return try #require(line.flatMap { Double($0.dropFirst("duration: ".count)) }, "\(probe.stdout)")
    }

    /// Copies the run's screenshots to `.build/test-artefacts/web/`, replacing the last run's.
    func keep(_ screenshots: String) -> [String] {
        let files = FileManager.default
        try? files.createDirectory(at: Self.artefacts, withIntermediateDirectories: true)
        for old in (try? files.contentsOfDirectory(atPath: Self.artefacts.path)) ?? [] where old.hasSuffix(".png") {
            try? files.removeItem(at: Self.artefacts.appendingPathComponent(old))
        }
        var kept: [String] = []
        for name in ((try? files.contentsOfDirectory(atPath: screenshots)) ?? []).sorted() where name.hasSuffix(".png")
        {
            let target = Self.artefacts.appendingPathComponent(name)
            if (try? files.copyItem(atPath: screenshots + "/" + name, toPath: target.path)) != nil {
                kept.append(target.path)
            }
        }
        return kept
    }

    static func tail(of log: String, lines: Int = 40) -> String {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
