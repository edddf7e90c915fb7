import Foundation

/// The peer: a static file server over the same TLS certificate, serving saved copies of what
/// Mailvox answered (the rendered inbox page, the JSON list, the decoded MP3, the static files).
/// Dovecot has no web inbox; this is the floor of sending the same bytes with HTTP/1.1
/// keep-alive and single byte ranges, in Python's standard library (`http.server` and `ssl`).
enum StaticPeer {
    static let script = #"""
        import http.server, os, signal, ssl, sys

        # A child of the benchmark may start with SIGTERM blocked or ignored: make it stop on one.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        root, cert, key, port_file = sys.argv[1:5]
        types = {".html": "text/html; charset=utf-8", ".json": "application/json", ".css": "text/css",
                 ".js": "text/javascript", ".svg": "image/svg+xml", ".mp3": "audio/mpeg"}


        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Mailvox answers
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = os.path.join(root, os.path.basename(self.path.split("?")[0]))
                try:
                    file = open(path, "rb")
                except OSError:
                    self.send_error(404)
                    return
                with file:
                    length = os.fstat(file.fileno()).st_size
                    first, last, status = 0, length - 1, 200
                    wanted = self.headers.get("Range", "")
                    if wanted.startswith("bytes=") and "," not in wanted:
                        head, _, tail = wanted[6:].strip().partition("-")
                        if head.isdigit() and (tail == "" or tail.isdigit()):
                            first, last, status = int(head), min(int(tail or length - 1), length - 1), 206
                        elif head == "" and tail.isdigit():
                            first, status = max(0, length - int(tail)), 206
                        if status == 206 and first > last:
                            self.send_response(416)
                            self.send_header("Content-Range", f"bytes */{length}")
                            self.send_header("Content-Length", "0")
                            self.end_headers()
                            return
                    self.send_response(status)
                    self.send_header("Content-Type", types.get(os.path.splitext(path)[1], "application/octet-stream"))
                    self.send_header("Content-Length", str(last - first + 1))
                    self.send_header("Accept-Ranges", "bytes")
                    if status == 206:
                        self.send_header("Content-Range", f"bytes {first}-{last}/{length}")
                    self.end_headers()
                    file.seek(first)
                    left = last - first + 1
                    while left > 0:
                        chunk = file.read(min(left, 65536))
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        left -= len(chunk)


        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        with open(port_file + ".tmp", "w") as out:
            out.write(str(server.server_address[1]))
        os.rename(port_file + ".tmp", port_file)
        server.serve_forever()
        """#

    /// Starts the server on a free port serving `directory`; returns it and its port.
    static func start(directory: String, certificate: String, key: String) async throws -> (Process, Int) {
        let scriptPath = directory + "/../static-peer.py"
        let portFile = directory + "/../static-peer.port"
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [scriptPath, directory, certificate, key, portFile]
        try process.run()
        for _ in 0..<100 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
                return (process, port)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        stop(process)
        throw BenchError.setup("the static file server never listened")
    }
}

/// Sends SIGTERM, and SIGKILL to a process still there after 5 s.
func stop(_ process: Process) {
    guard process.isRunning else { return }
    process.terminate()
    for _ in 0..<50 where process.isRunning { usleep(100_000) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
}
