"""Idles on INBOX and waits for one more message (a delivery made meanwhile by the caller).
Prints READY once idling, then PASS with the latency from READY to EXISTS.

Usage: idle_wait.py HOST TLS_PORT CAFILE USER PASSWORD TIMEOUT
"""
import socket
import ssl
import sys
import time

host, port, cafile, user, password, timeout = sys.argv[1:7]
context = ssl.create_default_context(cafile=cafile)
context.check_hostname = False
raw = context.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
raw.settimeout(float(timeout))
reader = raw.makefile("rb")


def until(predicate):
    while True:
        line = reader.readline()
        if not line:
            print("FAIL: connection closed")
            sys.exit(1)
        if predicate(line):
            return line


until(lambda line: line.startswith(b"* OK"))
raw.sendall(f"a LOGIN {user} {password}\r\n".encode())
until(lambda line: line.startswith(b"a "))
raw.sendall(b"b SELECT INBOX\r\n")
before = int(until(lambda line: line.endswith(b"EXISTS\r\n")).split()[1])
until(lambda line: line.startswith(b"b OK"))
raw.sendall(b"c IDLE\r\n")
until(lambda line: line.startswith(b"+"))
print("READY", flush=True)
started = time.time()
try:
    line = until(lambda line: line.endswith(b"EXISTS\r\n"))
except socket.timeout:
    print("FAIL: no EXISTS while idling")
    sys.exit(1)
if int(line.split()[1]) != before + 1:
    print("FAIL:", line)
    sys.exit(1)
raw.sendall(b"DONE\r\n")
until(lambda line: line.startswith(b"c OK"))
print(f"PASS latency_ms={(time.time() - started) * 1000:.0f}", flush=True)
