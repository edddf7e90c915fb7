"""BINARY (RFC 3516) through Python's imaplib and email, neither written here: a voicemail whose
audio email.mime base64-encodes is APPENDed, and FETCH BINARY.PEEK[2] must give back the very
audio bytes, BINARY.SIZE[2] their count, without setting \\Seen; BINARY[2]<0.100> sets it.

Usage: binary_fetch.py HOST TLS_PORT CAFILE USER PASSWORD AUDIO_FILE
Exits 0 and prints PASS when every step behaved; otherwise prints what differed and exits 1.
"""
import email.policy
import imaplib
import re
import ssl
import sys
from email.mime.audio import MIMEAudio
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from checks import check, ok

host, port, cafile, user, password, audio_file = sys.argv[1:7]
with open(audio_file, "rb") as handle:
    audio = handle.read()

message = MIMEMultipart("mixed")
message["From"] = '"Caller" <+4930123456@localhost>'
message["To"] = '"Owner" <owner@example.com>'
message["Subject"] = "Voicemail from +4930123456"
message.attach(MIMEText("A voicemail of a few seconds.", "plain", "utf-8"))
part = MIMEAudio(audio, "mpeg")
part.add_header("Content-Disposition", "attachment", filename="voicemail.mp3")
message.attach(part)
raw = message.as_bytes(policy=email.policy.SMTP)

context = ssl.create_default_context(cafile=cafile)
context.check_hostname = False
imap = imaplib.IMAP4_SSL(host, int(port), ssl_context=context)
check("BINARY" in imap.capabilities, f"BINARY advertised: {imap.capabilities}")
ok(imap.login(user, password), "LOGIN")
ok(imap.append("INBOX", None, None, raw), "APPEND")
ok(imap.select("INBOX"), "SELECT")


def fetch(items):
    """The text before the one literal of `FETCH 1 items`, and the literal."""
    data = ok(imap.fetch("1", items), f"FETCH {items}")
    literals = [entry for entry in data if isinstance(entry, tuple)]
    check(len(literals) == 1, f"one literal for {items}: {data!r}")
    return literals[0]


head, body = fetch("(BINARY.SIZE[2] BINARY.PEEK[2])")
check(body == audio, f"BINARY.PEEK[2] is the audio: {len(body)} octets, the file {len(audio)}")
size = re.search(rb"BINARY\.SIZE\[2\] (\d+)", head)
check(size is not None and int(size.group(1)) == len(audio), f"BINARY.SIZE[2]: {head!r}")
if b"\x00" in audio:
    check(b"~{%d}" % len(audio) in head, f"audio with NUL is a literal8: {head!r}")

_, encoded = fetch("(BODY.PEEK[2])")
check(len(encoded) > len(audio) * 4 // 3, f"base64 {len(encoded)} octets against binary {len(audio)}")

flags = ok(imap.fetch("1", "(FLAGS)"), "FLAGS")
check(b"\\Seen" not in flags[0], f"BINARY.PEEK leaves \\Seen alone: {flags!r}")

head, body = fetch("(BINARY[2]<0.100>)")
check(body == audio[:100], f"BINARY[2]<0.100> is the audio's first 100 octets: {body[:20]!r}")
check(b"BINARY[2]<0>" in head, f"partial answered with its origin: {head!r}")
flags = ok(imap.fetch("1", "(FLAGS)"), "FLAGS")
check(b"\\Seen" in flags[0], f"BINARY sets \\Seen: {flags!r}")

imap.logout()
print("PASS", len(audio), "audio octets,", len(encoded), "as base64")
