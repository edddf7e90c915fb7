"""What the raw-socket client scripts share: a TLS connection read line by line, and an
expectation that prints FAIL and exits 1 when the server says something else."""
import socket
import ssl
import sys


def connector(host, port, cafile):
    """A function that opens a fresh TLS connection and reads the greeting: (socket, reader)."""
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False

    def connect():
        raw = context.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
        raw.settimeout(10)
        reader = raw.makefile("rb")
        greeting = reader.readline()
        assert greeting.startswith(b"* OK"), greeting
        return raw, reader

    return connect


def expect(reader, prefix, what):
    line = reader.readline()
    if not line.startswith(prefix):
        print(f"FAIL {what}: expected {prefix!r}, got {line!r}")
        sys.exit(1)
    return line
