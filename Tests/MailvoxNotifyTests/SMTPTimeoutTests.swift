import Foundation
import MailvoxCore
import Testing

@testable import MailvoxNotify

/// A relay that accepts and then stops answering must cost a worker `[smtp]`'s timeout, not
/// libetpan's default 300 s (docs/ALERTS.md: timeouts for connect, each reply and each write).
/// The "relay" is a Python listener on loopback that goes silent at a chosen step; it closes
/// every connection after 20 s by itself, so without the timeouts a test fails in 20 s
/// (too slow) instead of hanging for five minutes.
@Suite struct SMTPTimeoutTests {
    /// `--mode`: `silent` accepts and never writes; `greet` sends 220 and ignores EHLO;
    /// `data` answers everything up to DATA's 354 and never answers the message's end;
    /// `starttls` offers STARTTLS, says 220 to it and then never handshakes; `full` never
    /// accepts and keeps its backlog full, so connecting itself hangs.
    static let stallScript = """
        import argparse, os, socket, sys, threading, time
        ap = argparse.ArgumentParser()
        ap.add_argument("--out"); ap.add_argument("--mode", required=True)
        args = ap.parse_args()
        server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0)); server.listen(8)
        print("ready", server.getsockname()[1], flush=True)

        def serve(conn):
            try:
                f = conn.makefile("rb")
                if args.mode != "silent":
                    conn.sendall(b"220 stall.test ESMTP\\r\\n")
                while args.mode in ("data", "starttls"):
                    line = f.readline()
                    if not line:
                        break
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        extra = b"250-STARTTLS\\r\\n" if args.mode == "starttls" else b""
                        conn.sendall(b"250-stall.test\\r\\n" + extra + b"250 8BITMIME\\r\\n")
                    elif verb == b"STAR":
                        conn.sendall(b"220 go ahead\\r\\n")
                        break
                    elif verb == b"DATA":
                        conn.sendall(b"354 end with .\\r\\n")
                        while f.readline() not in (b".\\r\\n", b""):
                            pass
                        break
                    else:
                        conn.sendall(b"250 ok\\r\\n")
                time.sleep(20)
            finally:
                conn.close()

        # The test process blocks SIGTERM and its children inherit the mask: stdin's EOF is the
        # stop signal, and os._exit ends every thread at once.
        def stop_on_eof():
            sys.stdin.read()
            os._exit(0)

        threading.Thread(target=stop_on_eof, daemon=True).start()
        if args.mode == "full":
            # A listener that never accepts, its backlog filled: the kernel drops further SYNs,
            # so a client's connect(2) hangs as it would towards a host that is gone.
            server.listen(0)
            held = []
            for _ in range(3):
                c = socket.socket(); c.setblocking(False)
                try:
                    c.connect(server.getsockname())
                except BlockingIOError:
                    pass
                held.append(c)
            time.sleep(20)
            os._exit(0)
        server.settimeout(1)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                conn, _ = server.accept()
            except socket.timeout:
                continue
            conn.settimeout(None)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        os._exit(0)
        """

    /// Sends one message through a relay stalled in `mode` with a 2 s timeout; returns the
    /// error and how long the send took.
    static func stalledSend(mode: String, security: Configuration.SMTPSecurity) throws -> (NotifyError?, Double) {
        let directory = try temporaryDirectory()
        let script = directory + "/stall.py"
        try stallScript.write(toFile: script, atomically: true, encoding: .utf8)
        let relay = try Relay(["--mode", mode], directory: directory, script: script)
        defer { relay.stop() }
        let sender = SMTPSender(
            settings: SMTPSettings(
                host: "127.0.0.1", port: relay.port, security: security, heloName: "vm.example.net", timeout: 2))
        let start = Date()
        do {
            _ = try sender.send(from: "v@localhost", to: ["desk@example.com"], message: SMTPClientTests.message())
            return (nil, Date().timeIntervalSince(start))
        } catch {
            return (error, Date().timeIntervalSince(start))
        }
    }

    @Test(arguments: [
        ("silent", Configuration.SMTPSecurity.none), ("greet", .none), ("data", .none), ("silent", .tls),
        ("starttls", .starttls),
    ])
    func aStalledRelayTimesOutRetryably(mode: String, security: Configuration.SMTPSecurity) async throws {
        let (error, seconds) = try await onOwnThread { try Self.stalledSend(mode: mode, security: security) }
        guard let error else {
            Issue.record("\(mode)/\(security): sent through a relay that never answered")
            return
        }
        #expect(!error.isPermanent, "\(mode)/\(security): \(error)")
        guard case .connection = error else {
            Issue.record("\(mode)/\(security): expected a connection error, got \(error)")
            return
        }
        // 2 s per step; "data" may wait once for the reply. Far below the relay's own 20 s.
        #expect(seconds < 8, "\(mode)/\(security): took \(seconds) s with a 2 s timeout: \(error)")
        #expect(seconds >= 1.5, "\(mode)/\(security): failed before the timeout: \(error)")
    }

    @Test(arguments: [Configuration.SMTPSecurity.none, .tls])
    func aConnectThatIsNeverAnsweredStopsAtTheTimeout(security: Configuration.SMTPSecurity) async throws {
        let (error, seconds) = try await onOwnThread { try Self.stalledSend(mode: "full", security: security) }
        guard let error else {
            Issue.record("\(security): sent through a relay that never accepted")
            return
        }
        #expect(!error.isPermanent, "\(security): \(error)")
        #expect(seconds < 5, "\(security): connecting took \(seconds) s with a 2 s timeout: \(error)")
    }
}
