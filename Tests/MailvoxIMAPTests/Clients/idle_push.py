"""Proves IDLE push: connection A idles on INBOX; connection B appends to INBOX and then sets a
flag; A must see EXISTS and FETCH FLAGS at once (within TIMEOUT seconds).

Usage: idle_push.py HOST TLS_PORT CAFILE USER PASSWORD
"""
import imaplib
import socket
import ssl
import sys
import time

host, port, cafile, user, password = sys.argv[1:6]
TIMEOUT = 10
context = ssl.create_default_context(cafile=cafile)
context.check_hostname = False

raw = context.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
raw.settimeout(TIMEOUT)
reader = raw.makefile("rb")


def send(line):
    raw.sendall(line.encode() + b"\r\n")


def until(predicate):
    deadline = time.time() + TIMEOUT
    seen = []
    while time.time() < deadline:
        line = reader.readline()
        if not line:
            break
        seen.append(line)
        if predicate(line):
            return line, seen
    print("FAIL: waited for a line, got", seen)
    sys.exit(1)


until(lambda line: line.startswith(b"* OK"))
send(f"a LOGIN {user} {password}")
until(lambda line: line.startswith(b"a OK"))
send("b SELECT INBOX")
exists, _ = until(lambda line: line.endswith(b"EXISTS\r\n"))
before = int(exists.split()[1])
until(lambda line: line.startswith(b"b OK"))
send("c IDLE")
until(lambda line: line.startswith(b"+ "))

other = imaplib.IMAP4_SSL(host, int(port), ssl_context=context)
other.login(user, password)
started = time.time()
other.append("INBOX", None, None, b"From: x@example.com\r\nSubject: pushed\r\n\r\nhi\r\n")
line, _ = until(lambda line: line.endswith(b"EXISTS\r\n"))
check_count = int(line.split()[1])
if check_count != before + 1:
    print("FAIL: EXISTS", line)
    sys.exit(1)
exists_latency = time.time() - started
other.select("INBOX")
other.store("1", "+FLAGS", "(\\Flagged)")
line, _ = until(lambda line: b"FETCH" in line)
if b"\\Flagged" not in line:
    print("FAIL: FETCH FLAGS", line)
    sys.exit(1)
other.logout()
send("DONE")
until(lambda line: line.startswith(b"c OK"))
send("d LOGOUT")
print(f"PASS exists_latency_ms={exists_latency * 1000:.1f}")
