"""Hostile input over implicit TLS: each case must end in BAD, NO or BYE, never a hang or a
crash; afterwards a fresh connection still logs in.

Usage: hostile.py HOST TLS_PORT CAFILE USER PASSWORD STARTTLS_PORT
"""
import socket
import ssl
import sys
import time

from raw_tls import connector, expect

host, port, cafile, user, password, starttls_port = sys.argv[1:7]
connect = connector(host, port, cafile)


def closed(reader, what):
    rest = reader.read()
    if rest not in (b"",):
        print(f"FAIL {what}: connection stayed open, sent {rest[:200]!r}")
        sys.exit(1)


# An over-long line: BYE [LIMIT], then the connection closes.
raw, reader = connect()
try:
    raw.sendall(b"a NOOP " + b"x" * 200_000 + b"\r\n")
except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
    pass
expect(reader, b"* BYE [LIMIT]", "over-long line")

# A huge synchronising literal: tagged NO [TOOBIG]; the connection goes on.
raw, reader = connect()
raw.sendall(b"a LOGIN {999999999999}\r\n")
expect(reader, b"a NO [TOOBIG]", "huge literal")
raw.sendall(b"b NOOP\r\n")
expect(reader, b"b OK", "after huge literal")

# A huge non-synchronising literal: BYE [TOOBIG].
raw.sendall(b"c APPEND INBOX {999999999999+}\r\n")
expect(reader, b"* BYE [TOOBIG]", "huge LITERAL+")

# Deep nesting: BAD [LIMIT], the session goes on.
raw, reader = connect()
raw.sendall(f"a LOGIN {user} {password}\r\n".encode())
expect(reader, b"a OK", "login")
raw.sendall(b"b SELECT INBOX\r\n")
while not reader.readline().startswith(b"b OK"):
    pass
raw.sendall(b"c SEARCH " + b"(" * 500 + b"ALL" + b")" * 500 + b"\r\n")
expect(reader, b"c BAD [LIMIT]", "deep nesting")
raw.sendall(b"d SEARCH " + b"NOT " * 500 + b"ALL\r\n")
expect(reader, b"d BAD [LIMIT]", "deep NOT")
raw.sendall(b"e FETCH 1:* (FLAGS\r\n")
expect(reader, b"e BAD", "unbalanced parenthesis")
raw.sendall(b"f FETCH 99999 FLAGS\r\n")
expect(reader, b"f BAD", "sequence number out of range")
raw.sendall(b"\x00\xff\xfe garbage\r\n")
expect(reader, b"* BAD", "binary garbage")
raw.sendall(b"g NOOP\r\n")
expect(reader, b"g OK", "still alive")

# Valid commands with odd names never end the session (issue #14, item 7): a pattern of every
# ATOM-CHAR is answered OK, a name that is not modified UTF-7 cannot exist (NO, not BAD).
def tagged(reader, tag, what):
    while True:
        line = reader.readline()
        if not line:
            print(f"FAIL {what}: the connection closed")
            sys.exit(1)
        if line.startswith(tag + b" "):
            return line


raw.sendall(b"h LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*\r\n")
line = tagged(reader, b"h", "LIST of every ATOM-CHAR")
if not line.startswith(b"h OK"):
    print(f"FAIL LIST of every ATOM-CHAR: {line!r}")
    sys.exit(1)
for tag, command in [(b"i", b"SELECT \"&Jjo!\""), (b"j", b"EXAMINE &Jjo!"), (b"k", b"STATUS &- (MESSAGES)")]:
    raw.sendall(tag + b" " + command + b"\r\n")
    line = tagged(reader, tag, command.decode())
    if not line.startswith(tag + b" NO"):
        print(f"FAIL {command!r}: {line!r}")
        sys.exit(1)
raw.sendall(b"l NOOP\r\n")
expect(reader, b"l OK", "alive after odd names")

# Commands before login past the limit: BYE [LIMIT].
raw, reader = connect()
for index in range(40):
    raw.sendall(f"n{index} NOOP\r\n".encode())
lines = []
while True:
    line = reader.readline()
    if not line:
        break
    lines.append(line)
if not any(line.startswith(b"* BYE [LIMIT]") for line in lines):
    print("FAIL pre-login flood:", lines[-3:])
    sys.exit(1)

# Plaintext pipelined after STARTTLS (CVE-2011-0411) is never run: the connection closes.
plain = socket.create_connection((host, int(starttls_port)))
plain.settimeout(10)
plain_reader = plain.makefile("rb")
expect(plain_reader, b"* OK", "STARTTLS greeting")
plain.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
expect(plain_reader, b"a OK", "STARTTLS accepted")
rest = plain_reader.read()
if b"b OK" in rest or b"CAPABILITY" in rest:
    print("FAIL injected command ran:", rest)
    sys.exit(1)

# The server survived all of it.
raw, reader = connect()
raw.sendall(f"a LOGIN {user} {password}\r\n".encode())
expect(reader, b"a OK", "login after the attacks")
print("PASS")
