import Foundation
import MailvoxTestSupport
import Testing

/// The HTTP front door against clients that never finish (issue #13): a TCP connection that
/// never starts its TLS handshake, and request headers sent a byte at a time, are both closed at
/// `[http] header_timeout_seconds` (from connect or the last response, not from the last byte);
/// and TLS 1.2 offers only ECDHE with AEAD ciphers, as IMAP does (`TLSPolicy`).
@Suite(.serialized) struct HTTPHardeningTests {
    static let probe = """
        import socket, ssl, sys, time
        port, timeout = int(sys.argv[1]), float(sys.argv[2])
        results = []

        def closed_within(sock, seconds, trickle=None):
            # True when the server closes the connection within `seconds`; `trickle` is sent a
            # byte every 0.3 s meanwhile (a slow-loris client).
            start = time.monotonic()
            sock.settimeout(0.3)
            while time.monotonic() - start < seconds:
                try:
                    if trickle:
                        sock.sendall(trickle[:1])
                        trickle = trickle[1:] or b"X"
                    if sock.recv(1024) == b"":
                        return time.monotonic() - start
                except (socket.timeout, TimeoutError):
                    continue
                except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
                    return time.monotonic() - start
            return None

        def context(ciphers=None):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            if ciphers:
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
                ctx.set_ciphers(ciphers + ":@SECLEVEL=0")
            return ctx

        silent = socket.create_connection(("127.0.0.1", port))
        results.append(("no TLS handshake is closed", closed_within(silent, timeout + 4) is not None))

        slow = context().wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
        took = closed_within(slow, timeout + 6, trickle=b"GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nX-Slow: ")
        results.append(("headers a byte at a time are cut at the deadline", took is not None))

        ok = context().wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
        ok.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n")
        results.append(("a prompt request is answered", ok.recv(1024).startswith(b"HTTP/1.1 200")))

        for cipher, wanted in [("AES128-SHA", False), ("ECDHE-ECDSA-AES128-SHA", False),
                               ("ECDHE-ECDSA-AES128-SHA256", False), ("AES128-GCM-SHA256", False),
                               ("ECDHE-ECDSA-AES128-GCM-SHA256", True), ("ECDHE-ECDSA-CHACHA20-POLY1305", True)]:
            try:
                context(cipher).wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost").close()
                agreed = True
            except (ssl.SSLError, ConnectionResetError, OSError):
                agreed = False
            results.append((f"TLS 1.2 {cipher} {'accepted' if wanted else 'refused'}", agreed == wanted))

        for name, passed in results:
            print(("PASS " if passed else "FAIL ") + name)
        """

    @Test func slowAndSilentClientsAreCutAndOnlyAEADCiphersAreOffered() throws {
        var cli = try DepositCLITests().prepared()
        let port = HTTPFrontDoorTests.freePort()
        cli.environment["MAILVOX_HTTP_LISTEN"] = "127.0.0.1:\(port)"
        cli.environment["MAILVOX_HTTP_HEADER_TIMEOUT_SECONDS"] = "2"
        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        #expect(CLI.wait(for: "ready", in: log))
        let http = HTTPFrontDoorTests.Server(cli: cli, process: server, base: "https://127.0.0.1:\(port)", token: "")
        for _ in 0..<50 where (try? http.curl(["\(http.base)/healthz"]))?.status != 200 { usleep(100_000) }

        let result = try Subprocess.run(Subprocess.python, ["-c", Self.probe, "\(port)", "2"])
        let output = result.output
        #expect(result.succeeded, "\(output)")
        let lines = output.split(separator: "\n").filter { $0.hasPrefix("PASS") || $0.hasPrefix("FAIL") }
        #expect(lines.count == 9, "\(output)")
        for line in lines where line.hasPrefix("FAIL") { Issue.record("\(line)") }
    }
}
