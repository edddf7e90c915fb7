"""UTF8=ACCEPT (RFC 6855) through Python's imaplib, which switches itself to UTF-8 when ENABLE
UTF8=ACCEPT succeeds: folder names go out and come back as UTF-8, SEARCH finds a UTF-8
subject, and a second connection that did not enable it sees the same folder in modified UTF-7.

(imaplib's own APPEND in UTF-8 mode puts `UTF8 (` inside the literal, so the server would store
those octets as the message; APPEND's UTF8 data item is tested in IMAP4rev2Tests instead.)

Usage: utf8_accept.py HOST TLS_PORT CAFILE USER PASSWORD
Exits 0 and prints PASS when every step behaved; otherwise prints what differed and exits 1.
"""
import imaplib
import ssl
import sys

from checks import check, ok

host, port, cafile, user, password = sys.argv[1:6]
context = ssl.create_default_context(cafile=cafile)
context.check_hostname = False


def connect():
    imap = imaplib.IMAP4_SSL(host, int(port), ssl_context=context)
    ok(imap.login(user, password), "LOGIN")
    return imap


folder = "Grüße/Entwürfe"
subject = "Rückruf von Jörg"
message = f"From: <jörg@beispiel.de>\r\nSubject: {subject}\r\n\r\nBitte zurückrufen.\r\n".encode()

imap = connect()
check("UTF8=ACCEPT" in imap.capabilities, f"UTF8=ACCEPT advertised: {imap.capabilities}")
# Before ENABLE: a plain APPEND of a message whose header is raw UTF-8.
ok(imap.append("INBOX", None, None, message), "APPEND")
ok(imap.enable("UTF8=ACCEPT"), "ENABLE")
enabled = imap.response("ENABLED")
check(enabled == ("ENABLED", [b"UTF8=ACCEPT"]), f"ENABLED UTF8=ACCEPT: {enabled!r}")
check(imap.utf8_enabled, "imaplib switched to UTF-8")
ok(imap.create(f'"{folder}"'), "CREATE in UTF-8")
listed = ok(imap.list('""', '"Grüße/*"'), "LIST")
check(listed == [f'(\\HasNoChildren) "/" "{folder}"'.encode()], f"LIST in UTF-8: {listed!r}")
status = ok(imap.status(f'"{folder}"', "(MESSAGES)"), "STATUS")
check(status == [f'"{folder}" (MESSAGES 0)'.encode()], f"STATUS in UTF-8: {status!r}")
ok(imap.select("INBOX"), "SELECT")
found = ok(imap.search(None, "SUBJECT", '"Rückruf"'), "SEARCH in UTF-8")
check(found == [b"1"], f"the UTF-8 subject found: {found!r}")
ok(imap.copy("1", f'"{folder}"'), "COPY to the UTF-8 name")
ok(imap.select(f'"{folder}"'), "SELECT the UTF-8 name")
header = ok(imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"), "FETCH")
check(subject.encode() in header[0][1], f"the header as stored: {header!r}")
imap.logout()

# A session that did not enable it: the same folder in modified UTF-7.
plain = connect()
listed = ok(plain.list('""', "Gr&APwA3w-e/*"), "LIST in modified UTF-7")
check(listed == [b'(\\HasNoChildren) "/" Gr&APwA3w-e/Entw&APw-rfe'], f"modified UTF-7: {listed!r}")
plain.logout()
print("PASS")
