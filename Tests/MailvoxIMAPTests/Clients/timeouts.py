"""The server's timers, from a client's side.

Usage: timeouts.py CASE HOST PORT [CAFILE USER PASSWORD]
  deadline   plaintext port; a byte every 0.2 s must not keep an unauthenticated connection
             open past the pre-login deadline (1 s in the test), and BYE comes first
  idle       TLS port; logged in, NOOPs keep the connection open, silence ends it with BYE
  delayed    TLS port; a refused login whose delay outlasts the pre-login deadline is still
             answered NO [AUTHENTICATIONFAILED], then BYE
"""
import socket
import ssl
import sys
import time

case, host, port = sys.argv[1:4]


def fail(message):
    print("FAIL", message)
    sys.exit(1)


def tls_connect(cafile):
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False
    raw = context.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
    raw.settimeout(10)
    return raw


def read_to_close(sock):
    data = b""
    while True:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            fail(f"still open; got {data!r}")
        except (ConnectionResetError, ssl.SSLError):
            break
        if not chunk:
            break
        data += chunk
    return data


if case == "deadline":
    sock = socket.create_connection((host, int(port)))
    sock.settimeout(0.05)
    start = time.time()
    data = b""
    closed = False
    # Dribble a byte (never a whole line) every 0.2 s for up to 4 s.
    while time.time() - start < 4:
        try:
            sock.sendall(b"x")
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        try:
            chunk = sock.recv(4096)
            if not chunk:
                closed = True
                break
            data += chunk
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed = True
            break
        time.sleep(0.2)
    elapsed = time.time() - start
    print("closed" if closed else "open", "after %.2f s" % elapsed, data)
    if not closed or not 0.7 < elapsed < 2.5:
        fail("the pre-login deadline must close the connection about 1 s after connect")
    if b"\r\n* BYE " not in data:
        fail("no BYE before the close")

elif case == "idle":
    cafile, user, password = sys.argv[4:7]
    sock = tls_connect(cafile)
    reader = sock.makefile("rb")
    assert reader.readline().startswith(b"* OK")
    sock.sendall(f"a LOGIN {user} {password}\r\n".encode())
    line = reader.readline()
    if not line.startswith(b"a OK"):
        fail(f"login: {line!r}")
    # Reads restart the idle timer (2 s in the test): 4 s of NOOPs keep it open.
    for index in range(8):
        time.sleep(0.5)
        sock.sendall(f"n{index} NOOP\r\n".encode())
        line = reader.readline()
        if not line.startswith(f"n{index} OK".encode()):
            fail(f"NOOP {index}: {line!r}")
    start = time.time()
    rest = reader.read()
    elapsed = time.time() - start
    print("closed after %.2f s" % elapsed, rest)
    if not rest.startswith(b"* BYE ") or not 1.5 < elapsed < 8:
        fail("idle after login must end with BYE after about 2 s")

elif case == "delayed":
    cafile, user = sys.argv[4:6]
    sock = tls_connect(cafile)
    sock.settimeout(15)
    reader = sock.makefile("rb")
    start = time.time()
    assert reader.readline().startswith(b"* OK")
    sock.sendall(f"a LOGIN {user} wrong\r\n".encode())
    try:
        rest = reader.read()
    except (ConnectionResetError, ssl.SSLError) as error:
        fail(f"connection cut: {error}")
    elapsed = time.time() - start
    print("closed after %.2f s" % elapsed, rest)
    lines = rest.split(b"\r\n")
    if not lines[0].startswith(b"a NO [AUTHENTICATIONFAILED]"):
        fail("the delayed refusal was not answered")
    if not lines[1].startswith(b"* BYE "):
        fail("no BYE after the answer")
    if elapsed < 1.2:
        fail("the refusal came before its delay")

else:
    fail(f"unknown case {case}")
print("PASS")
