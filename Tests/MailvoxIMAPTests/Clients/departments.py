"""Departments (#16) through Python's imaplib, as members' mail apps meet them.

Usage: departments.py HOST TLS_PORT CAFILE MAILVOX CONFIG
Expects mailbox 2100 "Support" (no login of its own, one voicemail in INBOX), 2101 "Sales",
and the members 2000 (password ada-password-1, rights lrswtei) and 2001 (bob-password-1,
rights lrs) of 2100; 2000 is no member of 2101. Runs `MAILVOX mailbox member remove` with
`--config CONFIG` itself, so removals happen while sessions are open.

Prints PASS/FAIL per check; exits 1 if any failed.
"""

import imaplib
import re
import socket
import ssl
import subprocess
import sys
import time

host, port, cafile, mailvox, config = sys.argv[1:6]
failures = []
INBOX = '"Shared/2100 Support/INBOX"'


def check(condition, what):
    print(("PASS " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def connect(user, password):
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False
    imap = imaplib.IMAP4_SSL(host, int(port), ssl_context=context)
    imap.login(user, password)
    return imap


def refused_noperm(typ, data, what):
    text = b" ".join(d for d in data if isinstance(d, bytes))
    check(typ == "NO" and b"[NOPERM]" in text, f"{what} refused NO [NOPERM]: {typ} {text!r}")


def member_cli(*arguments):
    result = subprocess.run([mailvox, "mailbox", "member", *arguments, "--config", config], capture_output=True)
    check(result.returncode == 0, f"mailvox mailbox member {' '.join(arguments)}: {result.stderr!r}")


# The department's own id and password do not log in (--no-login).
try:
    connect("2100", "support-password-1")
    check(False, "2100's own login is refused")
except imaplib.IMAP4.error:
    check(True, "2100's own login is refused")

# Ada: the department under the shared namespace, and nothing else.
ada = connect("2000", "ada-password-1")
typ, data = ada.namespace()
check(typ == "OK" and b'(("Shared/" "/"))' in data[0], f"NAMESPACE names Shared/: {data}")
typ, data = ada.list('""', "*")
listing = b"\n".join(d for d in data if isinstance(d, bytes))
for name in (b'"Shared/2100 Support/INBOX"', b'"Shared/2100 Support/Saved"', b'"Shared/2100 Support/Trash"'):
    check(name in listing, f"LIST shows {name.decode()}")
check(re.search(rb'\(\\Noselect[^)]*\) "/" "Shared/2100 Support"', listing) is not None, "Shared/2100 Support is \\Noselect")
check(b"2101" not in listing and b"Sales" not in listing, "LIST shows no mailbox 2000 is not a member of")
typ, data = ada.myrights(INBOX)
check(typ == "OK" and data[0].endswith(b" lrswited"), f"MYRIGHTS (with d for t and e, RFC 4314 §2.1.1) {data}")
typ, data = ada.getacl(INBOX)
refused_noperm(typ, data, "GETACL without the a right")
typ, data = ada.setacl(INBOX, "2000", "lrswipkxtea")
refused_noperm(typ, data, "SETACL without the a right")
typ, data = ada.select(INBOX)
check(typ == "OK" and data == [b"1"], f"SELECT the department's INBOX: {typ} {data}")
typ, data = ada.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
check(typ == "OK" and b"Subject:" in data[0][1], f"FETCH a header: {data!r}")
typ, data = ada.copy("1", "Saved")
check(typ == "OK", f"COPY into Ada's own Saved: {typ} {data}")
check(ada.status("Saved", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 1)"), "the copy is in Ada's Saved")

# Names that try to reach another mailbox: another department, other spellings of the prefix or
# the level, dot levels, modified UTF-7 that spells a delimiter or the prefix.
for name in (
    '"Shared/2101 Sales/INBOX"', '"Shared/2101/INBOX"', '"shared/2100 Support/INBOX"', '"Shared/2100 SUPPORT/INBOX"',
    '"Shared/2100/INBOX"', '"Shared/2100 Support/../2101 Sales/INBOX"', '"Shared&AC8-2101 Sales&AC8-INBOX"',
    '"&AFMAaABhAHIAZQBk-/2101 Sales/INBOX"', '"Shared/2101 Sales&AC8-INBOX"',
):
    typ, data = ada.status(name, "(MESSAGES)")
    check(typ != "OK", f"STATUS {name} refused: {typ} {data}")
    typ, data = ada.create(name)
    check(typ != "OK", f"CREATE {name} refused: {typ} {data}")
ada.select(INBOX)

# Bob (lrs) may keep \Seen and nothing else: PERMANENTFLAGS says so, every other change is
# refused NOPERM, and nothing changes.
bob = connect("2001", "bob-password-1")
typ, data = bob.select(INBOX)
check(typ == "OK", f"Bob selects the department's INBOX: {typ} {data}")
typ, data = bob.response("PERMANENTFLAGS")
check(data == [b"(\\Seen)"], f"PERMANENTFLAGS lists only \\Seen for lrs: {data}")
typ, data = bob.store("1", "+FLAGS", "(\\Seen)")
check(typ == "OK", f"Bob keeps \\Seen (s): {typ} {data}")
typ, data = bob.store("1", "+FLAGS", "(\\Deleted)")
refused_noperm(typ, data, "STORE \\Deleted without t")
typ, data = bob.store("1", "+FLAGS", "(\\Flagged)")
refused_noperm(typ, data, "STORE \\Flagged without w")
typ, data = bob.expunge()
refused_noperm(typ, data, "EXPUNGE without e")
typ, data = bob.append(INBOX, None, None, b"Subject: x\r\n\r\nx\r\n")
refused_noperm(typ, data, "APPEND without i")
typ, data = bob.create('"Shared/2100 Support/Bob"')
refused_noperm(typ, data, "CREATE without k")
typ, data = bob._simple_command("MOVE", "1", "INBOX")
refused_noperm(typ, data, "MOVE out without t and e")
typ, data = ada.fetch("1", "(FLAGS)")
check(b"\\Deleted" not in data[0] and b"\\Flagged" not in data[0], f"nothing changed: {data}")

# Bob idles in the department's INBOX: Ada's flag reaches him at once; his removal ends the IDLE.
bob.send(b"i1 IDLE\r\n")
check(bob.readline().startswith(b"+"), "IDLE continues")
typ, data = ada.store("1", "+FLAGS", "(\\Flagged)")
check(typ == "OK", "Ada flags the voicemail")
bob.sock.settimeout(10)
line = bob.readline()
check(line.startswith(b"* 1 FETCH") and b"\\Flagged" in line, f"Bob's IDLE is told at once: {line!r}")
started = time.monotonic()
member_cli("remove", "2100", "2001")
lines = []
try:
    while True:
        line = bob.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith(b"* BYE"):
            break
except (socket.timeout, OSError):
    pass
check(any(l.startswith(b"* BYE") for l in lines), f"Bob's IDLE ends with BYE after removal: {lines!r}")
print(f"INFO IDLE ended {time.monotonic() - started:.2f} s after the removal")

bob = connect("2001", "bob-password-1")
typ, data = bob.list('""', "*")
check(all(b"Shared/2100" not in d for d in data if isinstance(d, bytes)), "Bob no longer sees the department")
typ, data = bob.select(INBOX)
refused_noperm(typ, data, "Bob's SELECT after removal")
bob.logout()

# Ada, selected and not idling, is removed: her very next command there is refused.
member_cli("remove", "2100", "2000")
typ, data = ada.fetch("1", "(FLAGS)")
refused_noperm(typ, data, "Ada's next FETCH after removal")
typ, data = ada.status(INBOX, "(MESSAGES)")
refused_noperm(typ, data, "Ada's STATUS of the department after removal")
ada.logout()

print("FAILED: " + "; ".join(failures) if failures else "ALL PASS")
sys.exit(1 if failures else 0)
