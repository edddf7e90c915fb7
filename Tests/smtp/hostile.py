#!/usr/bin/env python3
"""Hostile SMTP clients for Mailvox's SMTP door (issue #15), stdlib only (raw sockets + ssl).

One subcommand per attack. Each talks to a running `mailvox serve` and prints ONE JSON line
with what the server answered, so the caller (Tests/MailvoxCLITests/SMTPHostileInputTests.swift)
asserts reply codes, not this script. Replies are given as their last line ("552 5.3.4 text");
"closed" says whether the server ended the connection (EOF or reset) when the attack was over.

    python3 Tests/smtp/hostile.py no-audio      --port P
    python3 Tests/smtp/hostile.py not-audio     --port P
    python3 Tests/smtp/hostile.py size-declared --port P
    python3 Tests/smtp/hostile.py oversize      --port P [--bytes 3000000]
    python3 Tests/smtp/hostile.py rcpt-flood    --port P [--count 10000]
    python3 Tests/smtp/hostile.py bare-lf       --port P [--bytes 1000000]
    python3 Tests/smtp/hostile.py long-line     --port P [--bytes 1000000] [--pid SERVE_PID]
    python3 Tests/smtp/hostile.py starttls-inject --port P [--cafile var/tls/cert.pem --message good.eml]
    python3 Tests/smtp/hostile.py auth-brute    --port P --cafile var/tls/cert.pem --token TOKEN
    python3 Tests/smtp/hostile.py stall         --port P --message good.eml [--timeout 3]
    python3 Tests/smtp/hostile.py good          --port P --cafile var/tls/cert.pem --token TOKEN --message good.eml
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import smtplib
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pbx_mail  # noqa: E402

RCPT = "2000@localhost"


class Closed(Exception):
    """The server ended the connection (EOF, reset, or a TLS alert)."""


class Conn:
    """One SMTP client connection that reads whole replies (RFC 5321 §4.2: `CODE-` lines
    continue a reply, `CODE ` ends it) and records each one's last line."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.replies: list[str] = []
        self.closed = False

    def _fill(self) -> None:
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError) as error:
            self.closed = True
            raise Closed(str(error)) from error
        if not data:
            self.closed = True
            raise Closed("EOF")
        self.buffer += data

    def reply(self) -> str:
        """The next complete reply's last line; raises Closed at EOF."""
        while True:
            while b"\r\n" not in self.buffer:
                self._fill()
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            text = line.decode("utf-8", "replace")
            if len(text) < 4 or text[3] != "-":
                self.replies.append(text)
                return text

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError) as error:
            self.closed = True
            raise Closed(str(error)) from error

    def cmd(self, line: str) -> str:
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def starttls(self, cafile: str | None) -> None:
        """STARTTLS (RFC 3207) after its 220, verifying the server's certificate for localhost."""
        context = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
        try:
            self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError) as error:
            self.closed = True
            raise Closed(f"TLS handshake failed: {error}") from error

    def wait_closed(self, seconds: float = 5.0) -> bool:
        """True when the server closes within `seconds`; replies seen meanwhile are recorded."""
        self.sock.settimeout(seconds)
        try:
            while True:
                self.reply()
        except Closed:
            return True
        except (TimeoutError, socket.timeout):
            return False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def stuffed(message: bytes) -> bytes:
    """The message as DATA content (RFC 5321 §4.5.2: a leading dot doubled) plus the end."""
    lines = message.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    body = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)
    return body + b".\r\n"


def report(**fields: object) -> int:
    print(json.dumps(fields))
    return 0


def opened(args: argparse.Namespace, timeout: float = 10.0) -> Conn:
    conn = Conn(args.host, args.port, timeout)
    conn.reply()  # 220 greeting
    conn.cmd("EHLO hostile.example")
    return conn


def transaction(conn: Conn, message: bytes, sender: str = "asterisk@pbx.example.com") -> str:
    """MAIL, RCPT, DATA, the message: the reply to its final dot."""
    conn.cmd(f"MAIL FROM:<{sender}>")
    conn.cmd(f"RCPT TO:<{RCPT}>")
    conn.cmd("DATA")
    conn.send(stuffed(message))
    return conn.reply()


# ------------------------------------------------------------------------------------------
# Attacks


