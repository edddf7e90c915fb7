#!/usr/bin/python3
"""A real SMTP relay for Mailvox's alert tests and benchmark (aiosmtpd, Debian python3-aiosmtpd).

Listens on a free loopback port, prints "ready PORT" once it accepts connections, and writes
each accepted message to OUT/NNNNNN.eml with OUT/NNNNNN.json beside it (envelope sender,
recipients, EHLO name, whether the session was TLS and authenticated). OUT/events.log gets
one line per connection, EHLO, AUTH and reply given, so tests can count connections and
attempts. Faults on request: --fail-first N answers 451 to the first N DATA commands,
--reject ADDR answers 550 to RCPT TO:<ADDR>, --reject-all answers 550 to every DATA.
--count-only keeps no files (benchmark sink). Stops on SIGTERM or stdin EOF.
"""
import argparse, asyncio, json, os, signal, socket, ssl, sys, threading, time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, SMTP

ap = argparse.ArgumentParser()
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--out", required=True)
ap.add_argument("--mode", choices=["plain", "starttls", "tls"], default="plain")
ap.add_argument("--cert"); ap.add_argument("--key")
ap.add_argument("--auth", help="USER:PASS; AUTH is then required")
ap.add_argument("--fail-first", type=int, default=0)
ap.add_argument("--reject", action="append", default=[])
ap.add_argument("--reject-all", action="store_true")
ap.add_argument("--count-only", action="store_true")
ap.add_argument("--size", type=int, default=33554432)
args = ap.parse_args()
os.makedirs(args.out, exist_ok=True)
lock = threading.Lock()
state = {"n": 0, "data": 0}

def event(text):
    if args.count_only:
        return
    with lock, open(os.path.join(args.out, "events.log"), "a") as f:
        f.write(text + "\n")

class Handler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        event("ehlo %s tls=%s" % (hostname, session.ssl is not None))
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in args.reject:
            event("reply 550 rcpt %s" % address)
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with lock:
            state["data"] += 1
            attempt = state["data"]
        if args.reject_all:
            event("reply 550 data")
            return "550 5.7.1 message refused by policy"
        if attempt <= args.fail_first:
            event("reply 451 data")
            return "451 4.3.0 try again later"
        with lock:
            state["n"] += 1
            n = state["n"]
        if not args.count_only:
            base = os.path.join(args.out, "%06d" % n)
            with open(base + ".eml", "wb") as f:
                f.write(envelope.original_content)
            with open(base + ".json", "w") as f:
                json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                           "ehlo": session.host_name, "tls": session.ssl is not None or args.mode == "tls",
                           "authenticated": bool(session.authenticated), "received_at": time.time()}, f)
        event("reply 250 data")
        return "250 2.0.0 queued as %d" % n

def authenticator(server, session, envelope, mechanism, auth_data):
    user, password = args.auth.split(":", 1)
    ok = auth_data.login.decode() == user and auth_data.password.decode() == password
    event("auth %s %s" % (mechanism, "ok" if ok else "failed"))
    return AuthResult(success=ok, handled=False)

class CountingSMTP(SMTP):
    def connection_made(self, transport):
        event("connect")
        super().connection_made(transport)

class SinkController(Controller):
    def factory(self):
        return CountingSMTP(self.handler, **self.SMTP_kwargs)

def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]

context = None
if args.mode != "plain":
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
kwargs = dict(data_size_limit=args.size)
if args.auth:
    kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=args.mode != "plain")
if args.mode == "starttls":
    kwargs.update(tls_context=context, require_starttls=True)
port = free_port(args.host)
controller = SinkController(Handler(), hostname=args.host, port=port,
                            ssl_context=context if args.mode == "tls" else None,
                            **kwargs)
controller.start()
print("ready %d" % port, flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
stop.wait()
controller.stop()
