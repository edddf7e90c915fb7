"""Drives Mailvox's IMAP server with Python's imaplib, a client nobody here wrote.

Usage: imaplib_session.py HOST STARTTLS_PORT TLS_PORT CAFILE USER PASSWORD
Exits 0 and prints PASS when every step behaved; otherwise prints what differed and exits 1.
"""
import email
import imaplib
import re
import ssl
import sys

from checks import check, ok

host, starttls_port, tls_port, cafile, user, password = sys.argv[1:7]
context = ssl.create_default_context(cafile=cafile)
context.check_hostname = False


# STARTTLS: no password before TLS.
plain = imaplib.IMAP4(host, int(starttls_port))
check("LOGINDISABLED" in plain.capabilities, f"LOGINDISABLED before TLS: {plain.capabilities}")
check("STARTTLS" in plain.capabilities, "STARTTLS offered")
check("AUTH=PLAIN" not in plain.capabilities, "no AUTH=PLAIN before TLS")
try:
    plain.login(user, password)
    check(False, "LOGIN before TLS must fail")
except imaplib.IMAP4.error as error:
    check("PRIVACYREQUIRED" in str(error) or "STARTTLS" in str(error), f"LOGIN refusal: {error}")
ok(plain.starttls(ssl_context=context), "STARTTLS")
check("AUTH=PLAIN" in plain.capabilities and "LOGINDISABLED" not in plain.capabilities,
      f"capabilities after TLS: {plain.capabilities}")
try:
    plain.login(user, "wrong")
    check(False, "wrong password must fail")
except imaplib.IMAP4.error as error:
    check("AUTHENTICATIONFAILED" in str(error), f"wrong password answer: {error}")
ok(plain.login(user, password), "LOGIN after STARTTLS")
check(plain.logout()[0] in ("BYE", "OK"), "LOGOUT")

# Implicit TLS, AUTHENTICATE PLAIN.
imap = imaplib.IMAP4_SSL(host, int(tls_port), ssl_context=context)
ok(imap.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode()), "AUTHENTICATE PLAIN")
caps = ok(imap.capability(), "CAPABILITY")[0].decode()
for cap in ["IDLE", "UIDPLUS", "MOVE", "CONDSTORE", "ESEARCH", "SPECIAL-USE", "LIST-EXTENDED", "NAMESPACE"]:
    check(cap in caps.split(), f"{cap} in {caps}")

listing = b"\n".join(ok(imap.list(), "LIST"))
for name in [b"INBOX", b"Saved", b"Trash", b"Greetings"]:
    check(name in listing, f"{name} listed: {listing!r}")
check(b"\\Trash" in listing and b"\\Archive" in listing, f"special use: {listing!r}")

count = int(ok(imap.select("INBOX"), "SELECT")[0])
check(count == 3, f"3 messages, got {count}")
# RFC 3501 §2.3.2: the first SELECT holds the new messages as \Recent.
recent = imap.response("RECENT")[1]
check(recent == [b"3"], f"3 RECENT, got {recent!r}")
check(ok(imap.search(None, "RECENT"), "SEARCH RECENT")[0] == b"1 2 3", "SEARCH RECENT")
flags = ok(imap.fetch("1", "(FLAGS)"), "FLAGS of a recent message")[0]
check(b"\\Recent" in flags, f"FETCH FLAGS shows \\Recent: {flags!r}")
data = ok(imap.fetch("1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE)"), "FETCH all items")
check(len([d for d in data if isinstance(d, bytes) and b"ENVELOPE" in d]) == 3, f"3 envelopes: {data!r}")
data = ok(imap.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[1] BODY.PEEK[TEXT]<0.10> RFC822.HEADER)"),
          "FETCH sections")
joined = b"".join(part if isinstance(part, bytes) else b"".join(part) for part in data)
check(b"Subject: Message 2" in joined and b"Body number 2" in joined, f"sections: {joined!r}")
typ, data = imap.uid("FETCH", "3", "(RFC822)")
check(typ == "OK", "UID FETCH RFC822")
parsed = email.message_from_bytes(data[0][1])
check(parsed["Subject"] == "Message 3", f"message parses: {parsed['Subject']}")
attachments = [part for part in parsed.walk() if part.get_content_type() == "audio/mpeg"]
check(len(attachments) == 1 and attachments[0].get_payload(decode=True).startswith(b"ID3"), "audio intact")
flags = ok(imap.fetch("3", "(FLAGS)"), "FLAGS after RFC822")[0]
check(b"\\Seen" in flags, f"RFC822 sets \\Seen: {flags!r}")

ok(imap.store("1", "+FLAGS", "(\\Flagged $Callback)"), "STORE")
check(ok(imap.search(None, "FLAGGED"), "SEARCH")[0] == b"1", "SEARCH FLAGGED")
check(ok(imap.search(None, "UNSEEN", "NOT", "FLAGGED"), "SEARCH")[0] == b"2", "SEARCH UNSEEN NOT FLAGGED")
check(ok(imap.search(None, "SUBJECT", '"Message 3"'), "SEARCH")[0] == b"3", "SEARCH SUBJECT")
check(ok(imap.uid("SEARCH", "KEYWORD", "$Callback"), "UID SEARCH")[0] == b"1", "UID SEARCH KEYWORD")

typ, data = imap.copy("1:2", "Saved")
check(typ == "OK" and b"COPYUID" in data[0], f"COPY: {data!r}")
typ, data = imap.uid("MOVE", "2", "Trash")
check(typ == "OK", f"UID MOVE: {data!r}")
check(int(ok(imap.select("INBOX"), "SELECT")[0]) == 2, "MOVE removed the message")
recent = imap.response("RECENT")[1]
check(recent == [b"0"], f"a second SELECT finds nothing recent: {recent!r}")

ok(imap.store("1", "+FLAGS.SILENT", "(\\Deleted)"), "STORE \\Deleted")
typ, data = imap.expunge()
check(typ == "OK" and data == [b"1"], f"EXPUNGE: {data!r}")

message = (b"From: someone@example.com\r\nTo: 1000@localhost\r\nSubject: Appended greeting\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHello\r\n")
typ, data = imap.append("Greetings", "(\\Seen)", imaplib.Time2Internaldate(1700000000), message)
check(typ == "OK" and b"APPENDUID" in data[0], f"APPEND: {data!r}")
status = ok(imap.status("Greetings", "(MESSAGES UNSEEN UIDNEXT)"), "STATUS")[0]
check(b"MESSAGES 1" in status and b"UNSEEN 0" in status, f"STATUS: {status!r}")
typ, data = imap.append("Nowhere", None, None, message)
check(typ == "NO" and b"TRYCREATE" in data[0], f"APPEND to a missing folder: {data!r}")

ok(imap.create("Projects/2024"), "CREATE")
ok(imap.rename("Projects/2024", "Projects/2025"), "RENAME")
ok(imap.delete("Projects/2025"), "DELETE")
ok(imap.close(), "CLOSE")
check(imap.logout()[0] in ("BYE", "OK"), "LOGOUT")
print("PASS")
