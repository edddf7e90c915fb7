"""Reads voicemails made by the real pipeline through `mailvox serve`'s IMAP with imaplib.

Usage: voicemail_session.py HOST STARTTLS_PORT TLS_PORT CAFILE USER PASSWORD COUNT
"""
import email
import imaplib
import ssl
import sys

from checks import check, ok

host, starttls_port, tls_port, cafile, user, password, count = sys.argv[1:8]
context = ssl.create_default_context(cafile=cafile)
context.check_hostname = False


plain = imaplib.IMAP4(host, int(starttls_port))
check("LOGINDISABLED" in plain.capabilities, f"LOGINDISABLED before TLS: {plain.capabilities}")
ok(plain.starttls(ssl_context=context), "STARTTLS")
ok(plain.login(user, password), "LOGIN")
plain.logout()

imap = imaplib.IMAP4_SSL(host, int(tls_port), ssl_context=context)
ok(imap.login(user, password), "LOGIN")
listing = b"\n".join(ok(imap.list(), "LIST"))
for name in [b"INBOX", b"Saved", b"Trash", b"Greetings"]:
    check(name in listing, f"{name} listed: {listing!r}")
exists = int(ok(imap.select("INBOX"), "SELECT")[0])
check(exists == int(count), f"{count} voicemails, got {exists}")
data = ok(imap.fetch("1:*", "(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)"), "FETCH")
text = b" ".join(d if isinstance(d, bytes) else b" ".join(d) for d in data)
check(b"\"audio\" \"mpeg\"" in text, f"audio part in BODYSTRUCTURE: {text[:400]!r}")
for number in range(1, exists + 1):
    typ, data = imap.fetch(str(number), "(RFC822.SIZE BODY.PEEK[])")
    check(typ == "OK", "FETCH BODY.PEEK[]")
    raw = data[0][1]
    size = int(data[0][0].split(b"RFC822.SIZE ")[1].split()[0])
    check(len(raw) == size, f"RFC822.SIZE {size} is the exact size {len(raw)}")
    message = email.message_from_bytes(raw)
    check(message["Message-Context"] == "voice-message", "a voice message")
    audio = [p for p in message.walk() if p.get_content_type() == "audio/mpeg"]
    check(len(audio) == 1, "one MP3 attachment")
    payload = audio[0].get_payload(decode=True)
    check(payload[:3] == b"ID3" or payload[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"), "MP3 data")
check(ok(imap.search(None, "FROM", "4930123456"), "SEARCH")[0] != b"", "SEARCH FROM the caller's number")
check(ok(imap.search(None, "SEEN"), "SEARCH")[0] == b"", "PEEK left \\Seen alone")
ok(imap.fetch("1", "(BODY[1])"), "FETCH BODY[1]")
check(ok(imap.search(None, "SEEN"), "SEARCH")[0] == b"1", "BODY[1] set \\Seen")
ok(imap.store("1", "+FLAGS", "(\\Flagged)"), "STORE")
typ, data = imap.uid("COPY", "1", "Saved")
check(typ == "OK", f"UID COPY: {data!r}")
typ, data = imap.response("COPYUID")
check(data and data[0] and data[0].endswith(b" 1 1"), f"COPYUID: {data!r}")
typ, data = imap.uid("MOVE", "1", "Trash")
check(typ == "OK", f"UID MOVE: {data!r}")
check(int(ok(imap.select("Trash"), "SELECT Trash")[0]) == 1, "moved into Trash")
ok(imap.store("1", "+FLAGS", "(\\Deleted)"), "STORE \\Deleted")
check(ok(imap.expunge(), "EXPUNGE") == [b"1"], "EXPUNGE")
typ, data = imap.append("Greetings", None, None, b"From: a@example.com\r\nSubject: g\r\n\r\nhello\r\n")
check(typ == "OK" and b"APPENDUID" in data[0], f"APPEND: {data!r}")
status = ok(imap.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ SIZE)"), "STATUS")[0]
check(f"MESSAGES {int(count) - 1}".encode() in status, f"STATUS: {status!r}")
imap.logout()
print("PASS")