def no_audio(args: argparse.Namespace) -> int:
    """Asterisk's mail with attach=no: nothing to take (554 5.6.0 expected)."""
    conn = opened(args)
    final = transaction(conn, pbx_mail.no_audio(message_id="<hostile-no-audio@pbx.example.com>"))
    conn.cmd("QUIT")
    return report(check="no-audio", replies=conn.replies, final=final)


def not_audio(args: argparse.Namespace) -> int:
    """An audio/x-wav part holding text, random bytes, or a bare RIFF header, one transaction
    each on one connection (554 5.6.0 expected for each, and the connection stays usable)."""
    conn = opened(args)
    finals = []
    for kind in ("text", "random", "truncated"):
        message = pbx_mail.not_audio(kind=kind, message_id=f"<hostile-not-audio-{kind}@pbx.example.com>")
        finals.append(transaction(conn, message))
    conn.cmd("QUIT")
    return report(check="not-audio", replies=conn.replies, finals=finals)


def size_declared(args: argparse.Namespace) -> int:
    """RFC 1870 §6: a SIZE over the limit is refused at MAIL, before any data; the RCPT after
    it then has no transaction to join."""
    conn = opened(args)
    mail = conn.cmd("MAIL FROM:<a@b> SIZE=1073741824")
    rcpt = conn.cmd(f"RCPT TO:<{RCPT}>")
    conn.cmd("QUIT")
    return report(check="size-declared", replies=conn.replies, mail=mail, rcpt=rcpt)


def wav(seconds: float, rate: int = 8000) -> bytes:
    """A valid 8 kHz mono 16-bit PCM WAV (seeded noise): audio a server would take, so only
    the size limit stands between it and a deposit."""
    samples = random.Random(7).randbytes(int(seconds * rate) * 2)
    header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", len(samples))
    return header + samples


def oversize(args: argparse.Namespace) -> int:
    """A voicemail over the limit sent without SIZE: read to its end, then 552 5.3.4
    (RFC 5321 §4.5.3.1.10), and the connection still serves (NOOP 250)."""
    # base64 grows the audio by 4/3; aim the whole message at --bytes.
    audio = wav(args.bytes * 3 / 4 / 16000)
    message = pbx_mail.asterisk(audio, "0301234567", "Big Caller", message_id="<hostile-oversize@pbx.example.com>")
    conn = opened(args, timeout=30)
    final = transaction(conn, message)
    noop = conn.cmd("NOOP")
    conn.cmd("QUIT")
    return report(check="oversize", replies=conn.replies, final=final, noop=noop, message_bytes=len(message))


def rcpt_flood(args: argparse.Namespace) -> int:
    """`--count` RCPT lines pipelined in one go (RFC 2920), mostly to 2000@localhost (its
    +detail forms), with a few unknown users and a foreign domain among the first ones. The
    replies are read while the commands are still being written (a server that answers as it
    reads must not deadlock against a client that writes). No DATA: nothing may be queued."""
    conn = opened(args, timeout=30)
    conn.cmd("MAIL FROM:<asterisk@pbx.example.com>")
    before = len(conn.replies)
    lines = []
    for i in range(args.count):
        if i in (3, 17, 29, 41):
            lines.append(f"RCPT TO:<nobody{i}@localhost>\r\n")
        elif i == 53:
            lines.append("RCPT TO:<2000@elsewhere.example>\r\n")
        else:
            lines.append(f"RCPT TO:<2000+{i}@localhost>\r\n")
    payload = "".join(lines).encode()
    errors: list[str] = []

    def write() -> None:
        try:
            conn.sock.sendall(payload)
        except OSError as error:
            errors.append(str(error))

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(args.count):
            conn.reply()
    except Closed:
        pass
    writer.join()
    answers = conn.replies[before:]
    after = None
    if not conn.closed:
        after = conn.cmd("RSET")
        conn.cmd("QUIT")
    # Run-length of "CODE x.y.z": 10,000 replies would make a long line.
    runs: list[dict[str, object]] = []
    for answer in answers:
        key = " ".join(answer.split(" ")[:2])
        if runs and runs[-1]["reply"] == key:
            runs[-1]["count"] = int(runs[-1]["count"]) + 1  # type: ignore[call-overload]
        else:
            runs.append({"reply": key, "count": 1})
    return report(
        check="rcpt-flood", sent=args.count, answered=len(answers), runs=runs, closed=conn.closed, rset=after,
        write_errors=errors,
    )


