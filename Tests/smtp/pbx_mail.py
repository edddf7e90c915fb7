#!/usr/bin/env python3
"""Voicemail e-mails in the byte formats real PBXs write, for Mailvox's SMTP/LMTP/sendmail tests.

Each builder reproduces what one PBX hands its mailer, read from that PBX's own source or shipped
template (cited in each docstring; the shape is reproduced, no PBX code is). Builders return
bytes. By default the bytes are CRLF-terminated RFC 5322 as an MTA relays them (what arrives
over SMTP or LMTP). With raw=True they are exactly what the PBX pipes into its mail command
(`mailcmd` / `mailer-app`): LF line ends and, where the PBX writes one, the trailing "." line
that ends input for a sendmail run without -i/-oi. That raw form is what `mailvox sendmail -t`
must take.

Builders (all stdlib; audio bytes in, message bytes out):
  asterisk(wav, number, name, mailbox, to, from_, ...)   app_voicemail make_email_file()
  freeswitch(wav, number, name, account, domain, to, ...) mod_voicemail voicemail.tpl +
                                                          switch_simple_email()
  threecx(audio, fmt='mp3'|'wav', ...)                   a 3CX-style SMTP mail (see its doc)
  octet_stream(audio, ...)                               a generic "phone system" mail whose audio
                                                          is application/octet-stream voicemail.wav
Hostile ones for the refusal paths:
  no_audio(...)    text only (Asterisk with attach=no)          -> 554 5.6.0 / exit 65
  not_audio(...)   an audio/x-wav part whose bytes are text/random -> 554 5.6.0 / exit 65
  nested(...)      the audio inside message/rfc822 and multiparts three deep (must be found)
Helpers: find_audio(msg_bytes) applies the contract's rule (first audio/* part at any depth, or
application/octet-stream with an audio file name); attachment(msg_bytes) is the first part with a
file name, whatever its type.

CLI (writes the message to stdout, or --out FILE):
  pbx_mail.py asterisk --wav F --caller-number N --caller-name NAME --to ADDR [--mailbox 2000]
      [--from asterisk@pbx.example.com] [--wav49 | --format gsm|ogg] [--urgent] [--imap-headers]
      [--message-id ID] [--orig-time EPOCH] [--subject TEXT] [--charset UTF-8] [--raw]
  pbx_mail.py freeswitch --wav F --caller-number N --caller-name NAME --to ADDR
      [--account 2000 --domain pbx.example.com] [--template default|builtin] [--urgent]
      [--no-date] [--message-id ID] [--orig-time EPOCH] [--raw]
  pbx_mail.py threecx --audio F --format mp3|wav --caller-number N --caller-name NAME --to ADDR
  pbx_mail.py octet-stream --audio F --caller-number N [--caller-name NAME] --to ADDR
  pbx_mail.py no-audio --to ADDR [--caller-number N]
  pbx_mail.py not-audio --to ADDR [--kind text|random]
  pbx_mail.py nested --wav F --to ADDR [--caller-number N]
  pbx_mail.py find-audio < msg.eml     prints "TYPE FILENAME BYTES" of the part the contract takes
  pbx_mail.py selftest                 builds every format from real audio (espeak-ng, sox, lame),
                                       parses it with the email package, checks the decoded
                                       attachment equals the input; exit 1 on any failure
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import email.utils
import os
import quopri
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from datetime import datetime, timezone
from email.message import Message

# --------------------------------------------------------------------------------------------
# Shared pieces


def _ts(orig_time: int | float | None) -> int:
    return int(time.time()) if orig_time is None else int(orig_time)


def _local(ts: int) -> datetime:
    # PBXs stamp mail in their own local zone (Asterisk: the mailbox's tz, else the host's).
    return datetime.fromtimestamp(ts, timezone.utc).astimezone()


def _rfc5322_date(ts: int) -> str:
    # "%a, %d %b %Y %H:%M:%S %z", the format both Asterisk and FreeSWITCH's RFC2822_DATE use.
    return email.utils.format_datetime(_local(ts))


def _c_strftime(ts: int, fmt: str) -> str:
    # The PBXs format dates in the C locale unless told otherwise; %r there is "%I:%M:%S %p".
    return _local(ts).strftime(fmt.replace("%r", "%I:%M:%S %p"))


def _finish(text: str, raw: bool) -> bytes:
    """LF text -> bytes: kept as LF (raw, what the PBX pipes to its mailer) or CRLF (RFC 5322 on
    the wire, RFC 5321 §2.3.8)."""
    if "\r" in text:
        raise ValueError("builders compose with LF only")
    data = text.encode("utf-8")
    return data if raw else data.replace(b"\n", b"\r\n")


def _msgid(message_id: str | None, default: str) -> str:
    if message_id is None:
        return default
    return message_id if message_id.startswith("<") else f"<{message_id}>"


def wav_duration(data: bytes) -> int:
    """Whole seconds of a RIFF/WAVE (PCM or GSM 6.10): the `fact` sample count when present
    (compressed formats), else data size / byte rate. 0 when it is not a WAVE."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return 0
    pos, rate, byte_rate, samples, data_len = 12, 0, 0, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if cid == b"fmt " and len(body) >= 12:
            rate, byte_rate = struct.unpack("<II", body[4:12])
        elif cid == b"fact" and len(body) >= 4:
            samples = struct.unpack("<I", body[:4])[0]
        elif cid == b"data":
            data_len = size
        pos += 8 + size + (size & 1)
    if samples is not None and rate:
        return int(round(samples / rate))
    if data_len is not None and byte_rate:
        return int(round(data_len / byte_rate))
    return 0


# --------------------------------------------------------------------------------------------
# Asterisk


def _ast_needs_mime(text: str) -> bool:
    # app_voicemail check_mime(): anything outside printable 7-bit, or an RFC 5322 special.
    return any(ord(c) > 126 or ord(c) < 32 or c in '()<>@,:;/"[]?.=' for c in text)


def _ast_encode_mime(text: str, charset: str, preamble: int, postamble: int) -> str:
    """app_voicemail ast_str_encode_mime(): RFC 2047 Q words over the string's bytes (UTF-8 on a
    modern system, whatever `charset` says), a new word before a line would pass 76, words
    separated by one space; a trailing space when the last word plus postamble passes 74."""
    out, first, word = "", True, f"=?{charset}?Q?"
    for b in text.encode("utf-8"):
        c = chr(b)
        need = b < 33 or b > 126 or c in '()<>@,:;/"[]?.=_'
        limit = 70 if need else 72
        if (preamble + len(word) if first else len(word)) > limit:
            out += ("" if first else " ") + word + "?="
            word, first = f"=?{charset}?Q?", False
        if need and c == " ":
            word += "_"
        elif need:
            word += "=%X" % b
        else:
            word += c
    out += ("" if first else " ") + word + "?=" + (" " if len(word) + postamble > 74 else "")
    return out


