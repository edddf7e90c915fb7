import Foundation
import MailvoxTestSupport
import Testing

/// `serve` on a disk that fills up (issue #13): reads keep working, writes are refused with a
/// clear answer, readiness says so, workers back off instead of spinning, and once space comes
/// back the waiting voicemail is delivered — no lease left hanging for minutes.
///
/// The data dir is a small tmpfs of its own, filled with a file by the test; `min_free_bytes = 0`
/// switches off the door's own guard, so every layer meets the full disk itself. Mounting needs
/// root, as `make test` runs.
@Suite(.serialized) struct DiskFullTests {
    @Test func aFullDiskRefusesWritesKeepsReadsAndRecovers() throws {
        #expect(getuid() == 0, "mounting the test's tmpfs needs root (make test runs as root)")
        guard getuid() == 0 else { return }
        var cli = try DepositCLITests().prepared()
        let mount = cli.directory + "/small"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        try DepositCLITests().shell("mount -t tmpfs -o size=24m,mode=700 tmpfs \(mount)", in: cli.directory)
        defer { try? DepositCLITests().shell("umount -l \(mount)", in: cli.directory) }
        try DepositCLITests().shell(
            "cp -a var/. small/ && sed -i 's#^data_dir = .*#data_dir = \".\"#' small/mailvox.toml", in: cli.directory)

        let httpPort = HTTPFrontDoorTests.freePort()
        let imapPort = HTTPFrontDoorTests.freePort()
        cli.environment["MAILVOX_CONFIG"] = mount + "/mailvox.toml"
        cli.environment["MAILVOX_SERVER_MIN_FREE_BYTES"] = "0"
        cli.environment["MAILVOX_HTTP_LISTEN"] = "127.0.0.1:\(httpPort)"
        cli.environment["MAILVOX_IMAP_LISTEN_TLS"] = "127.0.0.1:\(imapPort)"
        let token = try cli.run(["token", "create", "--name", "pbx"]).lastLine
        let log = cli.directory + "/serve.log"
        let process = try cli.start(["serve"], log: log)
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        #expect(CLI.wait(for: "IMAP listening", in: log), "\(Self.read(log))")
        let server = HTTPFrontDoorTests.Server(
            cli: cli, process: process, base: "https://127.0.0.1:\(httpPort)", token: token)
        for _ in 0..<50 where (try? server.curl(["\(server.base)/healthz"]))?.status != 200 { usleep(100_000) }
        let auth = ["-H", "Authorization: Bearer \(token)", "-H", "Content-Type: audio/wav"]
        let url = "\(server.base)/api/v1/mailboxes/1000/voicemails?caller_number=%2B4930123456"

        let first = try server.curl(auth + ["--data-binary", "@hello.wav", url])
        #expect(first.status == 202, "\(first.body)")
        let firstID = server.json(first.body)["deposit_id"] as? String ?? ""
        #expect(Self.waitForStatus("delivered", of: firstID, server), "\(Self.read(log))")
        #expect(try server.curl(["\(server.base)/readyz"]).status == 200)

        // Fill the disk to the last block.
        try? DepositCLITests().shell("dd if=/dev/zero of=\(mount)/filler bs=64k 2>/dev/null; sync", in: cli.directory)

        let refused = try server.curl(auth + ["--data-binary", "@hello.wav", url])
        #expect(refused.status == 507, "\(refused.status): \(refused.body)")
        #expect(server.errorCode(refused.body) == "insufficient_storage", "\(refused.body)")
        let ready = try server.curl(["\(server.base)/readyz"])
        #expect(ready.status == 503, "\(ready.body)")
        let status = try server.curl([
            "-H", "Authorization: Bearer \(token)", "\(server.base)/api/v1/deposits/\(firstID)",
        ])
        #expect(status.status == 200 && server.json(status.body)["status"] as? String == "delivered", "\(status.body)")
        let select = try Self.imap(
            port: imapPort, certificate: mount + "/tls/cert.pem", commands: ["SELECT INBOX", "FETCH 1 (FLAGS)"])
        #expect(select.contains("a1 OK") && select.contains("a2 OK"), "\(select)")

        // Room for a long recording's sealed deposit, not for the voice message made from it: the
        // worker meets the full disk, hands the job back untouched and backs off instead of
        // retrying four times a second.
        try DepositCLITests().shell(
            "sox hello.wav -r 16000 long.wav repeat 12 && truncate -s -$(( $(stat -c %s long.wav) / 1024 + 300 ))K \(mount)/filler",
            in: cli.directory)
        let before = Self.read(log).components(separatedBy: "[MailvoxServer] deliver-").count
        let waiting = try server.curl(auth + ["--data-binary", "@long.wav", url])
        #expect(waiting.status == 202, "\(waiting.body)")
        let waitingID = server.json(waiting.body)["deposit_id"] as? String ?? ""
        sleep(4)
        let errors = Self.read(log).components(separatedBy: "[MailvoxServer] deliver-").count - before
        // Without back-off: 16 a worker in 4 s. Doubling from 250 ms: about 4 a worker.
        #expect(errors >= 1 && errors <= 10, "worker errors in 4 s: \(errors)\n\(Self.read(log))")
        #expect(Self.waitForStatus("queued", of: waitingID, server, seconds: 2), "\(Self.read(log))")

        // Space comes back: readiness returns, the waiting deposit is delivered within the
        // back-off (not after a 5-minute lease), and new deposits are taken again.
        try DepositCLITests().shell("rm -f \(mount)/filler", in: cli.directory)
        #expect(try server.curl(["\(server.base)/readyz"]).status == 200)
        #expect(Self.waitForStatus("delivered", of: waitingID, server, seconds: 45), "\(Self.read(log))")
        let after = try server.curl(auth + ["--data-binary", "@hello.wav", url])
        #expect(after.status == 202, "\(after.body)")
    }

    static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    static func waitForStatus(
        _ wanted: String, of id: String, _ server: HTTPFrontDoorTests.Server, seconds: Double = 30
    ) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let answer = try? server.curl(
                ["-H", "Authorization: Bearer \(server.token)", "\(server.base)/api/v1/deposits/\(id)"]),
                server.json(answer.body)["status"] as? String == wanted
            {
                return true
            }
            usleep(250_000)
        }
        return false
    }

    /// Logs in over implicit TLS with curl and sends `commands` (tagged a1, a2, …); the dialogue.
    static func imap(port: Int, certificate: String, commands: [String]) throws -> String {
        let script = """
            import socket, ssl, sys
            ctx = ssl.create_default_context(cafile=sys.argv[2])
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20), server_hostname="localhost")
            f = s.makefile("rb")
            out = [f.readline().decode()]
            def run(tag, text):
                s.sendall(f"{tag} {text}\\r\\n".encode())
                while True:
                    line = f.readline().decode()
                    out.append(line)
                    if not line or line.startswith(tag + " "):
                        return
            run("a0", 'LOGIN 1000 "long-enough-1"')
            for i, command in enumerate(sys.argv[3:], 1):
                run(f"a{i}", command)
            print("".join(out))
            """
        return try Subprocess.run(Subprocess.python, ["-c", script, "\(port)", certificate] + commands).output
    }
}
