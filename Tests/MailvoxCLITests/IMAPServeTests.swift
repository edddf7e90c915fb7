import Foundation
import MailvoxTestSupport
import Testing

/// `mailvox serve`'s IMAP listeners over the real sealed store, with voicemails made by the
/// real pipeline, driven by Python's imaplib and mbsync.
@Suite(.serialized) struct IMAPServeTests {
    static let clients = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MailvoxIMAPTests/Clients")

    /// A free loopback port (bound, read and released; a tiny race other tests accept too).
    static func freePort() -> Int { HTTPFrontDoorTests.freePort() }

    func tool(
        _ executable: String, _ arguments: [String], in directory: String, environment: [String: String]? = nil
    ) throws -> (status: Int32, output: String) {
        let result = try Subprocess.run(executable, arguments, in: directory, environment: environment)
        return (result.status, result.output)
    }

    static var python: String { Subprocess.python }

    @Test func realClientsReadVoicemailsThroughServe() throws {
        var cli = try CLI()
        let startTLS = Self.freePort()
        let implicitTLS = Self.freePort()
        cli.environment["MAILVOX_IMAP_LISTEN"] = "127.0.0.1:\(startTLS)"
        cli.environment["MAILVOX_IMAP_LISTEN_TLS"] = "127.0.0.1:\(implicitTLS)"
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        #expect(
            try cli.run(["mailbox", "add", "1000", "--name", "Front Desk", "--password-stdin"], stdin: "long-enough-1")
                .status == 0)
        let speech = try tool(
            "/usr/bin/espeak-ng", ["Hello, this is Ada. Please call me back.", "-w", "hello.wav"], in: cli.directory)
        #expect(speech.status == 0, "\(speech.output)")
        for number in ["+4930123456", "+4930999999"] {
            #expect(try cli.run(["deposit", "--mailbox", "1000", "--caller-number", number, "hello.wav"]).status == 0)
        }
        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        #expect(
            CLI.wait(for: "IMAP listening", in: log),
            "IMAP never started: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let certificate = cli.directory + "/var/tls/cert.pem"
        let python = Self.python

        // Wait until both voicemails are delivered, as an IMAP client sees it.
        var delivered = false
        for _ in 0..<100 {
            let status = try tool(
                "/usr/bin/curl",
                [
                    "-sS", "--cacert", certificate, "-u", "1000:long-enough-1",
                    "imaps://127.0.0.1:\(implicitTLS)/INBOX",
                    "-X", "STATUS INBOX (MESSAGES)",
                ], in: cli.directory)
            if status.output.contains("MESSAGES 2") {
                delivered = true
                break
            }
            usleep(300_000)
        }
        #expect(delivered, "the pipeline never delivered both voicemails")

        // IDLE push of a real delivery: idle first, then deposit a third voicemail.
        let idleLog = cli.directory + "/idle.log"
        FileManager.default.createFile(atPath: idleLog, contents: nil)
        let idle = Process()
        idle.executableURL = URL(fileURLWithPath: python)
        idle.arguments = [
            Self.clients.appendingPathComponent("idle_wait.py").path, "127.0.0.1", "\(implicitTLS)", certificate,
            "1000", "long-enough-1", "60",
        ]
        idle.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: idleLog))
        idle.standardError = idle.standardOutput
        try idle.run()
        #expect(CLI.wait(for: "READY", in: idleLog), "IDLE never started")
        #expect(
            try cli.run(["deposit", "--mailbox", "1000", "--caller-number", "+4930555555", "hello.wav"]).status == 0)
        idle.waitUntilExit()
        let idleOutput = (try? String(contentsOfFile: idleLog, encoding: .utf8)) ?? ""
        #expect(idle.terminationStatus == 0 && idleOutput.contains("PASS"), "\(idleOutput)")

        let session = try tool(
            python,
            [
                Self.clients.appendingPathComponent("voicemail_session.py").path, "127.0.0.1", "\(startTLS)",
                "\(implicitTLS)", certificate, "1000", "long-enough-1", "3",
            ], in: cli.directory)
        #expect(session.status == 0 && session.output.contains("PASS"), "\(session.output)")

        // mbsync: a full sync of what is left into a Maildir; the second run transfers nothing.
        let mbsync = try MBSync(home: cli.directory + "/home")
        try mbsync.configure(port: implicitTLS, user: "1000", password: "long-enough-1", certificate: certificate)
        let first = try mbsync.sync()
        #expect(first.status == 0, "\(first.output)")
        let inbox = try mbsync.files("INBOX")
        #expect(inbox.count == 2)
        let second = try mbsync.sync()
        #expect(second.status == 0, "\(second.output)")
        #expect(Set(try mbsync.files("INBOX")) == Set(inbox), "the second run changed nothing")
    }
}
