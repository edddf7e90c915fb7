"""Literals before login are held to 8 KiB (the server must not buffer max_message_bytes for
anyone who connects); after login APPEND's limit applies again.

Usage: prelogin_limits.py HOST TLS_PORT CAFILE USER PASSWORD
"""
import socket
import ssl
import sys

from raw_tls import connector, expect

host, port, cafile, user, password = sys.argv[1:6]
connect = connector(host, port, cafile)


# A synchronising literal over 8 KiB before login: tagged NO [TOOBIG] and no "+"; the client
# sends no data, and the next command is read as a command.
raw, reader = connect()
raw.sendall(b"a LOGIN {8193}\r\n")
expect(reader, b"a NO [TOOBIG]", "8193-octet literal before login")
raw.sendall(b"b LOGIN {52428800}\r\n")
expect(reader, b"b NO [TOOBIG]", "50 MiB literal before login")
raw.sendall(b"c NOOP\r\n")
expect(reader, b"c OK", "the connection goes on")

# Within the limit a literal works as ever: the password as an 8 KiB literal is refused as a
# password, not as a literal.
raw.sendall(f"d LOGIN {user} {{8192}}\r\n".encode())
expect(reader, b"+", "8192-octet literal before login")
raw.sendall(b"p" * 8192 + b"\r\n")
expect(reader, b"d NO [AUTHENTICATIONFAILED]", "wrong long password")

# Logged in, a literal above 8 KiB is fine again.
raw.sendall(f"e LOGIN {{{len(user)}}}\r\n".encode())
expect(reader, b"+", "user as a literal")
raw.sendall(f"{user} {{{len(password)}+}}\r\n{password}\r\n".encode())
expect(reader, b"e OK", "login with literals")
message = (
    b"From: a@example.com\r\nTo: b@example.com\r\nSubject: big\r\n\r\n" + b"x" * 20000 + b"\r\n"
)
raw.sendall(f"f APPEND INBOX {{{len(message)}}}\r\n".encode())
expect(reader, b"+", "APPEND literal after login")
raw.sendall(message + b"\r\n")
line = reader.readline()
while line.startswith(b"*"):
    line = reader.readline()
if not line.startswith(b"f OK"):
    print(f"FAIL APPEND after login: {line!r}")
    sys.exit(1)

# A non-synchronising literal over 8 KiB before login: BYE [TOOBIG] and the connection closes.
raw, reader = connect()
try:
    raw.sendall(b"g LOGIN {52428800+}\r\n" + b"x" * 65536)
except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
    pass
expect(reader, b"* BYE [TOOBIG]", "50 MiB LITERAL+ before login")
try:
    rest = reader.read()
except (ConnectionResetError, ssl.SSLError):
    rest = b""
if rest:
    print(f"FAIL connection stayed open after BYE: {rest[:200]!r}")
    sys.exit(1)
print("PASS")