def flood(conn: Conn, payload: bytes, seconds: float) -> tuple[bool, list[str]]:
    """Writes `payload` from a thread while reading replies until the server closes."""
    errors: list[str] = []

    def write() -> None:
        try:
            conn.sock.sendall(payload)
        except OSError as error:
            errors.append(str(error))

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    closed = conn.wait_closed(seconds)
    writer.join(timeout=seconds)
    return closed, errors


def bare_lf(args: argparse.Namespace) -> int:
    """Command lines ended by a bare LF (RFC 5321 §2.3.8), a megabyte of them: 500 5.5.2 for
    each until the error limit, then 421 4.7.0 and the connection closed."""
    conn = opened(args)
    unit = args.pattern.encode().decode("unicode_escape").encode()
    payload = unit * (args.bytes // len(unit))
    closed, errors = flood(conn, payload, 15)
    return report(check="bare-lf", replies=conn.replies, closed=closed, write_errors=errors)


def rss_kb(pid: int | None) -> int | None:
    if not pid:
        return None
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def long_line(args: argparse.Namespace) -> int:
    """One command line of a megabyte, CRLF only at its end: 500 5.5.6, memory kept bounded
    (RFC 5321 §4.5.3.1.4 lets a server refuse lines over its limit), connection still usable."""
    before = rss_kb(args.pid)
    conn = opened(args, timeout=30)
    conn.send(b"X" * args.bytes)
    time.sleep(0.2)
    conn.send(b"\r\n")
    refused = conn.reply()
    # A second one, as a MAIL argument, to be sure the buffer did not keep the first.
    conn.send(b"MAIL FROM:<" + b"a" * args.bytes + b"@b>\r\n")
    second = conn.reply()
    noop = conn.cmd("NOOP")
    conn.cmd("QUIT")
    after = rss_kb(args.pid)
    return report(
        check="long-line", replies=conn.replies, refused=refused, second=second, noop=noop, rss_before_kb=before,
        rss_after_kb=after,
    )


def starttls_inject(args: argparse.Namespace) -> int:
    """STARTTLS with commands pipelined behind it in the same segment (CVE-2011-0411,
    RFC 3207 §4): the server answers 220 and must then drop the connection rather than run
    the injected commands in plaintext or under TLS. Done twice: with the single RCPT of the
    classic attack, and (given --message) with a whole transaction carrying a real voicemail,
    which would leave a deposit behind if it ran."""
    injections = [b"RCPT TO:<x@localhost>\r\n"]
    if args.message:
        message = open(args.message, "rb").read()
        injections.append(
            b"EHLO hostile.example\r\nMAIL FROM:<asterisk@pbx.example.com>\r\n"
            + f"RCPT TO:<{RCPT}>\r\nDATA\r\n".encode() + stuffed(message) + b"QUIT\r\n"
        )
    results = []
    for injection in injections:
        conn = opened(args)
        greeting = len(conn.replies)
        conn.send(b"STARTTLS\r\n" + injection)
        result: dict[str, object] = {"injected_bytes": len(injection)}
        try:
            result["tls_reply"] = conn.reply()
            # Anything more in plaintext would be an answer to the injected commands.
            result["plaintext_after"] = conn.buffer.decode("utf-8", "replace")
            conn.starttls(args.cafile)
            result["handshake"] = "ok"
            # TLS 1.3 lets the client finish its side before the server has looked: what
            # matters is that nothing is answered under TLS and the server hangs up.
            result["closed"] = conn.wait_closed(3)
        except Closed as error:
            result.setdefault("handshake", f"failed: {error}")
            result["closed"] = True
        except (TimeoutError, socket.timeout):
            result["closed"] = False
        result["answers"] = conn.replies[greeting:]
        conn.close()
        results.append(result)
    return report(check="starttls-inject", results=results)


def plain(user: str, password: str) -> str:
    """RFC 4616: authzid NUL authcid NUL passwd, base64."""
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


def secured(args: argparse.Namespace) -> Conn:
    conn = opened(args, timeout=30)
    conn.cmd("STARTTLS")
    conn.starttls(args.cafile)
    conn.cmd("EHLO hostile.example")
    return conn


def auth_brute(args: argparse.Namespace) -> int:
    """Wrong tokens by AUTH PLAIN after STARTTLS: 535 5.7.8 each until `[auth] max_failures`,
    then 421 4.7.0 and close; a new connection is refused while locked — even with the
    right token (RFC 4954 §4 leaves the policy to the server; Mailvox counts per address)."""
    conn = secured(args)
    attempts = []
    try:
        for n in range(args.tries):
            attempts.append(conn.cmd(f"AUTH PLAIN {plain('pbx', f'mvx_wrong-token-{n}')}"))
            if attempts[-1].startswith("421"):
                break
    except Closed:
        pass
    closed = conn.closed or conn.wait_closed(5)
    again = secured(args)
    relock = None
    try:
        relock = again.cmd(f"AUTH PLAIN {plain('pbx', args.token)}")
    except Closed:
        pass
    again_closed = again.closed or again.wait_closed(5)
    return report(
        check="auth-brute", attempts=attempts, closed=closed, retry=relock, retry_closed=again_closed,
        retry_replies=again.replies,
    )


def stall(args: argparse.Namespace) -> int:
    """A client that sends half a voicemail in DATA and then nothing: 421 4.4.2 at the idle
    timeout (RFC 5321 §4.5.3.2.5 lets a server time out; 421 per §3.8), nothing queued."""
    message = open(args.message, "rb").read()
    conn = opened(args)
    conn.cmd("MAIL FROM:<asterisk@pbx.example.com>")
    conn.cmd(f"RCPT TO:<{RCPT}>")
    conn.cmd("DATA")
    data = stuffed(message)
    conn.send(data[: len(data) // 2])
    start = time.monotonic()
    conn.sock.settimeout(args.timeout + 10)
    timeout_reply = None
    try:
        timeout_reply = conn.reply()
    except Closed:
        pass
    except (TimeoutError, socket.timeout):
        timeout_reply = "no reply"
    waited = time.monotonic() - start
    closed = conn.closed or conn.wait_closed(5)
    return report(check="stall", replies=conn.replies, timeout_reply=timeout_reply, seconds=waited, closed=closed)


def good(args: argparse.Namespace) -> int:
    """A well-behaved PBX with Python's smtplib: STARTTLS, AUTH with the token, one voicemail."""
    message = open(args.message, "rb").read()
    context = ssl.create_default_context(cafile=args.cafile)
    replies = []
    with smtplib.SMTP(args.host, args.port, local_hostname="pbx.example.com", timeout=30) as client:
        client.ehlo()
        code, text = client.starttls(context=context)
        replies.append(f"{code} {text.decode()}")
        client.ehlo()
        code, text = client.login("pbx", args.token)
        replies.append(f"{code} {text.decode()}")
        code, text = client.mail("asterisk@pbx.example.com")
        replies.append(f"{code} {text.decode()}")
        code, text = client.rcpt(RCPT)
        replies.append(f"{code} {text.decode()}")
        code, text = client.data(message)
        final = f"{code} {text.decode()}"
        replies.append(final)
    return report(check="good", replies=replies, final=final)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
        p = sub.add_parser(name, help=(handler.__doc__ or "").split("\n")[0])
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--cafile", help="the server's certificate (var/tls/cert.pem)")
        p.set_defaults(handler=handler)
        return p

    command("no-audio", no_audio)
    command("not-audio", not_audio)
    command("size-declared", size_declared)
    command("oversize", oversize).add_argument("--bytes", type=int, default=3_000_000)
    command("rcpt-flood", rcpt_flood).add_argument("--count", type=int, default=10_000)
    p = command("bare-lf", bare_lf)
    p.add_argument("--bytes", type=int, default=1_000_000)
    p.add_argument("--pattern", default="NOOP\\n", help="the unit repeated (escapes allowed)")
    p = command("long-line", long_line)
    p.add_argument("--bytes", type=int, default=1_000_000)
    p.add_argument("--pid", type=int, help="serve's pid, to report its VmRSS before and after")
    command("starttls-inject", starttls_inject).add_argument("--message", help="a voicemail to inject too")
    p = command("auth-brute", auth_brute)
    p.add_argument("--token", required=True, help="the right token, refused anyway while locked")
    p.add_argument("--tries", type=int, default=10)
    p = command("stall", stall)
    p.add_argument("--message", required=True)
    p.add_argument("--timeout", type=float, default=3)
    p = command("good", good)
    p.add_argument("--token", required=True)
    p.add_argument("--message", required=True)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except Closed as error:
        # The server hung up where the attack expected to go on: say so, as JSON too.
        return report(check=args.command, error=f"closed early: {error}")


if __name__ == "__main__":
    sys.exit(main())
