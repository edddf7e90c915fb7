"""COMPRESS=DEFLATE (RFC 4978) over implicit TLS, with zlib's raw deflate on the client side.

  compress.py HOST PORT CAFILE USER PASS session    login, COMPRESS, SELECT/FETCH/APPEND compressed
  compress.py HOST PORT CAFILE USER PASS bomb       1 GiB of zeros in one line, deflated: BYE [LIMIT]
  compress.py HOST PORT CAFILE USER PASS garbage    octets that are not deflate: BYE, then closed
  compress.py HOST PORT CAFILE USER PASS pipelined  a command sent before COMPRESS's OK: closed

Prints PASS, or FAIL with the reason and exits 1."""
import os
import re
import select
import socket
import ssl
import sys
import time
import zlib

host, port, cafile, user, password, mode = sys.argv[1:7]


def fail(what):
    print(f"FAIL {what}")
    sys.exit(1)


class Connection:
    """A TLS connection that reads lines and literals, through raw inflate once COMPRESS is on."""

    def __init__(self):
        context = ssl.create_default_context(cafile=cafile)
        context.check_hostname = False
        self.sock = context.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
        self.sock.settimeout(20)
        self.buffer = b""
        self.inflate = None
        self.deflate = None
        self.wire_in = 0

    def start_compression(self):
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        # The OK was the last plain octet: nothing read past it may be waiting.
        if self.buffer:
            fail(f"octets after COMPRESS's OK before any command: {self.buffer!r}")

    def send(self, data):
        if self.deflate:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            return False
        self.wire_in += len(data)
        self.buffer += self.inflate.decompress(data) if self.inflate else data
        return True

    def line(self):
        while b"\r\n" not in self.buffer:
            if not self.fill():
                fail(f"connection closed; buffered {self.buffer[:200]!r}")
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def exact(self, count):
        while len(self.buffer) < count:
            if not self.fill():
                fail("connection closed inside a literal")
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def command(self, tag, text):
        """Sends `tag text`; returns (untagged lines with their literals, tagged line)."""
        self.send(f"{tag} {text}\r\n".encode())
        return self.responses(tag)

    def responses(self, tag):
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag.encode() + b" "):
                return untagged, line.decode()
            match = re.search(rb"\{(\d+)\}$", line)
            if match:
                untagged.append((line, self.exact(int(match.group(1)))))
                untagged[-1] = (untagged[-1][0] + self.line(), untagged[-1][1])
            else:
                untagged.append((line, None))

    def closed_within(self, seconds):
        """Whether the server closes the connection within `seconds` (what it sent is buffered)."""
        deadline = time.time() + seconds
        try:
            while time.time() < deadline:
                if not self.fill():
                    return True
        except (ConnectionError, ssl.SSLError, OSError):
            return True
        return False


def logged_in():
    c = Connection()
    greeting = c.line()
    if not greeting.startswith(b"* OK") or b"COMPRESS=DEFLATE" in greeting:
        fail(f"greeting {greeting!r}: COMPRESS=DEFLATE is for logged-in sessions only")
    _, ok = c.command("a", "COMPRESS DEFLATE")
    if not ok.startswith("a BAD"):
        fail(f"COMPRESS before login: {ok}")
    _, ok = c.command("b", f"LOGIN {user} {password}")
    if not ok.startswith("b OK") or "COMPRESS=DEFLATE" not in ok:
        fail(f"LOGIN: {ok}")
    return c


def compressed():
    c = logged_in()
    _, ok = c.command("c", "COMPRESS DEFLATE")
    if ok != "c OK DEFLATE active":
        fail(f"COMPRESS: {ok}")
    c.start_compression()
    return c