def _ast_header(name: str, value: str, charset: str, postamble: int = 0, addr: str | None = None) -> str:
    """One From/To/Subject line the way make_email_file() writes it: quoted when 7-bit clean,
    else Q-encoded and split at the words' spaces onto continuation lines."""
    if not _ast_needs_mime(value):
        shown = value if addr is None else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{name}: {shown}" + (f" <{addr}>" if addr else "") + "\n"
    encoded = _ast_encode_mime(value, charset, len(name) + 2, postamble)
    pieces = encoded.split(" ")
    lines, first = [], True
    for piece in pieces[:-1]:
        lines.append(f"{name + ':' if first else ''} {piece}")
        first = False
    last = f"{name + ':' if first else ''} {pieces[-1]}" + (f" <{addr}>" if addr else "")
    lines.append(last)
    return "\n".join(lines) + "\n"


def _strip_control_and_high(text: str) -> str:
    # strip_control_and_high(): on x86 (signed char) bytes >= 0x80 test "< 32" and are dropped
    # along with control characters, so a UTF-8 name loses its non-ASCII letters here.
    return "".join(c for c in text if 32 <= ord(c) < 128)


def _ast_b64(data: bytes) -> str:
    # base_encode(): 72 characters a line, each line ended, the last one too.
    s = base64.b64encode(data).decode("ascii")
    return "".join(s[i : i + 72] + "\n" for i in range(0, len(s), 72)) or "\n"


