"""TLS on both IMAP listeners: TLS 1.2 only with ECDHE + AEAD suites, TLS 1.3 works, TLS 1.1
and every CBC or static-RSA suite fail the handshake.

Usage: tls_policy.py HOST TLS_PORT STARTTLS_PORT KEYTYPE   (KEYTYPE: ECDSA or RSA, the certificate's)
"""
import socket
import ssl
import sys

host, tls_port, starttls_port, keytype = sys.argv[1:5]

# Suites the server must refuse under TLS 1.2: CBC (with and without ECDHE) and static RSA key
# exchange, even with GCM (no forward secrecy).
REFUSED = [
    "AES128-SHA", "AES256-SHA", "AES128-SHA256", "AES128-GCM-SHA256", "AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA",
    "ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA384",
]
ACCEPTED = [
    f"ECDHE-{keytype}-AES128-GCM-SHA256", f"ECDHE-{keytype}-AES256-GCM-SHA384",
    f"ECDHE-{keytype}-CHACHA20-POLY1305",
]


def context(ciphers=None, maximum=ssl.TLSVersion.TLSv1_2, minimum=ssl.TLSVersion.TLSv1_2):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = minimum
    ctx.maximum_version = maximum
    if ciphers:
        # Security level 0 so the client itself offers old suites and versions: the refusal
        # must come from the server.
        ctx.set_ciphers(ciphers + ":@SECLEVEL=0")
    return ctx


def handshake(ctx, starttls):
    port = starttls_port if starttls else tls_port
    sock = socket.create_connection((host, int(port)))
    sock.settimeout(10)
    if starttls:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"* OK")
        sock.sendall(b"s STARTTLS\r\n")
        line = reader.readline()
        assert line.startswith(b"s OK"), line
    try:
        tls = ctx.wrap_socket(sock, server_hostname=host)
    except (ssl.SSLError, ConnectionResetError, OSError) as error:
        sock.close()
        return None, str(error)
    result = (tls.version(), tls.cipher()[0])
    tls.close()
    return result, None


failures = []
for starttls in (False, True):
    where = "STARTTLS" if starttls else "implicit TLS"
    for cipher in REFUSED:
        result, _ = handshake(context(cipher), starttls)
        if result is not None:
            failures.append(f"{where}: {cipher} accepted ({result})")
    for cipher in ACCEPTED:
        result, error = handshake(context(cipher), starttls)
        if result is None or result[1] != cipher:
            failures.append(f"{where}: {cipher} refused ({error or result})")
    result, _ = handshake(
        context("ALL", maximum=ssl.TLSVersion.TLSv1_1, minimum=ssl.TLSVersion.TLSv1), starttls)
    if result is not None:
        failures.append(f"{where}: TLS 1.1 accepted ({result})")
    result, error = handshake(
        context(maximum=ssl.TLSVersion.TLSv1_3, minimum=ssl.TLSVersion.TLSv1_3), starttls)
    if result is None or result[0] != "TLSv1.3":
        failures.append(f"{where}: TLS 1.3 refused ({error or result})")

for failure in failures:
    print("FAIL", failure)
if failures:
    sys.exit(1)
print("PASS")
