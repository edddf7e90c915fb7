#!/usr/bin/python3
"""A test-owned SMS gateway: a small http.server on a free loopback port.

Prints "ready PORT", then writes each request to OUT/NNNNNN.json: method, path, headers,
body (text), and for webhook calls whether X-Mailvox-Signature verifies with the secret of
--secret-file (HMAC-SHA256 over "UNIXTIME.BODY"). --status CODE[,CODE...] answers the given
statuses in turn (the last one repeats); --garbage answers a body that is not JSON.
Stops on SIGTERM or stdin EOF.
"""
import argparse, hashlib, hmac, http.server, json, os, signal, sys, threading

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("--secret-file")
ap.add_argument("--status", default="200")
ap.add_argument("--garbage", action="store_true")
args = ap.parse_args()
os.makedirs(args.out, exist_ok=True)
statuses = [int(s) for s in args.status.split(",")]
lock = threading.Lock()
count = [0]

def verify(header, body):
    if not args.secret_file or not header:
        return None
    secret = open(args.secret_file, "rb").read().split(b"\n")[0]
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret, parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))

class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            count[0] += 1
            n = count[0]
        status = statuses[min(n, len(statuses)) - 1]
        record = {"method": "POST", "path": self.path, "headers": dict(self.headers.items()),
                  "body": body.decode("utf-8", "replace"), "status": status,
                  "signature_valid": verify(self.headers.get("X-Mailvox-Signature"), body)}
        with open(os.path.join(args.out, "%06d.json" % n), "w") as f:
            json.dump(record, f)
        reply = b"<<not json>>\x00\xff" if args.garbage else b'{"sid": "SM123", "status": "queued"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *a):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("ready %d" % server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
stop.wait()
server.shutdown()