def asterisk(
    wav_bytes: bytes,
    caller_number: str | None,
    caller_name: str | None,
    mailbox: str = "2000",
    to: str | list[str] = "2000@localhost",
    from_: str = "asterisk",
    message_id: str | None = None,
    orig_time: int | None = None,
    wav49: bool = False,
    *,
    fmt: str | None = None,
    msgnum: int = 0,
    mailbox_name: str | None = None,
    duration: int | None = None,
    urgent: bool = False,
    fromstring: str | None = None,
    subject: str | None = None,
    body: str | None = None,
    charset: str = "ISO-8859-1",
    pbxskip: bool = False,
    imap_headers: bool = False,
    context: str = "default",
    attach: bool = True,
    host: str = "pbx.example.com",
    raw: bool = False,
) -> bytes:
    """Asterisk app_voicemail's notification mail, as make_email_file() and
    add_email_attachment() write it (apps/app_voicemail.c, Asterisk 16-22; read from
    github.com/asterisk/asterisk apps/app_voicemail.c). voicemail.conf defaults apply:
    serveremail=asterisk (@host appended when it has no @), fromstring unset -> "Asterisk PBX",
    charset=ISO-8859-1, emaildateformat "%A, %B %d, %Y at %r", no emailsubject/emailbody.

    Header order: Date, From, To, Subject ("[PBX]: New message N in mailbox M", "New Urgent
    message" when urgent; without "[PBX]: " under pbxskip), Message-ID
    <Asterisk-N-RAND-MAILBOX-PID@host>, the X-Asterisk-VM-* block only when imap_headers (IMAP
    storage builds write it; mail through mailcmd never has it), X-Asterisk-CallerID and
    X-Asterisk-CallerIDName (each only when non-empty, high bytes stripped), MIME-Version, then
    multipart/mixed with boundary "----voicemail_N MAILBOX PID RAND", a preamble "This is a
    multi-part message in MIME format.", text/plain 8bit ("Dear NAME: ... --Asterisk"), and
    Content-Type: audio/x-wav; name="msg0000.wav" base64 (72/line), Content-Description:
    Voicemail sound attachment. wav49 is GSM 6.10 in RIFF and is sent as audio/x-WAV
    "msg0000.WAV"; fmt='gsm' gives audio/x-gsm, fmt='ogg' application/ogg (sic: not audio/*).
    The raw form ends "--BOUND--" then a line "." (read by sendmail without -i as end of input).
    attach=False is attach=no: a single text/plain part, no dot line.
    """
    t = _ts(orig_time)
    who = from_ if "@" in from_ else f"{from_}@{host}"
    fmt = fmt or ("wav49" if wav49 else "wav")
    if fmt == "wav49":
        fmt = "WAV"  # sendmail(): "if (!strcmp(format, "wav49")) format = "WAV";"
    mime_type = ("application/" if fmt.lower() == "ogg" else "audio/x-") + fmt
    cidnum, cidname = caller_number or "", caller_name or ""
    enc_num, enc_name = _strip_control_and_high(cidnum), _strip_control_and_high(cidname)
    fullname = mailbox_name if mailbox_name is not None else mailbox
    recipients = [to] if isinstance(to, str) else list(to)
    secs = wav_duration(wav_bytes) if duration is None else duration
    dur = "%d:%02d" % (secs // 60, secs % 60)
    longdate = _c_strftime(t, "%A, %B %d, %Y at %r")
    flag = "Urgent" if urgent else ""
    rng = random.Random(f"{t}{mailbox}{msgnum}{message_id}")
    pid = os.getpid()

    out = f"Date: {_rfc5322_date(t)}\n"
    if fromstring:
        out += _ast_header("From", fromstring, charset, len(who) + 3, addr=who)
    else:
        out += f"From: Asterisk PBX <{who}>\n"
    # Modern Asterisk writes "To:" then one " NAME <addr>[,]" line per '|'-separated address.
    out += "To:"
    for i, addr in enumerate(recipients):
        comma = "," if i < len(recipients) - 1 else ""
        if _ast_needs_mime(fullname):
            enc = _ast_encode_mime(fullname, charset, 4 if i == 0 else 0, len(addr) + 3 + len(comma))
            pieces = enc.split(" ")
            for piece in pieces[:-1]:
                out += f" {piece}\n"
            out += f" {pieces[-1]} <{addr}>{comma}\n"
        else:
            quoted = '"' + fullname.replace("\\", "\\\\").replace('"', '\\"') + '"'
            out += f" {quoted} <{addr}>{comma}\n"
    if subject is not None:
        out += _ast_header("Subject", subject, charset)
    else:
        prefix = "" if pbxskip else "[PBX]: "
        kind = f"New {flag} message" if flag else "New message"
        out += f"Subject: {prefix}{kind} {msgnum + 1} in mailbox {mailbox}\n"
    out += "Message-ID: " + _msgid(
        message_id, f"<Asterisk-{msgnum + 1}-{rng.getrandbits(31)}-{mailbox}-{pid}@{host}>"
    ) + "\n"
    if imap_headers:
        msg_id = "%d-%08x" % (t, rng.getrandbits(32))  # generate_msg_id(): "%ld-%08x"
        out += (
            f"X-Asterisk-VM-Message-Num: {msgnum + 1}\n"
            f"X-Asterisk-VM-Server-Name: {fromstring or ''}\n"
            f"X-Asterisk-VM-Context: {context}\n"
            f"X-Asterisk-VM-Extension: {mailbox}\n"
            f"X-Asterisk-VM-Flag: {flag}\n"
            f"X-Asterisk-VM-Priority: 1\n"
            f"X-Asterisk-VM-Caller-ID-Num: {enc_num}\n"
            f"X-Asterisk-VM-Caller-ID-Name: {enc_name}\n"
            f"X-Asterisk-VM-Duration: {secs}\n"
            f"X-Asterisk-VM-Category: \n"
            f"X-Asterisk-VM-Message-Type: Message\n"
            f"X-Asterisk-VM-Orig-date: {longdate}\n"
            f"X-Asterisk-VM-Orig-time: {t}\n"
            f"X-Asterisk-VM-Message-ID: {msg_id}\n"
        )
    if cidnum:
        out += f"X-Asterisk-CallerID: {enc_num}\n"
    if cidname:
        out += f"X-Asterisk-CallerIDName: {enc_name}\n"
    out += "MIME-Version: 1.0\n"
    bound = "----voicemail_%d%s%d%u" % (msgnum + 1, mailbox, pid, rng.getrandbits(31))
    if attach:
        out += f'Content-Type: multipart/mixed; boundary="{bound}"\n'
        out += "\n\nThis is a multi-part message in MIME format.\n\n"
        out += f"--{bound}\n"
    out += f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n\n"
    if body is not None:
        out += body + "\n"
    else:
        caller = cidname or cidnum or "an unknown caller"
        out += (
            f"Dear {fullname}:\n\n\tJust wanted to let you know you were just left a "
            f"{dur} long message (number {msgnum + 1})\nin mailbox {mailbox} from {caller}, "
            f"on {longdate} so you might\nwant to check it when you get a chance.  Thanks!"
            "\n\n\t\t\t\t--Asterisk\n\n"
        )
    if attach:
        filename = "msg%04d.%s" % (msgnum, fmt)
        out += (
            f"--{bound}\n"
            f'Content-Type: {mime_type}; name="{filename}"\n'
            "Content-Transfer-Encoding: base64\n"
            "Content-Description: Voicemail sound attachment.\n"
            f'Content-Disposition: attachment; filename="{filename}"\n\n'
        )
        out += _ast_b64(wav_bytes)
        out += f"\n\n--{bound}--\n"
        if raw:
            out += ".\n"  # end of input for `sendmail -t` without -oi; an MTA would stop here
    return _finish(out, raw)


# --------------------------------------------------------------------------------------------
# FreeSWITCH

# conf/vanilla voicemail.tpl (signalwire/freeswitch conf/voicemail.tpl and
# src/mod/applications/mod_voicemail/conf/voicemail.tpl), header block then body block.
_FS_TPL_HEADERS = (
    'From: "${voicemail_caller_id_name}" <${voicemail_caller_id_number}@${voicemail_domain}>\n'
    "Date: ${RFC2822_DATE}\n"
    "To: <${voicemail_email}>\n"
    'Subject: Voicemail from "${voicemail_caller_id_name}" <${voicemail_caller_id_number}> '
    "${voicemail_message_len}\n"
    "X-Priority: ${voicemail_priority}\n"
    "X-Mailer: FreeSWITCH"
)
_FS_TPL_BODY = (
    'Content-Type: multipart/alternative; \n\tboundary="000XXX000"\n\n'
    "--000XXX000\n"
    "Content-Type: text/plain; charset=ISO-8859-1; Format=Flowed\n"
    "Content-Disposition: inline\nContent-Transfer-Encoding: 7bit\n\n"
    "Created: ${voicemail_time}\n"
    'From: "${voicemail_caller_id_name}" <${voicemail_caller_id_number}>\n'
    "Duration: ${voicemail_message_len}\n"
    "Account: ${voicemail_account}@${voicemail_domain}\n\n"
    "--000XXX000\n"
    "Content-Type: text/html; charset=ISO-8859-1\n"
    "Content-Disposition: inline\nContent-Transfer-Encoding: 7bit\n\n"
    '<html xmlns="http://www.w3.org/1999/xhtml">\n<head>\n'
    '<META http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">\n'
    '<title>Voicemail from "${voicemail_caller_id_name}" <${voicemail_caller_id_number}> '
    "${voicemail_message_len}</title>\n"
    '<meta content="text/html; charset=iso-8859-1" http-equiv="content-type"/>\n'
    "</head>\n<body>\n\n<font face=arial>\n"
    '<b>Message From "${voicemail_caller_id_name}" <A HREF="tel:${voicemail_caller_id_number}">'
    "${voicemail_caller_id_number}</A></b><br>\n<hr noshade size=1>\n"
    "Created: ${voicemail_time}<br>\nDuration: ${voicemail_message_len}<br>\n"
    "Account: ${voicemail_account}@${voicemail_domain}<br>\n</font>\n\n</body>\n</html>\n"
    "--000XXX000--\n"
)

# Apache-style mime.types as FreeSWITCH loads it (switch_core_mime_ext2type); unknown -> audio/inline.
_FS_MIME = {"wav": "audio/x-wav", "mp3": "audio/mpeg", "ogg": "audio/ogg", "gsm": "audio/x-gsm"}


def _fs_b64(data: bytes) -> str:
    """switch_simple_email()'s encoder: a newline after every 72 characters its bit loop emits,
    the last partial character and '=' padding appended after the loop without that check."""
    full = base64.b64encode(data).decode("ascii")
    n_loop = len(data) * 8 // 6
    loop, tail = full[:n_loop], full[n_loop:]
    out = "".join(loop[i : i + 72] + ("\n" if len(loop[i : i + 72]) == 72 else "") for i in range(0, len(loop), 72))
    return out + tail


def freeswitch(
    wav_bytes: bytes,
    caller_number: str,
    caller_name: str,
    account: str = "2000",
    domain: str = "pbx.example.com",
    to: str = "2000@localhost",
    message_id: str | None = None,
    orig_time: int | None = None,
    urgent: bool = False,
    *,
    msg_uuid: str | None = None,
    ext: str = "wav",
    template: str = "default",
    attach: bool = True,
    date_header: bool = True,
    duration: int | None = None,
    date_fmt: str = "%A, %B %d %Y, %I %M %p",
    raw: bool = False,
) -> bytes:
    """FreeSWITCH mod_voicemail's mail: deliver_vm() (src/mod/applications/mod_voicemail/
    mod_voicemail.c) expands the profile's template-file, default conf voicemail.tpl, whose
    header block is From: "${voicemail_caller_id_name}" <${voicemail_caller_id_number}@
    ${voicemail_domain}>, Date: ${RFC2822_DATE}, To: <${voicemail_email}>, Subject: Voicemail
    from "NAME" <NUMBER> HH:MM:SS, X-Priority: ${voicemail_priority} (1 urgent, else 3),
    X-Mailer: FreeSWITCH, to which deliver_vm() appends X-Voicemail-Length: SECONDS. Then
    switch_simple_email() (src/switch_utils.c) writes MIME-Version and Content-Type:
    multipart/mixed; boundary="XXXX_boundary_XXXX" *before* those headers, the template body
    (multipart/alternative text+html, boundary 000XXX000) as the first part, the recording as
    Content-Type: audio/x-wav; name="msg_<uuid>.wav" with Content-ID <ATTACHED@freeswitch.org>,
    base64 72/line, and ends "--XXXX_boundary_XXXX--" then a line ".". No Message-ID: the MTA
    adds one, so one is written only when message_id is given (as a relay would add it).

    template='builtin' is a profile without template-file: headers "From: FreeSWITCH
    mod_voicemail <ACCOUNT@DOMAIN>", "Subject: Voicemail from NAME NUMBER", "X-Priority: N" (no
    Date, no To) and a text/plain body "N second Voicemail from NAME NUMBER".
    date_header=False leaves ${RFC2822_DATE} unset, which FreeSWITCH expands to "" ("Date: ").
    The mailer is run as `MAILER_APP -f ACCOUNT@DOMAIN MAILER_APP_ARGS TO` (recipient also on
    the command line).
    """
    t = _ts(orig_time)
    secs = wav_duration(wav_bytes) if duration is None else duration
    msg_uuid = msg_uuid or str(uuidlib.UUID(int=random.Random(f"{t}{account}{message_id}").getrandbits(128), version=4))
    priority = 1 if urgent else 3
    variables = {
        "voicemail_caller_id_name": caller_name or "",
        "voicemail_caller_id_number": caller_number or "",
        "voicemail_domain": domain,
        "voicemail_account": account,
        "voicemail_email": to,
        "voicemail_priority": str(priority),
        "voicemail_message_len": "%02d:%02d:%02d" % (secs // 3600, secs // 60 % 60, secs % 60),
        "voicemail_time": _c_strftime(t, date_fmt),
        "RFC2822_DATE": _rfc5322_date(t) if date_header else "",
    }

    def expand(text: str) -> str:
        return re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: variables.get(m.group(1), ""), text)

    if template == "default":
        headers, body = expand(_FS_TPL_HEADERS), expand(_FS_TPL_BODY)
    elif template == "builtin":
        headers = (
            f"From: FreeSWITCH mod_voicemail <{account}@{domain}>\n"
            f"Subject: Voicemail from {caller_name} {caller_number}\nX-Priority: {priority}"
        )
        body = f"{secs} second Voicemail from {caller_name} {caller_number}"
    else:
        raise ValueError(f"template {template!r}: default or builtin")
    header_string = f"{headers}\nX-Voicemail-Length: {secs}"
    if message_id is not None:
        header_string += "\nMessage-ID: " + _msgid(message_id, "")
    bound = "XXXX_boundary_XXXX"
    out = f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{bound}"\n'
    out += header_string + "\n\n"
    if "content-type" in body.lower():
        out += f"--{bound}\n"
    else:
        out += f"--{bound}\nContent-Type: text/plain\n\n"
    out += body
    if attach:
        filename = f"msg_{msg_uuid}.{ext}"
        out += (
            f"\n\n--{bound}\nContent-Type: {_FS_MIME.get(ext.lower(), 'audio/inline')}; "
            f'name="{filename}"\n'
            "Content-ID: <ATTACHED@freeswitch.org>\n"
            "Content-Transfer-Encoding: base64\n"
            "Content-Description: Sound attachment.\n"
            f'Content-Disposition: attachment; filename="{filename}"\n\n'
        )
        out += _fs_b64(wav_bytes)
    out += f"\n\n--{bound}--\n"
    if raw:
        out += ".\n"
    return _finish(out, raw)


# --------------------------------------------------------------------------------------------
# 3CX and a generic phone system (both submit over SMTP themselves)


def _b64_76(data: bytes) -> str:
    s = base64.b64encode(data).decode("ascii")
    return "".join(s[i : i + 76] + "\n" for i in range(0, len(s), 76))


def _encode_word(text: str) -> str:
    # RFC 2047 B encoding when a display name or subject is not ASCII (what .NET/MimeKit emit).
    if all(32 <= ord(c) < 127 for c in text):
        return text
    return "=?utf-8?B?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def _display(name: str) -> str:
    if not all(32 <= ord(c) < 127 for c in name):
        return _encode_word(name)
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def threecx(
    audio_bytes: bytes,
    fmt: str = "mp3",
    caller_number: str = "",
    caller_name: str = "",
    to: str = "2000@localhost",
    from_: str = "pbx@pbx.example.com",
    message_id: str | None = None,
    orig_time: int | None = None,
    *,
    extension: str = "2000",
    subject: str | None = None,
    duration: int | None = None,
    raw: bool = False,
) -> bytes:
    """A 3CX-style voicemail mail: 3CX submits it over SMTP itself (Settings -> E-mail -> mail
    server), From is the PBX's configured sender (never the caller), the caller's name and number
    are only in the Subject, default here "New Voicemail from NAME (NUMBER)", and in an HTML
    body; one attachment, audio/mpeg "….mp3" or audio/wav "….wav", base64.

    Not verified byte-for-byte: 3CX's shipped template text was not found in the public
    sources searched (3CX is closed source; its templates are edited in the console, variables
    %%…%%). The Subject form is the one the task describes; pass subject= to mirror a real
    install, and add a caller_patterns entry for it (docs/PBX.md).
    """
    t = _ts(orig_time)
    fmt = fmt.lower()
    if fmt not in ("mp3", "wav"):
        raise ValueError("threecx fmt: mp3 or wav")
    rng = random.Random(f"3cx{t}{caller_number}{message_id}")
    shown = f"{caller_name} ({caller_number})" if caller_name else caller_number
    subj = subject if subject is not None else f"New Voicemail from {shown}"
    stamp = _local(t).strftime("%Y%m%d%H%M%S")
    filename = f"{extension}_{stamp}_{re.sub(r'[^0-9+]', '', caller_number) or 'anonymous'}.{fmt}"
    ctype = "audio/mpeg" if fmt == "mp3" else "audio/wav"
    bound = "--boundary_%d_%s" % (rng.getrandbits(16), uuidlib.UUID(int=rng.getrandbits(128), version=4))
    html = (
        "<html><body><p>You have received a new voicemail.</p>"
        f"<p>From: {caller_name} ({caller_number})<br>To extension: {extension}<br>"
        f"Received: {_local(t).strftime('%d/%m/%Y %H:%M:%S')}"
        + (f"<br>Duration: {duration}s" if duration else "")
        + "</p></body></html>"
    )
    qp_html = quopri.encodestring(html.encode("utf-8")).decode("ascii") + "\n"
    out = (
        "MIME-Version: 1.0\n"
        f"From: \"3CX Phone System\" <{from_}>\n"
        f"To: {to}\n"
        f"Date: {_rfc5322_date(t)}\n"
        f"Subject: {_encode_word(subj)}\n"
        "Message-Id: " + _msgid(message_id, f"<{uuidlib.UUID(int=rng.getrandbits(128), version=4)}@{from_.split('@')[-1]}>") + "\n"
        f'Content-Type: multipart/mixed; boundary="{bound}"\n\n'
        f"--{bound}\n"
        "Content-Type: text/html; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable\n\n"
        f"{qp_html}"
        f"--{bound}\n"
        f'Content-Type: {ctype}; name="{filename}"\n'
        "Content-Transfer-Encoding: base64\n"
        f'Content-Disposition: attachment; filename="{filename}"\n\n'
        f"{_b64_76(audio_bytes)}"
        f"--{bound}--\n"
    )
    return _finish(out, raw)


def octet_stream(
    audio_bytes: bytes,
    caller_number: str = "",
    caller_name: str = "",
    to: str = "2000@localhost",
    from_: str = "phonesystem@pbx.example.com",
    message_id: str | None = None,
    orig_time: int | None = None,
    *,
    filename: str = "voicemail.wav",
    subject: str | None = None,
    raw: bool = False,
) -> bytes:
    """The plain "phone system" mail many small PBXs and ATAs send: multipart/mixed, a one-line
    text/plain body, and the recording as Content-Type: application/octet-stream;
    name="voicemail.wav" (so only the file name says it is audio). Subject "Voicemail from
    NUMBER" (with the name when given), From the device's own address. Modelled on the generic
    shape (compare swaks --attach's default type), not on one vendor's source.
    """
    t = _ts(orig_time)
    rng = random.Random(f"oct{t}{caller_number}{message_id}")
    who = f"{caller_name} <{caller_number}>" if caller_name else caller_number
    subj = subject if subject is not None else f"Voicemail from {who}"
    bound = "=_%032x" % rng.getrandbits(128)
    out = (
        f"From: Phone System <{from_}>\n"
        f"To: {to}\n"
        f"Subject: {_encode_word(subj)}\n"
        f"Date: {_rfc5322_date(t)}\n"
        "Message-ID: " + _msgid(message_id, f"<{rng.getrandbits(64):x}.{t}@{from_.split('@')[-1]}>") + "\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{bound}"\n\n'
        f"--{bound}\n"
        "Content-Type: text/plain; charset=us-ascii\n\n"
        f"New voicemail from {caller_number or 'unknown'}.\n\n"
        f"--{bound}\n"
        f'Content-Type: application/octet-stream; name="{filename}"\n'
        "Content-Transfer-Encoding: base64\n"
        f'Content-Disposition: attachment; filename="{filename}"\n\n'
        f"{_b64_76(audio_bytes)}"
        f"--{bound}--\n"
    )
    return _finish(out, raw)


# --------------------------------------------------------------------------------------------
# Hostile messages


def no_audio(
    caller_number: str = "0301234567",
    caller_name: str = "",
    mailbox: str = "2000",
    to: str = "2000@localhost",
    from_: str = "asterisk",
    message_id: str | None = None,
    orig_time: int | None = None,
    *,
    raw: bool = False,
) -> bytes:
    """No audio at all: Asterisk's mail with attach=no (a single text/plain part, the same
    headers as asterisk()). Mailvox must refuse it: 554 5.6.0, sendmail exit 65."""
    return asterisk(
        b"", caller_number, caller_name, mailbox, to, from_, message_id, orig_time, attach=False, raw=raw
    )


def not_audio(
    to: str = "2000@localhost",
    caller_number: str = "0301234567",
    caller_name: str = "",
    mailbox: str = "2000",
    from_: str = "asterisk",
    message_id: str | None = None,
    orig_time: int | None = None,
    *,
    kind: str = "text",
    seed: int = 1,
    raw: bool = False,
) -> bytes:
    """An Asterisk-shaped mail whose audio/x-wav "msg0000.wav" holds no audio: kind='text' is a
    short text, kind='random' 4 KiB of seeded random bytes, kind='truncated' a RIFF/WAVE header
    with no data. Mailvox must refuse it: 554 5.6.0, sendmail exit 65."""
    if kind == "text":
        payload = b"This is not a WAV file, just text pretending to be one.\n" * 8
    elif kind == "random":
        payload = random.Random(seed).randbytes(4096)
    elif kind == "truncated":
        payload = b"RIFF\x24\x00\x00\x00WAVEfmt "
    else:
        raise ValueError("kind: text, random or truncated")
    return asterisk(payload, caller_number, caller_name, mailbox, to, from_, message_id, orig_time, duration=0, raw=raw)


def nested(
    wav_bytes: bytes,
    to: str = "2000@localhost",
    caller_number: str = "0301234567",
    caller_name: str = "",
    from_: str = "forwarder@example.com",
    message_id: str | None = None,
    orig_time: int | None = None,
    *,
    depth: int = 3,
    rfc822: bool = True,
    raw: bool = False,
) -> bytes:
    """The audio buried: an outer multipart/mixed (a text part and a forwarded message/rfc822
    when rfc822, as a mail client's "forward as attachment" makes it), inside that a
    multipart/mixed, then multipart/related ... `depth` multipart levels in all, the
    audio/x-wav part at the bottom. The contract takes the first audio part at any depth, so
    this must be deposited like a flat one. The inner message carries the caller's number in its
    own From/Subject; the outer one is from `from_`."""
    t = _ts(orig_time)
    rng = random.Random(f"nest{t}{message_id}")

    def bnd(level: int) -> str:
        return "nest%d_%016x" % (level, rng.getrandbits(64))

    inner_bound = bnd(depth)
    part = (
        f'Content-Type: multipart/mixed; boundary="{inner_bound}"\n\n'
        f"--{inner_bound}\n"
        'Content-Type: audio/x-wav; name="msg0000.wav"\n'
        "Content-Transfer-Encoding: base64\n"
        'Content-Disposition: attachment; filename="msg0000.wav"\n\n'
        f"{_ast_b64(wav_bytes)}"
        f"--{inner_bound}--\n"
    )
    for level in range(depth - 1, 1, -1):
        b = bnd(level)
        subtype = "related" if level % 2 == 0 else "mixed"
        part = (
            f'Content-Type: multipart/{subtype}; boundary="{b}"\n\n'
            f"--{b}\n"
            f"Content-Type: text/plain; charset=us-ascii\n\nlevel {level}\n"
            f"--{b}\n"
            f"{part}"
            f"--{b}--\n"
        )
    if rfc822:
        part = (
            "Content-Type: message/rfc822\n"
            'Content-Disposition: attachment; filename="voicemail.eml"\n\n'
            f"From: Voicemail <asterisk@pbx.example.com>\n"
            f"To: {to}\n"
            f"Subject: Voicemail from {caller_number}\n"
            f"Date: {_rfc5322_date(t)}\n"
            f"X-Asterisk-CallerID: {caller_number}\n"
            + (f"X-Asterisk-CallerIDName: {_strip_control_and_high(caller_name)}\n" if caller_name else "")
            + "MIME-Version: 1.0\n"
            + part
        )
    ob = bnd(1)
    out = (
        f"From: {from_}\n"
        f"To: {to}\n"
        f"Subject: Fwd: Voicemail from {caller_number}\n"
        f"Date: {_rfc5322_date(t)}\n"
        "Message-ID: " + _msgid(message_id, f"<nested.{rng.getrandbits(64):x}@example.com>") + "\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{ob}"\n\n'
        f"--{ob}\n"
        "Content-Type: text/plain; charset=us-ascii\n\nForwarded voicemail below.\n"
        f"--{ob}\n"
        f"{part}"
        f"--{ob}--\n"
    )
    return _finish(out, raw)


# --------------------------------------------------------------------------------------------
# Reading messages back (what the contract's extraction looks for)

AUDIO_EXTENSIONS = (".wav", ".gsm", ".mp3", ".opus", ".ogg", ".oga", ".flac", ".ul", ".ulaw", ".al", ".alaw", ".au", ".m4a", ".aac", ".amr", ".g722", ".g729", ".sln")


def parse(msg_bytes: bytes) -> Message:
    return email.message_from_bytes(msg_bytes, policy=email.policy.compat32)


def find_audio(msg_bytes: bytes) -> tuple[str, str | None, bytes] | None:
    """The contract's rule: the first audio/* part at any depth (walk() enters message/rfc822),
    or an application/octet-stream part whose file name has an audio extension. Returns
    (content type, file name, decoded bytes) or None."""
    for part in parse(msg_bytes).walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        name = part.get_filename() or part.get_param("name")
        if ctype.startswith("audio/") or (
            ctype == "application/octet-stream" and name and name.lower().endswith(AUDIO_EXTENSIONS)
        ):
            return ctype, name, part.get_payload(decode=True) or b""
    return None


def attachment(msg_bytes: bytes) -> tuple[str, str | None, bytes] | None:
    """The first leaf with a file name, whatever its type (the builders' own check)."""
    for part in parse(msg_bytes).walk():
        if not part.is_multipart() and part.get_filename():
            return part.get_content_type(), part.get_filename(), part.get_payload(decode=True) or b""
    return None


# --------------------------------------------------------------------------------------------
# Test audio


def make_audio(directory: str, text: str = "Hello Grace, this is a test voicemail from Berlin.") -> dict[str, bytes]:
    """Real recordings as PBXs store them: 'wav' 8 kHz mono 16-bit PCM (Asterisk format=wav,
    FreeSWITCH), 'wav49' GSM 6.10 in RIFF (Asterisk wav49, sox -e gsm-full-rate), 'gsm' raw
    GSM, 'mp3' (lame), 'ogg' (Vorbis, sox). Needs espeak-ng, sox, lame."""
    for tool in ("espeak-ng", "sox", "lame"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found on PATH (scripts/bootstrap test installs it)")
    p = lambda n: os.path.join(directory, n)  # noqa: E731
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("espeak-ng", text, "-w", p("speech.wav"))
    run("sox", p("speech.wav"), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", p("pcm.wav"))
    run("sox", p("speech.wav"), "-r", "8000", "-c", "1", "-e", "gsm-full-rate", p("gsm.wav"))
    run("sox", p("speech.wav"), "-r", "8000", "-c", "1", p("raw.gsm"))
    run("sox", p("speech.wav"), "-r", "8000", "-c", "1", p("speech.ogg"))
    run("lame", "--quiet", p("pcm.wav"), p("speech.mp3"))
    names = {"wav": "pcm.wav", "wav49": "gsm.wav", "gsm": "raw.gsm", "mp3": "speech.mp3", "ogg": "speech.ogg"}
    audio = {k: open(p(v), "rb").read() for k, v in names.items()}
    if audio["wav49"][20:22] != b"\x31\x00":  # WAVE_FORMAT_GSM610: Asterisk's wav49 container
        raise RuntimeError("sox did not write GSM 6.10 in RIFF (format tag 0x0031)")
    return audio


# --------------------------------------------------------------------------------------------
# Self-check


def selftest() -> int:
    failures: list[str] = []
    notes: list[str] = []

    def check(label: str, msg: bytes, expect: bytes | None, *, raw: bool = False, contract: bool = True) -> None:
        try:
            if raw:
                if b"\r" in msg:
                    failures.append(f"{label}: raw form has CR")
            elif re.search(rb"(?<!\r)\n", msg) or re.search(rb"\r(?!\n)", msg):
                failures.append(f"{label}: bare LF or CR in the CRLF form")
            parsed = parse(msg)
            if parsed.defects:
                failures.append(f"{label}: parser defects {parsed.defects}")
            if not parsed["From"] and "builtin" not in label:
                failures.append(f"{label}: no From")
            got = attachment(msg)
            found = find_audio(msg)
            if expect is None:
                if found is not None:
                    failures.append(f"{label}: contract rule found audio {found[:2]} where none is")
            else:
                if got is None or got[2] != expect:
                    failures.append(f"{label}: decoded attachment differs from the input")
                if contract and (found is None or found[2] != expect):
                    failures.append(f"{label}: the contract's rule does not take the audio")
                if not contract and found is None:
                    notes.append(f"{label}: {got[0] if got else '?'} is outside the contract's rule (see docs/PBX.md)")
            print(f"ok   {label:34} {len(msg):7} bytes  {got[0] if got else '-':24} {got[1] if got else ''}")
        except Exception as error:  # noqa: BLE001 - a self-check reports every failure
            failures.append(f"{label}: {type(error).__name__}: {error}")

    with tempfile.TemporaryDirectory(prefix="pbx_mail.") as tmp:
        audio = make_audio(tmp)
    wav, gsm, mp3 = audio["wav"], audio["wav49"], audio["mp3"]
    t = 1704461527  # Fri, 05 Jan 2024 13:32:07 UTC
    common = dict(orig_time=t)
    for raw in (False, True):
        r = " raw" if raw else ""
        check("asterisk wav" + r, asterisk(wav, "+4930123456", "Grace Hopper", "2000", "2000@localhost", "asterisk", raw=raw, **common), wav, raw=raw)
        check("asterisk wav49" + r, asterisk(gsm, "+4930123456", "Grace Hopper", "2000", "2000@localhost", "asterisk", wav49=True, raw=raw, **common), gsm, raw=raw)
        check("asterisk gsm" + r, asterisk(audio["gsm"], "0301234567", "", "2000", "2000@localhost", "asterisk", fmt="gsm", raw=raw, **common), audio["gsm"], raw=raw)
        check("asterisk ogg" + r, asterisk(audio["ogg"], "0301234567", "", "2000", "2000@localhost", "asterisk", fmt="ogg", raw=raw, **common), audio["ogg"], raw=raw, contract=False)
        check("asterisk imap urgent utf8" + r, asterisk(wav, "+4930123456", "Jürgen Groß", "2000", ["2000@localhost", "grace@example.com"], "asterisk@pbx.example.com", imap_headers=True, urgent=True, fromstring="Voicemail System", mailbox_name="Grâce", subject='Voicemail from "Jürgen" <+4930123456>', charset="UTF-8", raw=raw, **common), wav, raw=raw)
        check("freeswitch default" + r, freeswitch(wav, "+4930123456", "Grace Hopper", "2000", "pbx.example.com", "2000@localhost", raw=raw, **common), wav, raw=raw)
        check("freeswitch urgent no-date" + r, freeswitch(wav, "0301234567", "Jürgen", "2000", "pbx.example.com", "2000@localhost", urgent=True, date_header=False, message_id="fs-1@pbx", raw=raw, **common), wav, raw=raw)
        check("freeswitch builtin" + r, freeswitch(wav, "0301234567", "Grace", "2000", "pbx.example.com", "2000@localhost", template="builtin", raw=raw, **common), wav, raw=raw)
        check("3cx mp3" + r, threecx(mp3, "mp3", "+4930123456", "John Smith", "2000@localhost", raw=raw, **common), mp3, raw=raw)
        check("3cx wav" + r, threecx(wav, "wav", "+4930123456", "Jürgen Groß", "2000@localhost", raw=raw, **common), wav, raw=raw)
        check("octet-stream" + r, octet_stream(wav, "0301234567", "Grace", "2000@localhost", raw=raw, **common), wav, raw=raw)
        check("nested rfc822 x3" + r, nested(wav, "2000@localhost", "0301234567", raw=raw, **common), wav, raw=raw)
        check("nested multipart x4" + r, nested(wav, "2000@localhost", "0301234567", depth=4, rfc822=False, raw=raw, **common), wav, raw=raw)
        check("no-audio" + r, no_audio(raw=raw, **common), None, raw=raw)
        for kind in ("text", "random", "truncated"):
            msg = not_audio(kind=kind, raw=raw, **common)
            found = find_audio(msg)
            if found is None or found[2][:4] == b"RIFF" and len(found[2]) > 44:
                failures.append(f"not-audio {kind}{r}: expected an audio/x-wav part without audio")
            print(f"ok   {'not-audio ' + kind + r:34} {len(msg):7} bytes  {found[0] if found else '-'}")

    # Spot checks of the formats' defining bytes.
    a = asterisk(wav, "+4930123456", "Grace", "2000", "2000@localhost", "asterisk", **common)
    for needle in (b'boundary="----voicemail_1', b"X-Asterisk-CallerID: +4930123456", b"X-Asterisk-CallerIDName: Grace",
                   b'Content-Type: audio/x-wav; name="msg0000.wav"', b"Subject: [PBX]: New message 1 in mailbox 2000",
                   b"This is a multi-part message in MIME format."):
        if needle not in a:
            failures.append(f"asterisk: missing {needle!r}")
    w = asterisk(gsm, "1", "", "2000", "2000@localhost", "asterisk", wav49=True, **common)
    if b'Content-Type: audio/x-WAV; name="msg0000.WAV"' not in w:
        failures.append("asterisk wav49: not audio/x-WAV msg0000.WAV")
    if not asterisk(wav, "1", "", "2000", "2000@localhost", "asterisk", raw=True, **common).endswith(b"--\n.\n"):
        failures.append("asterisk raw: no final '.' line")
    if b".\r\n" in a[-8:]:
        failures.append("asterisk CRLF: kept the sendmail '.' line")
    u = asterisk(wav, "+4930123456", "", "2000", "2000@localhost", "asterisk", urgent=True, imap_headers=True, **common)
    for needle in (b"Subject: [PBX]: New Urgent message 1", b"X-Asterisk-VM-Flag: Urgent", b"X-Asterisk-VM-Orig-time: 1704461527"):
        if needle not in u:
            failures.append(f"asterisk urgent/imap: missing {needle!r}")
    if b"X-Asterisk-CallerIDName" in u:
        failures.append("asterisk: X-Asterisk-CallerIDName written for an empty name")
    f = freeswitch(wav, "+4930123456", "Grace", "2000", "pbx.example.com", "2000@localhost", **common)
    for needle in (b'From: "Grace" <+4930123456@pbx.example.com>', b'Subject: Voicemail from "Grace" <+4930123456> 00:00:0',
                   b"X-Priority: 3", b"X-Voicemail-Length: ", b'boundary="XXXX_boundary_XXXX"', b"Content-ID: <ATTACHED@freeswitch.org>"):
        if needle not in f:
            failures.append(f"freeswitch: missing {needle!r}")
    if b"Message-ID" in f:
        failures.append("freeswitch: wrote a Message-ID (FreeSWITCH never does)")
    if not re.search(rb'Content-Type: audio/x-wav; name="msg_[0-9a-f-]{36}\.wav"', f):
        failures.append("freeswitch: attachment not msg_<uuid>.wav audio/x-wav")
    if b"X-Priority: 1" not in freeswitch(wav, "1", "x", "2000", "d", "2000@localhost", urgent=True, **common):
        failures.append("freeswitch urgent: not X-Priority: 1")
    s = parse(threecx(mp3, "mp3", "+4930123456", "John Smith", "2000@localhost", **common))
    if s["Subject"] != "New Voicemail from John Smith (+4930123456)":
        failures.append(f"3cx: subject {s['Subject']!r}")
    if wav_duration(wav) < 1 or wav_duration(gsm) != wav_duration(wav):
        failures.append(f"wav_duration: pcm {wav_duration(wav)} gsm {wav_duration(gsm)}")

    for note in notes:
        print("note", note)
    for failure in failures:
        print("FAIL", failure)
    print("selftest:", "FAILED" if failures else "passed", f"({len(failures)} failures)")
    return 1 if failures else 0


# --------------------------------------------------------------------------------------------
# CLI


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, audio: str | None = "--wav") -> None:
        if audio:
            p.add_argument(audio, dest="audio", required=True, help="the recording to attach")
        p.add_argument("--caller-number", default="0301234567")
        p.add_argument("--caller-name", default="")
        p.add_argument("--to", default="2000@localhost")
        p.add_argument("--message-id")
        p.add_argument("--orig-time", type=int, help="epoch seconds of the message (default now)")
        p.add_argument("--raw", action="store_true", help="LF and the final '.' line, as piped to sendmail")
        p.add_argument("--out", help="write here instead of stdout")

    p = sub.add_parser("asterisk", help="app_voicemail make_email_file()")
    common(p)
    p.add_argument("--mailbox", default="2000")
    p.add_argument("--mailbox-name")
    p.add_argument("--from", dest="from_", default="asterisk", help="serveremail")
    p.add_argument("--fromstring")
    p.add_argument("--wav49", action="store_true")
    p.add_argument("--format", dest="fmt", help="wav|wav49|gsm|ogg|... (the first of format=)")
    p.add_argument("--urgent", action="store_true")
    p.add_argument("--imap-headers", action="store_true", help="the X-Asterisk-VM-* block of IMAP storage")
    p.add_argument("--subject", help="an emailsubject already substituted")
    p.add_argument("--charset", default="ISO-8859-1")
    p.add_argument("--msgnum", type=int, default=0)
    p.add_argument("--no-attach", action="store_true", help="attach=no")

    p = sub.add_parser("freeswitch", help="mod_voicemail voicemail.tpl via switch_simple_email()")
    common(p)
    p.add_argument("--account", default="2000")
    p.add_argument("--domain", default="pbx.example.com")
    p.add_argument("--template", choices=["default", "builtin"], default="default")
    p.add_argument("--urgent", action="store_true")
    p.add_argument("--no-date", action="store_true", help="${RFC2822_DATE} unset: an empty Date header")
    p.add_argument("--uuid")

    p = sub.add_parser("threecx", help="a 3CX-style SMTP mail (MP3 or WAV)")
    common(p, "--audio")
    p.add_argument("--format", dest="fmt", choices=["mp3", "wav"], default="mp3")
    p.add_argument("--from", dest="from_", default="pbx@pbx.example.com")
    p.add_argument("--extension", default="2000")
    p.add_argument("--subject")

    p = sub.add_parser("octet-stream", help="application/octet-stream voicemail.wav")
    common(p, "--audio")
    p.add_argument("--from", dest="from_", default="phonesystem@pbx.example.com")
    p.add_argument("--filename", default="voicemail.wav")
    p.add_argument("--subject")

    p = sub.add_parser("no-audio", help="text only (Asterisk attach=no)")
    common(p, None)
    p = sub.add_parser("not-audio", help="audio/x-wav part without audio")
    common(p, None)
    p.add_argument("--kind", choices=["text", "random", "truncated"], default="text")
    p = sub.add_parser("nested", help="audio three levels deep inside message/rfc822")
    common(p)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--no-rfc822", action="store_true")

    sub.add_parser("find-audio", help="read a message on stdin, print what the contract takes")
    sub.add_parser("selftest", help="build and re-parse every format; exit 1 on failure")

    a = ap.parse_args(argv)
    if a.command == "selftest":
        return selftest()
    if a.command == "find-audio":
        found = find_audio(sys.stdin.buffer.read())
        if found is None:
            print("none")
            return 1
        print(found[0], found[1] or "-", len(found[2]))
        return 0

    audio = _read(a.audio) if getattr(a, "audio", None) else b""
    if a.command == "asterisk":
        msg = asterisk(audio, a.caller_number, a.caller_name, a.mailbox, a.to.split(","), a.from_, a.message_id,
                       a.orig_time, a.wav49, fmt=a.fmt, msgnum=a.msgnum, mailbox_name=a.mailbox_name, urgent=a.urgent,
                       fromstring=a.fromstring, subject=a.subject, charset=a.charset, imap_headers=a.imap_headers,
                       attach=not a.no_attach, raw=a.raw)
    elif a.command == "freeswitch":
        msg = freeswitch(audio, a.caller_number, a.caller_name, a.account, a.domain, a.to, a.message_id, a.orig_time,
                         a.urgent, msg_uuid=a.uuid, template=a.template, date_header=not a.no_date, raw=a.raw)
    elif a.command == "threecx":
        msg = threecx(audio, a.fmt, a.caller_number, a.caller_name, a.to, a.from_, a.message_id, a.orig_time,
                      extension=a.extension, subject=a.subject, raw=a.raw)
    elif a.command == "octet-stream":
        msg = octet_stream(audio, a.caller_number, a.caller_name, a.to, filename=a.filename, subject=a.subject,
                           message_id=a.message_id, orig_time=a.orig_time, from_=a.from_, raw=a.raw)
    elif a.command == "no-audio":
        msg = no_audio(a.caller_number, a.caller_name, to=a.to, message_id=a.message_id, orig_time=a.orig_time, raw=a.raw)
    elif a.command == "not-audio":
        msg = not_audio(a.to, a.caller_number, a.caller_name, message_id=a.message_id, orig_time=a.orig_time,
                        kind=a.kind, raw=a.raw)
    elif a.command == "nested":
        msg = nested(audio, a.to, a.caller_number, a.caller_name, message_id=a.message_id, orig_time=a.orig_time,
                     depth=a.depth, rfc822=not a.no_rfc822, raw=a.raw)
    else:  # pragma: no cover - argparse refuses others
        return 64
    if a.out:
        with open(a.out, "wb") as handle:
            handle.write(msg)
    else:
        sys.stdout.buffer.write(msg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