def session():
    c = compressed()
    untagged, ok = c.command("d", "CAPABILITY")
    capabilities = b" ".join(line for line, _ in untagged)
    if not ok.startswith("d OK") or b"COMPRESS=DEFLATE" in capabilities or b"IMAP4rev1" not in capabilities:
        fail(f"CAPABILITY once compressed: {capabilities!r} {ok}")
    _, ok = c.command("e", "COMPRESS DEFLATE")
    if not ok.startswith("e NO [COMPRESSIONACTIVE]"):
        fail(f"second COMPRESS: {ok}")
    untagged, ok = c.command("f", "SELECT INBOX")
    if not ok.startswith("f OK [READ-WRITE]") or (b"* 3 EXISTS", None) not in untagged:
        fail(f"SELECT: {untagged} {ok}")
    untagged, ok = c.command("g", "FETCH 1:3 (UID BODY.PEEK[])")
    bodies = [literal for _, literal in untagged if literal is not None]
    if not ok.startswith("g OK") or len(bodies) != 3:
        fail(f"FETCH: {untagged} {ok}")
    for number, body in enumerate(bodies, 1):
        if f"Subject: Message {number}\r\n".encode() not in body or f"Body number {number}".encode() not in body:
            fail(f"message {number}: {body!r}")
        if not body.endswith(b"--b1--\r\n"):
            fail(f"message {number} cut short: {body[-40:]!r}")
    # A message bigger than several of the server's inflate pieces, partly incompressible,
    # goes in and comes back byte for byte.
    noise = os.urandom(96 * 1024).hex()
    lines = "\r\n".join(noise[i:i + 76] for i in range(0, len(noise), 76))
    message = (f"From: a@example.com\r\nSubject: Big\r\n\r\n{lines}\r\n" + "same line\r\n" * 20000).encode()
    c.send(f"h APPEND INBOX {{{len(message)}+}}\r\n".encode() + message + b"\r\n")
    _, ok = c.responses("h")
    if not ok.startswith("h OK [APPENDUID"):
        fail(f"APPEND: {ok}")
    untagged, ok = c.command("i", "FETCH 4 BODY.PEEK[]")
    bodies = [literal for _, literal in untagged if literal is not None]
    if not ok.startswith("i OK") or bodies != [message]:
        fail(f"FETCH of the appended message: {len(bodies)} literals, {ok}")
    untagged, ok = c.command("j", "LOGOUT")
    if not ok.startswith("j OK") or not any(line.startswith(b"* BYE") for line, _ in untagged):
        fail(f"LOGOUT: {untagged} {ok}")
    print(f"PASS compressed session ({c.wire_in} octets read from the wire, {len(message)}-octet message both ways)")


def bomb():
    c = compressed()
    # 1 GiB of zeros as one command line deflates to about 1 MiB; the server must stop at its
    # line limit (64 KiB) instead of inflating it all.
    sent = 0
    chunk = b"\0" * (1 << 20)
    piece = c.deflate.compress(b"x NOOP ")
    try:
        for _ in range(1024):
            piece += c.deflate.compress(chunk)
            if len(piece) >= 16384:
                c.sock.sendall(piece)
                sent += len(piece)
                piece = b""
                # Read the BYE as soon as it comes: once the server closes with our octets
                # unread, its TCP reset may discard what we have not read yet.
                readable, _, _ = select.select([c.sock], [], [], 0)
                if (readable or c.sock.pending()) and (not c.fill() or b"\r\n" in c.buffer):
                    break
        else:
            c.sock.sendall(piece + c.deflate.flush(zlib.Z_SYNC_FLUSH))
            sent += len(piece)
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    if not c.closed_within(20):
        fail("the server did not close the connection")
    if not c.buffer.startswith(b"* BYE [LIMIT]"):
        fail(f"expected BYE [LIMIT], got {c.buffer[:200]!r}")
    print(f"PASS deflate bomb refused after {sent} compressed octets sent: {c.buffer.splitlines()[0].decode()}")


def garbage():
    c = compressed()
    # 0xff: a final block of the reserved type 3, invalid from the first octet (RFC 1951 §3.2.3).
    c.sock.sendall(b"\xff" * 64)
    if not c.closed_within(10):
        fail("the server kept a connection whose input is not deflate")
    if not c.buffer.startswith(b"* BYE"):
        fail(f"expected BYE, got {c.buffer[:200]!r}")
    print("PASS garbage closes the connection: " + c.buffer.splitlines()[0].decode())


def pipelined():
    c = logged_in()
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    c.sock.sendall(b"c COMPRESS DEFLATE\r\n" + deflate.compress(b"d NOOP\r\n") + deflate.flush(zlib.Z_SYNC_FLUSH))
    if not c.closed_within(10):
        fail("the server ran a command sent before COMPRESS's OK")
    print("PASS a command before COMPRESS's OK closes the connection")


{"session": session, "bomb": bomb, "garbage": garbage, "pipelined": pipelined}[mode]()
