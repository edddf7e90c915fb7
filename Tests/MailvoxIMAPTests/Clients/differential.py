"""Differential IMAP harness: the same scripted exchange against Mailvox and Dovecot (#14).

Both servers get the same corpus (APPENDed with fixed flags and INTERNALDATE), then the same few
hundred commands. Each response is normalised (see `normalise`) and compared. A difference must
be listed, with its RFC reason, in KNOWN_DIFFERENCES (both answers allowed, or Mailvox differs
on purpose) or in DEFECTS (Mailvox is wrong and should be fixed; reported, not accepted).

Usage: differential.py HOST TLS_PORT CAFILE USER PASSWORD
Mailvox is reached over implicit TLS with LOGIN. Dovecot's `imap` runs pre-authenticated as
user nobody (`doveadm exec imap`, a throwaway config and Maildir in a temp dir; needs root).
Set DIFFERENTIAL_DUMP=FILE to write every exchange with both normalised answers.

Output: one line per differing exchange (`LISTED`, `DEFECT`, `UNLISTED` with both answers),
`FIXED` for a defect that no longer differs, and the summary line
`N exchanges, M match, K listed differences, D defects, U unlisted`.
Normalised away, each for the reason given where it is done: tags, human text after a status
(and a response code only one side names, RFC 5530 §3), UIDVALIDITY and modseq values (modseqs
are compared by what SEARCH MODSEQ/CHANGEDSINCE select), capability lists, INTERNALDATE's zone,
the order of untagged responses and of FETCH items, literal vs quoted strings, FETCH responses
split in two, `[CLOSED]` (owed only with QRESYNC), unrequested child/special-use attributes of
an extended LIST, the optional Marked and Unmarked hints (Dovecot derives them from timestamps),
INBOX's spelling.
Exit status: 0 unless an unlisted difference exists or a defect is fixed (remove it from the
table); 2 when a server could not be driven.
"""

import calendar
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

# ---------------------------------------------------------------------------------------------
# Where Mailvox differs from Dovecot and either answer is allowed, or Mailvox differs on purpose.
# Key: exchange id (the command as sent, without tag; ` #n` for the n-th repetition).

PARTIAL_CRLF = "a multipart body part: Dovecot ends it with the CRLF before the enclosing boundary; RFC 2046 §5.1.1 says 'the CRLF preceding the boundary delimiter line is conceptually attached to the boundary', so Mailvox leaves it out (as MailvoxMIMETests' DovecotDifferentialTests explain for 'nested')"
NO_DATE = "messages 10 and 11 have no readable Date: header (none; 'sometime last week'). RFC 3501 §6.4.4 defines SENTBEFORE/SENTON/SENTSINCE by the Date: header and says nothing for a message without one: Mailvox matches neither, Dovecot takes 1 Jan 1970 (RFC 5256 §2.2's rule for SORT, INTERNALDATE, would be a third answer)"

KNOWN_DIFFERENCES = {
    "NAMESPACE": "Mailvox names its shared namespace `Shared/` (departments a login is a member of, RFC 2342 "
    "§5) even to a login that is a member of none, so clients learn where departments appear before the first "
    "arrives; this Dovecot is configured without one. The ACL differential (acl_differential.py) compares "
    "NAMESPACE against a Dovecot that has a shared namespace",
    "NAMESPACE #2": "as NAMESPACE",
    "STATUS INBOX (MESSAGES UIDNEXT UNSEEN RECENT)": "the same STATUS; Dovecot adds [CLIENTBUG] (RFC 5530) to "
    "its OK because RFC 9051 §6.3.11 says a client SHOULD NOT ask STATUS of the selected folder. It is allowed, "
    "and Mailvox answers it without the hint",
    "ENABLE UNKNOWNEXT": "Mailvox answers an empty `* ENABLED`, Dovecot none. RFC 5161 §3.2: 'The ENABLED response "
    "may contain no capabilities, which means that no extensions listed by the client were successfully enabled.'",
    'LIST "" "Trailing"': "after CREATE Trailing/. RFC 3501 §6.3.3: a trailing delimiter declares that children will "
    "follow, and 'server implementations that do not require this declaration MUST ignore the declaration': Mailvox "
    "creates the folder Trailing. Dovecot's fs layout makes a \\Noselect directory",
    'CREATE "Bad*Name"': "Mailvox refuses names with the LIST wildcards * and %, which no LIST pattern can name "
    "alone (FolderNameRules, docs/IMAP.md). RFC 3501 §6.3.3 lets a server refuse a name ('NO - create failure: "
    "can't create mailbox with that name'); Dovecot accepts it",
    'CREATE "Bad%Name"': "as CREATE \"Bad*Name\"",
    'DELETE "Bad*Name"': "follows from CREATE \"Bad*Name\": Mailvox never made it (NO [NONEXISTENT]), Dovecot deletes its own",
    'DELETE "Bad%Name"': "as DELETE \"Bad*Name\"",
    'SELECT ""': "both refuse the empty name, Mailvox with [NONEXISTENT], Dovecot with [CANNOT]; RFC 5530 §3 defines "
    "both and leaves the choice to the server",
    "NOOP extra": "RFC 3501 §9: NOOP has no arguments, so Mailvox's parser answers BAD (§7.1.3); Dovecot ignores the "
    "extra text",
    "APPEND bad flag": "\\Bogus is a syntactically valid flag-extension (RFC 3501 §9) neither server can keep. Mailvox "
    "stores the message without it, which RFC 3501 §7.1 (PERMANENTFLAGS) allows: 'the server will either ignore the "
    "change or store the state change for the remainder of the current session only'; Dovecot answers BAD",
    "APPEND bad date": "31-Feb-2024 fits RFC 3501's date-time grammar but is no date: Mailvox answers BAD, Dovecot "
    "rolls it over and stores the message. RFC 3501 §6.3.11 leaves an impossible date to the server",
    'LIST "Work" "%"': "RFC 3501 §6.3.8: when the reference does not end in the hierarchy delimiter 'it is "
    "implementation-dependent how this is interpreted'. Mailvox lists the level below Work, Dovecot joins the two "
    "strings (Work%, so Work)",
    "SUBSCRIBE NoSuchFolder": "RFC 3501 §6.3.6: 'A server MAY validate the mailbox argument to SUBSCRIBE to verify that "
    "it exists.' Dovecot does (NO); Mailvox takes any valid name and lists it \\NonExistent (RFC 5258 §3.1)",
    'LSUB "" "NoSuch*"': "follows from SUBSCRIBE NoSuchFolder: Mailvox holds the subscription, Dovecot refused it",
    "UNSUBSCRIBE NeverSubscribed": "RFC 3501 §6.3.7 allows 'NO - unsubscribe failure: can't unsubscribe that name': "
    "Mailvox says NO [NONEXISTENT] for a name not subscribed, Dovecot answers OK",
    'LIST "" "Renamed*"': "Mailvox's CREATE makes missing parents real folders (RFC 3501 §6.3.3: the server SHOULD "
    "create any superior hierarchical names); Dovecot's fs layout leaves them \\Noselect directories. Renamed is "
    "the parent CREATE Scratch/Child made, renamed",
    "DELETE Parent": "Parent was made by CREATE Parent/Kid: a folder in Mailvox, which DELETE removes and keeps "
    "Parent/Kid (RFC 3501 §6.3.4 'MUST NOT remove inferior hierarchical names'); a \\Noselect name in Dovecot, and "
    "'it is an error to attempt to delete a name that has inferior hierarchical names and also has the \\Noselect "
    "attribute' (RFC 3501 §6.3.4)",
    'LIST "" "Parent*"': "after DELETE Parent: RFC 3501 §6.3.4's example (A85) lists only foo.bar for `*` once foo is "
    "deleted, as Mailvox does; Dovecot still has its \\Noselect Parent and lists it",
    "DELETE Parent #2": "tidies up after DELETE Parent: Dovecot deletes its \\Noselect Parent, Mailvox has none left "
    "(NO [NONEXISTENT])",
    "STORE 1 +FLAGS (\\Deleted)": "after EXAMINE. Mailvox refuses with NO [READ-ONLY] (RFC 5530 §3); Dovecot answers "
    "OK and changes nothing. RFC 3501 §6.3.2 only forbids the permanent change",
    "EXPUNGE #2": "EXPUNGE after EXAMINE: Mailvox NO [READ-ONLY], Dovecot OK expunging nothing. RFC 3501 §6.4.3 "
    "allows 'NO - expunge failure: can't expunge (e.g., permission denied)'",
    "FETCH 12 (BODY.PEEK[1])": PARTIAL_CRLF,
    "FETCH 12 (BODY.PEEK[1.2])": PARTIAL_CRLF,
    "FETCH 16 (BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[1.MIME] BODY.PEEK[2.MIME])": PARTIAL_CRLF,
    "FETCH 1 (BODY.PEEK[HEADER]<0.0>)": "RFC 3501 §9: partial = \"<\" number \".\" nz-number \">\", so a length "
    "of 0 is a syntax error and Mailvox answers BAD; Dovecot returns an empty string",
    'SEARCH CC "M\\"uller"': "Cc: \"M\\\"uller, Anna\" <anna@example.com>: the envelope's name is the unquoted "
    "phrase M\"uller, Anna, and RFC 3501 §6.4.4 matches CC against 'the envelope structure's CC field', as "
    "Mailvox does; Dovecot matches the quoted header text, where the backslash sits between M and the quote",
    "SEARCH SENTBEFORE 1-Jan-2000 NOT UID 7": NO_DATE,
    "SEARCH SENTBEFORE 1-Jan-2024": NO_DATE,
    "SEARCH SENTSINCE 1-Jan-1900 UID 10:11": NO_DATE,
    "SEARCH CHARSET KOI8-R ALL": "RFC 3501 §6.4.4: US-ASCII MUST be supported, other charsets MAY. Mailvox takes "
    "US-ASCII and UTF-8 and answers NO [BADCHARSET (US-ASCII UTF-8)]; Dovecot converts KOI8-R",
    "SEARCH CHARSET ISO-8859-1 literal": "as SEARCH CHARSET KOI8-R ALL, for ISO-8859-1",
    "SEARCH SENTON 32-Jan-2024": "day 32 fits RFC 3501's date grammar (date-day = 1*2DIGIT) but is no date: Mailvox "
    "answers BAD, Dovecot finds nothing",
    "STORE 6 +FLAGS (\\Recent)": "RFC 3501 §2.3.2: \\Recent 'can not be altered by the client'. Mailvox ignores it "
    "in a flag list (docs/IMAP.md) and answers with the unchanged flags; Dovecot answers BAD",
    "STORE 6 +FLAGS (\\Bogus)": "as APPEND bad flag: RFC 3501 §7.1 lets a server ignore a flag it cannot keep; "
    "Dovecot answers BAD",
    "STORE 6 +FLAGS (\\Seen \\Seen)": "a STORE that changes nothing: Mailvox answers with the message's FLAGS, "
    "Dovecot sends no FETCH. RFC 3501 §6.4.6: STORE 'normally' returns the updated value; both are allowed",
    "STORE 4 -FLAGS (Another)": "a STORE that changes nothing (STORE 4 -FLAGS (another) removed the keyword already, "
    "case aside): Mailvox answers with the FLAGS, Dovecot sends no FETCH, as STORE 6 +FLAGS (\\Seen \\Seen)",
    "RENAME INBOX Old-Inbox": "RFC 3501 §6.3.5: 'Renaming INBOX is permitted, and has special behavior': its messages "
    "move to the new name and INBOX stays, empty, as Mailvox does; Dovecot's Maildir (fs layout) answers NO [CANNOT]",
    "STATUS INBOX (MESSAGES) #2": "follows from RENAME INBOX Old-Inbox",
    "STATUS Old-Inbox (MESSAGES)": "follows from RENAME INBOX Old-Inbox",
    "RENAME Trash Bin": "Mailvox keeps its special-use folders ('INBOX and the special-use folders cannot be deleted, "
    "nor the special-use ones renamed', docs/IMAP.md; NO [CANNOT]); RFC 3501 §6.3.4-5 let a server refuse",
    "DELETE Trash": "as RENAME Trash Bin (after it, Dovecot has no Trash left: NO)",
    "SEARCH KEYWORD NoSuchKeyword": "Dovecot adds a keyword it is asked to search for to the folder's keyword list and "
    "announces FLAGS and PERMANENTFLAGS, which RFC 3501 §7.2.6 allows at any time; Mailvox announces keywords in use",
}

# Where the pipeline of one server makes a change visible a moment later than the other, a
# defect may or may not show in a run; it is not "fixed" when it does not.

# Mailvox defects still open (Mailvox wrong by the RFC): reported as known issues until fixed.
# Those the harness found first (two-digit years, keyword case in STORE, missing parent levels
# in LIST, RENAME moving subscriptions, STATUS RECENT of the selected folder, own APPEND/COPY/MOVE
# announced late) are fixed, each with a test in DifferentialFindingsTests.
DEFECTS = {}

# Defects that depend on timing: Mailvox learns of its own APPEND/COPY/MOVE into the selected
# folder from the folder's change feed, which may deliver before or after the tagged OK.
INTERMITTENT_DEFECTS = {}

# ---------------------------------------------------------------------------------------------
# The corpus.


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def simple(headers, body="body\n"):
    return crlf(headers.strip("\n") + "\n\n" + body)


HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "..", "MailvoxMIMETests", "Golden")

CORPUS = [
    # (name, flags, internal date, bytes)
    (
        "comment-name",
        r"(\Seen)",
        "07-Feb-1994 21:52:25 -0800",
        simple(
            """
From: user@domain (Real Name)
To: a@b.example (first) (second), "Doe, John" <john@example.com>
Cc: carol@example.org
Subject: Comment names
Date: Mon, 7 Feb 1994 21:52:25 -0800
Message-ID: <comment-name@example.com>
""",
            "The quick brown fox jumps over the lazy dog.\nSecond line.\n",
        ),
    ),
    (
        "empty-groups",
        r"(\Answered \Flagged)",
        "07-Feb-1994 12:00:00 +0000",
        simple(
            """
From: sender@example.net
To: group:;
Cc: undisclosed-recipients:;, group2:;
Bcc: hidden@example.net
Subject: Empty groups
Date: 7 Feb 1994 21:52:25 +0000
""",
            "Nobody is listed.\n",
        ),
    ),
    (
        "cfws-address",
        "()",
        "01-Mar-2022 10:00:00 +0000",
        simple(
            """
From: <a (c)@ (c) b.org>
To: <user-from (comment)@ (comment) domain.org>, <x@y> (Angle)
Subject: CFWS in addresses
Date: Tue, 1 Mar 2022 10:00:00 GMT
"""
        ),
    ),
    (
        "encoded-words",
        r"(\Seen $Forwarded)",
        "15-Jun-2005 13:00:00 +0200",
        simple(
            """
From: =?iso-8859-1?Q?J=FCrgen_Gro=DF?= <juergen@example.de>
To: =?utf-8?B?QW5uYSBNw7xsbGVy?= <anna@example.com>
Reply-To: "=?utf-8?Q?A?=" <reply@example.com>
Sender: secretary@example.de
Subject: =?utf-8?B?R3LDvMOfZSBhdXMgQmVybGlu?=
Date: Wed, 15 Jun 2005 08:00:00 EST
In-Reply-To: <parent@example.de>
Message-ID: <encoded@example.de>
""",
            "Encoded words only in headers.\n",
        ),
    ),
    (
        "quoted-names",
        "(Custom1)",
        "31-Dec-1998 23:59:00 +1400",
        simple(
            """
From: "Quoted \\"Name\\"" <q@x.example>
To: Plain  Name <p@x.example>, "" <e@x.example>
Cc: "M\\"uller, Anna" <anna@example.com>, bob@example.com
Subject: Quoted names
Date: Thu, 31 Dec 1998 23:59 +1400
"""
        ),
    ),
    (
        "group-members",
        r"(\Draft)",
        "13-Oct-2023 13:13:13 -1200",
        simple(
            """
From: a@example.com
To: Team: x@y.example, (c) "Z" <z@y.example>;, tail@y.example
Subject: Group with members
Date: Fri, 13 Oct 2023 13:13:13 -1200
X-Priority: 1
"""
        ),
    ),
    (
        "two-digit-year",
        "()",
        "01-Jan-1999 12:00:00 -0700",
        simple(
            """
From: old@example.com
To: new@example.com
Subject: Two-digit year and obsolete zone
Date: 1 Jan 99 12:00:00 PDT
"""
        ),
    ),
    (
        "date-with-comment",
        r"(\Seen \Flagged Custom2)",
        "29-Feb-2020 12:00:00 +0530",
        simple(
            """
From: leap@example.in
To: year@example.in
Subject: Leap day with a comment in the date
Date: Sat, 29 Feb 2020 12:00:00 +0530 (IST)
"""
        ),
    ),
    (
        "day-boundary",
        "()",
        "01-Jan-2024 00:30:00 +0100",
        simple(
            """
From: midnight@example.com
To: owner@example.com
Subject: Just after midnight east of UTC
Date: Mon, 1 Jan 2024 00:30:00 +0100
"""
        ),
    ),
    (
        "no-date",
        "()",
        "02-Jan-2024 12:00:00 +0000",
        simple(
            """
From: nodate@example.com
To: owner@example.com
Subject: No Date header
"""
        ),
    ),
    (
        "broken-date",
        "()",
        "03-Jan-2024 12:00:00 +0000",
        simple(
            """
From: broken@example.com
To: owner@example.com
Subject: Unreadable Date header
Date: sometime last week
"""
        ),
    ),
    (
        "nested-multipart",
        r"(\Seen)",
        "04-Jan-2024 08:15:00 -0500",
        crlf(
            """From: nest@example.com
To: owner@example.com
Subject: Nested multiparts
Date: Thu, 4 Jan 2024 08:15:00 -0500
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=us-ascii

plain alternative
--alt
Content-Type: multipart/related; boundary="rel"; type="text/html"

--rel
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>html =C3=BC</p>
--rel
Content-Type: image/png; name="dot.png"
Content-Transfer-Encoding: base64
Content-ID: <dot@nest>

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==
--rel--
--alt--
--outer
Content-Type: message/rfc822
Content-Description: forwarded

From: inner@example.com
To: nest@example.com
Subject: The inner message
Date: Wed, 3 Jan 2024 18:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="inner"

--inner
Content-Type: text/plain

inner text findme
--inner
Content-Type: application/pdf; name="a.pdf"
Content-Disposition: attachment; filename="a.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--inner--

--outer
Content-Type: text/plain; charset="utf-8"; format=flowed
Content-Disposition: inline
Content-Language: en

trailing part
--outer--
epilogue
"""
        ),
    ),
    (
        "voicemail-like",
        "()",
        "05-Jan-2024 14:32:07 +0100",
        crlf(
            """From: "Caller" <+4930123456@localhost>
To: "Owner" <owner@example.com>
Subject: Voicemail from +4930123456
Date: Fri, 5 Jan 2024 14:32:07 +0100
Message-ID: <voicemail.like@localhost>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

You have a new voicemail (0:42).
--b1
Content-Type: audio/mpeg
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="voicemail.mp3"

SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4LjI5LjEwMAAAAAAAAAAAAAAA
SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4LjI5LjEwMAAAAAAAAAAAAAAA
--b1--
"""
        ),
    ),
    (
        "eight-bit",
        "()",
        "06-Jan-2024 09:00:00 +0000",
        crlf(
            """From: =?utf-8?Q?Gr=C3=BC=C3=9Fe?= <gruss@example.de>
To: owner@example.com
Subject: 8bit body
Date: Sat, 6 Jan 2024 09:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Grüße aus München, schöne Grüße.
"""
        ),
    ),
    (
        "big",
        "()",
        "07-Jan-2024 09:00:00 +0000",
        simple(
            """
From: big@example.com
To: owner@example.com
Subject: A big message
Date: Sun, 7 Jan 2024 09:00:00 +0000
X-Custom: needle-in-header
""",
            "".join("line %04d of a long body with some words in it\n" % n for n in range(120)),
        ),
    ),
]

for golden in ("voicemail-basic.eml", "voicemail-urgent-all-formats.eml"):
    path = os.path.join(GOLDEN, golden)
    if os.path.exists(path):
        with open(path, "rb") as handle:
            CORPUS.append(("pipeline-" + golden[:-4], "()", "08-Jan-2024 10:00:00 +0100", handle.read()))

# A second folder's corpus, for COPY/MOVE/STATUS across folders.
WORK_CORPUS = [
    ("work-1", r"(\Seen)", "10-Jan-2024 10:00:00 +0000", simple("From: w1@example.com\nSubject: Work one\n")),
    ("work-2", "()", "11-Jan-2024 10:00:00 +0000", simple("From: w2@example.com\nSubject: Work two\n")),
]

# ---------------------------------------------------------------------------------------------
# Connections.


class Literal:
    """A string sent as a synchronising literal."""

    def __init__(self, data):
        self.data = data if isinstance(data, bytes) else data.encode("utf-8")


class Connection:
    def __init__(self, name, reader, write):
        self.name = name
        self.reader = reader
        self.write = write
        self.counter = 0
        self.variables = {}

    def readline(self):
        """One response line, literals folded in as quoted strings (a server may send either)."""
        out = b""
        while True:
            line = self.reader.readline()
            if not line:
                raise EOFError(f"{self.name} closed the connection")
            match = re.search(rb"\{(\d+)\+?\}\r?\n$", line)
            if match:
                size = int(match.group(1))
                data = self.reader.read(size)
                if len(data) != size:
                    raise EOFError(f"{self.name} closed the connection in a literal")
                out += line[: match.start()] + quote(data)
                continue
            return out + line.rstrip(b"\r\n")

    def command(self, parts):
        """Sends one command (str pieces and Literals) and returns (untagged lines, tagged line)."""
        self.counter += 1
        tag = b"x%03d" % self.counter
        untagged = []
        pending = tag + b" "
        for part in parts:
            if isinstance(part, Literal):
                self.write(pending + b"{%d}\r\n" % len(part.data))
                pending = b""
                while True:
                    line = self.readline()
                    if line.startswith(b"+"):
                        break
                    if line.startswith(tag + b" "):
                        return untagged, line  # refused before the literal was sent
                    untagged.append(line)
                pending = part.data
            else:
                for name, value in self.variables.items():
                    part = part.replace("{" + name + "}", value)
                pending += part.encode("utf-8")
        self.write(pending + b"\r\n")
        while True:
            line = self.readline()
            if line.startswith(tag + b" "):
                return untagged, line
            untagged.append(line)


def quote(data):
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def mailvox(host, port, cafile, user, password):
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False
    raw = context.wrap_socket(socket.create_connection((host, int(port))), server_hostname="localhost")
    raw.settimeout(20)
    reader = raw.makefile("rb")
    connection = Connection("mailvox", reader, raw.sendall)
    greeting = connection.readline()
    assert greeting.startswith(b"* OK"), greeting
    _, done = connection.command([f"LOGIN {user} {password}"])
    assert b" OK" in done, done
    return connection, raw.close


DOVECOT_CONF = r"""log_path = {dir}/dovecot.log
ssl = no
mail_home = {dir}/%u
mail_location = maildir:~/Mail:LAYOUT=fs
namespace inbox {{
  inbox = yes
  separator = /
  prefix =
  mailbox INBOX {{
    auto = create
  }}
  mailbox Saved {{
    auto = create
    special_use = \Archive
  }}
  mailbox Trash {{
    auto = create
    special_use = \Trash
  }}
  mailbox Greetings {{
    auto = create
  }}
}}
"""


def dovecot():
    directory = tempfile.mkdtemp(prefix="mvx-differential-")
    os.chmod(directory, 0o777)
    home = os.path.join(directory, "u")
    os.makedirs(os.path.join(home, "Mail"))
    subprocess.run(["chown", "-R", "nobody", home], check=True)
    with open(os.path.join(directory, "dovecot.conf"), "w") as handle:
        handle.write(DOVECOT_CONF.format(dir=directory))
    process = subprocess.Popen(
        [
            "/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/env", "-i",
            "USER=u", "TZ=UTC", "PATH=/usr/bin:/bin", "doveadm", "-c", os.path.join(directory, "dovecot.conf"),
            "exec", "imap",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )

    def write(data):
        process.stdin.write(data)
        process.stdin.flush()

    connection = Connection("dovecot", process.stdout, write)
    greeting = connection.readline()
    assert greeting.startswith(b"* PREAUTH"), greeting
    # Mailvox's fixed folders start subscribed; `auto = subscribe` would keep them so for good.
    for folder in ("INBOX", "Saved", "Trash", "Greetings"):
        connection.command([f"SUBSCRIBE {folder}"])

    def close():
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(directory, ignore_errors=True)

    return connection, close


# ---------------------------------------------------------------------------------------------
# Normalisation: what a server may choose freely is made equal; everything else is compared.

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def utc_date(text):
    """INTERNALDATE as the instant in UTC: a server need not keep the zone of APPEND's date."""
    match = re.fullmatch(r" ?(\d{1,2})-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)", text)
    if not match:
        return text
    day, month, year, hour, minute, second, sign, zh, zm = match.groups()
    seconds = calendar.timegm((int(year), MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second)))
    seconds -= (1 if sign == "+" else -1) * (int(zh) * 3600 + int(zm) * 60)
    return time.strftime("%d-%b-%Y %H:%M:%S +0000", time.gmtime(seconds))


def tokens(text):
    """Splits IMAP data into atoms (brackets kept whole), quoted strings and parentheses."""
    out = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == " ":
            index += 1
        elif char in "()":
            out.append(char)
            index += 1
        elif char == '"':
            end = index + 1
            value = ""
            while end < len(text) and text[end] != '"':
                if text[end] == "\\":
                    end += 1
                value += text[end] if end < len(text) else ""
                end += 1
            out.append(("q", value))
            index = end + 1
        else:
            end = index
            depth = 0
            while end < len(text) and (depth > 0 or text[end] not in " ()"):
                if text[end] == "[":
                    depth += 1
                elif text[end] == "]":
                    depth -= 1
                end += 1
            out.append(text[index:end])
            index = end
    return out


def tree(items):
    """Tokens into nested lists."""
    stack = [[]]
    for item in items:
        if item == "(":
            stack.append([])
        elif item == ")":
            if len(stack) > 1:
                done = stack.pop()
                stack[-1].append(done)
            else:
                stack[-1].append(")")
        else:
            stack[-1].append(item)
    while len(stack) > 1:
        done = stack.pop()
        stack[-1].append(done)
    return stack[0]


def render(node):
    if isinstance(node, list):
        return "(" + " ".join(render(item) for item in node) + ")"
    if isinstance(node, tuple):
        return quote(node[1].encode("utf-8", "surrogateescape")).decode("utf-8", "surrogateescape")
    return node


def astring(node):
    """A mailbox name or other astring: atom or quoted is the server's choice."""
    if isinstance(node, tuple):
        value = node[1]
        if value and re.fullmatch(r"[^\s(){}%*\"\\\]]+", value) and value.upper() != "NIL":
            return value
        return render(node)
    return node


def flag_list(node):
    if not isinstance(node, list):
        return render(node)
    return "(" + " ".join(sorted((item if isinstance(item, str) else render(item)) for item in node)) + ")"


def sequence_set(text):
    """A sequence set in its shortest ascending form (`1,2,3` and `1:3` are the same set)."""
    numbers = set()
    for piece in text.split(","):
        if ":" in piece:
            low, high = piece.split(":")
            if not (low.isdigit() and high.isdigit()):
                return text
            low, high = sorted((int(low), int(high)))
            numbers.update(range(low, high + 1))
        elif piece.isdigit():
            numbers.add(int(piece))
        else:
            return text
    ordered = sorted(numbers)
    ranges = []
    for number in ordered:
        if ranges and ranges[-1][1] == number - 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in ranges)


def code(text):
    """A response code: values a server picks itself (UIDVALIDITY, modseq, capabilities) hidden."""
    if not text:
        return ""
    words = text[1:-1].split(" ", 1)
    name = words[0].upper()
    rest = words[1] if len(words) > 1 else ""
    if name in ("UIDVALIDITY", "HIGHESTMODSEQ"):
        return f"[{name} *]"
    if name == "CAPABILITY":
        return "[CAPABILITY *]"
    if name == "APPENDUID":
        return "[APPENDUID * " + sequence_set(rest.split(" ")[1]) + "]"
    if name == "COPYUID":
        parts = rest.split(" ")
        return "[COPYUID * " + " ".join(parts[1:]) + "]"
    if name == "PERMANENTFLAGS":
        return "[PERMANENTFLAGS " + flag_list(tree(tokens(rest))[0]) + "]"
    if name == "BADCHARSET":
        # RFC 3501 §7.1: the list of supported charsets is optional.
        return "[BADCHARSET]"
    if name == "MODIFIED":
        return "[MODIFIED " + sequence_set(rest) + "]"
    return "[" + name + (" " + rest if rest else "") + "]"


def status_line(prefix, status, rest):
    match = re.match(r"(\[[^\]]*\])?", rest, re.S)
    return f"{prefix} {status.upper()} {code(match.group(1))}".rstrip()


def fetch_items(body):
    nodes = tree(tokens(body))
    if len(nodes) != 1 or not isinstance(nodes[0], list):
        return render(nodes)
    items = nodes[0]
    pairs = []
    for index in range(0, len(items) - 1, 2):
        name = items[index].upper() if isinstance(items[index], str) else render(items[index])
        value = items[index + 1]
        if name == "FLAGS":
            value = flag_list(value)
        elif name == "INTERNALDATE" and isinstance(value, tuple):
            value = utc_date(value[1])
        elif name == "MODSEQ":
            value = "(*)"
        else:
            value = render(value)
        pairs.append(f"{name} {value}")
    return "(" + " ".join(sorted(pairs)) + ")"


SPECIAL_USE = {"\\all", "\\archive", "\\drafts", "\\flagged", "\\junk", "\\sent", "\\trash"}
CHILD_INFO = {"\\haschildren", "\\hasnochildren"}


def mailbox_name(node):
    """RFC 3501 §5.1: INBOX is case-insensitive, so a server may answer `inbox` as INBOX."""
    name = astring(node)
    return "INBOX" if name.upper() == "INBOX" else name


def list_drops(command):
    """Attributes a server MAY add to an extended LIST without being asked, so only compared when
    asked for: child information (RFC 5258 §4, "a server MAY provide it even if the option is not
    specified") and special use (RFC 6154 §2, returned on request; optional otherwise)."""
    upper = command.upper()
    if not upper.startswith("LIST"):
        return set()
    extended = upper.startswith("LIST (") or " RETURN " in upper or re.match(r'LIST "[^"]*" \(', upper)
    if not extended:
        return set()
    returns = upper.split(" RETURN ", 1)[1] if " RETURN " in upper else ""
    drops = set()
    if "CHILDREN" not in returns:
        drops |= CHILD_INFO
    if "SPECIAL-USE" not in upper:
        drops |= SPECIAL_USE
    return drops


def normalise_untagged(line, command=""):
    text = line[2:]
    match = re.match(r"(OK|NO|BAD|BYE|PREAUTH)\b ?(.*)", text, re.I | re.S)
    if match:
        return status_line("*", match.group(1), match.group(2))
    match = re.match(r"(\d+) FETCH (.*)", text, re.I | re.S)
    if match:
        return f"* {match.group(1)} FETCH {fetch_items(match.group(2))}"
    match = re.match(r"(SEARCH)\b ?(.*)", text, re.I | re.S)
    if match:
        rest = match.group(2)
        modseq = re.search(r"\(MODSEQ \d+\)", rest, re.I)
        numbers = sorted(int(n) for n in re.sub(r"\(MODSEQ \d+\)", "", rest, flags=re.I).split())
        return "* SEARCH" + "".join(f" {n}" for n in numbers) + (" (MODSEQ *)" if modseq else "")
    match = re.match(r"ESEARCH ?(.*)", text, re.I | re.S)
    if match:
        nodes = tree(tokens(match.group(1)))
        head = []
        if nodes and isinstance(nodes[0], list):
            head.append("(TAG *)")
            nodes = nodes[1:]
        if nodes and isinstance(nodes[0], str) and nodes[0].upper() == "UID":
            head.append("UID")
            nodes = nodes[1:]
        pairs = []
        for index in range(0, len(nodes) - 1, 2):
            name = nodes[index].upper()
            value = render(nodes[index + 1])
            if name == "ALL":
                value = sequence_set(value)
            if name == "MODSEQ":
                value = "*"
            pairs.append(f"{name} {value}")
        return " ".join(["* ESEARCH"] + head + sorted(pairs))
    match = re.match(r"(LIST|LSUB) (.*)", text, re.I | re.S)
    if match:
        nodes = tree(tokens(match.group(2)))
        # \Marked/\Unmarked (RFC 3501 §7.2.2) are optional hints; Dovecot gives \Unmarked from
        # its own Maildir timestamps, so it comes and goes with the second a folder was made in.
        drops = list_drops(command) | {"\\marked", "\\unmarked"}
        attributes = sorted(a.lower() for a in nodes[0] if isinstance(a, str) and a.lower() not in drops)
        attributes = "(" + " ".join(attributes) + ")"
        delimiter = render(nodes[1]) if len(nodes) > 1 else ""
        name = mailbox_name(nodes[2]) if len(nodes) > 2 else ""
        # RFC 5258 §9: an extended item's tag is an astring ("CHILDINFO" or CHILDINFO).
        extra = [
            "(" + " ".join([astring(n[0])] + [render(item) for item in n[1:]]) + ")"
            if isinstance(n, list) and n else render(n)
            for n in nodes[3:]
        ]
        return " ".join([f"* {match.group(1).upper()}", attributes, delimiter, name] + extra)
    match = re.match(r"STATUS (.*)", text, re.I | re.S)
    if match:
        nodes = tree(tokens(match.group(1)))
        name = mailbox_name(nodes[0])
        items = nodes[1] if len(nodes) > 1 and isinstance(nodes[1], list) else []
        pairs = []
        for index in range(0, len(items) - 1, 2):
            key = items[index].upper()
            value = "*" if key in ("UIDVALIDITY", "HIGHESTMODSEQ") else render(items[index + 1])
            pairs.append(f"{key} {value}")
        return f"* STATUS {name} (" + " ".join(sorted(pairs)) + ")"
    match = re.match(r"FLAGS (.*)", text, re.I | re.S)
    if match:
        return "* FLAGS " + flag_list(tree(tokens(match.group(1)))[0])
    match = re.match(r"CAPABILITY\b", text, re.I)
    if match:
        return "* CAPABILITY *"
    return "* " + " ".join(render(node) for node in tree(tokens(text)))


def normalise(command, untagged, tagged):
    """Both answers as comparable text: untagged lines sorted (RFC 3501 §7 fixes no order
    among them), human-readable text dropped, tags replaced."""
    lines = []
    fetches = {}
    for raw in untagged:
        line = raw.decode("utf-8", "surrogateescape")
        if not line.startswith("* "):
            lines.append(line)
            continue
        match = re.match(r"\* (\d+) FETCH \((.*)\)$", line, re.I | re.S)
        if match:
            # RFC 3501 §7.4.2: a message's data items may come in several FETCH responses.
            number = int(match.group(1))
            if number in fetches:
                fetches[number] += " " + match.group(2)
                continue
            fetches[number] = match.group(2)
            lines.append(number)
            continue
        if re.match(r"\* OK \[CLOSED\]", line, re.I):
            # RFC 7162 §3.2.11: [CLOSED] is owed to clients that enabled QRESYNC (Mailvox has none).
            continue
        lines.append(normalise_untagged(line, command))
    lines = [normalise_untagged(f"* {n} FETCH ({fetches[n]})") if isinstance(n, int) else n for n in lines]
    tag_rest = tagged.decode("utf-8", "surrogateescape").split(" ", 1)[1]
    match = re.match(r"(OK|NO|BAD)\b ?(.*)", tag_rest, re.I | re.S)
    final = status_line("T", match.group(1), match.group(2)) if match else "T " + tag_rest
    return "\n".join(sorted(lines) + [final])


# ---------------------------------------------------------------------------------------------
# The script: (id, parts). An id defaults to the command text.

SCRIPT = []


def add(command, *parts, label=None, keep=None):
    """Adds one exchange; `parts` continue the command after Literals. `keep` names a variable
    that holds, from then on, each server's {ms} as this exchange left it."""
    SCRIPT.append((label, [command, *parts], keep))


def build_script():
    # Authenticated state: folders, namespace, errors before selection.
    add("NAMESPACE")
    add("NOOP")
    add("ENABLE UNKNOWNEXT")
    add('LIST "" ""')
    add('LIST "" "*"')
    add('LSUB "" "*"')
    add("CREATE Work")
    add("CREATE Work/Projects")
    add("CREATE Archive")
    add("CREATE Archive/2024")
    add("CREATE Archive/2024/Q1")
    add("CREATE Trailing/")
    add('LIST "" "Trailing"')
    add("DELETE Trailing")
    add("CREATE Work")
    add("CREATE INBOX")
    add("CREATE inbox")
    add('CREATE "Bad*Name"')
    add('CREATE "Bad%Name"')
    add('DELETE "Bad*Name"')
    add('DELETE "Bad%Name"')
    add('CREATE "A//B"')
    add('CREATE "&AOQ-rger"')
    add("CREATE Errors")
    add("FETCH 1 FLAGS")
    add("EXPUNGE")
    add("CLOSE")
    add("SELECT Nonexistent")
    add("EXAMINE Nonexistent")
    add("STATUS Nonexistent (MESSAGES)")
    add('SELECT ""')
    add("LOGIN a b")
    add("BOGUS")
    add("NOOP extra")

    # The corpus, APPENDed with fixed flags and dates.
    for name, flags, date, data in CORPUS:
        add(f'APPEND INBOX {flags} "{date}" ', Literal(data), "", label=f"APPEND INBOX {name}")
    for name, flags, date, data in WORK_CORPUS:
        add(f'APPEND Work {flags} "{date}" ', Literal(data), "", label=f"APPEND Work {name}")
    add("APPEND Nonexistent ", Literal(simple("Subject: x\n")), "", label="APPEND Nonexistent")
    add('APPEND Errors (\\Bogus) ', Literal(simple("Subject: x\n")), "", label="APPEND bad flag")
    add('APPEND Errors "31-Feb-2024 00:00:00 +0000" ', Literal(simple("Subject: x\n")), "", label="APPEND bad date")
    add('APPEND Errors (\\Seen) "7-Feb-1994 21:52:25 -0800" ', Literal(simple("Subject: y\n")), "",
        label="APPEND one-digit day")
    add('APPEND Errors "07-Feb-1994 21:52:25" ', Literal(simple("Subject: x\n")), "", label="APPEND date without zone")
    add("DELETE Errors")

    # Folder lists.
    statuses = "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE)"
    for folder in ["INBOX", "Work", "Work/Projects", "Archive", "Archive/2024", "Archive/2024/Q1", "Saved", "Trash",
                   "Greetings", "inbox", '"work"']:
        add(f"STATUS {folder} {statuses}")
    add("STATUS INBOX (MESSAGES)")
    add("STATUS INBOX ()")
    add("STATUS INBOX (BOGUS)")
    for pattern in ['"" "*"', '"" "%"', '"" "Work/%"', '"Work/" "%"', '"Work" "%"', '"" "W*"', '"" "*s"',
                    '"" "inbox"', '"" "INBOX"', '"" "*/%"', '"" "Archive/%/%"', '"" "Nothing*"', '"Archive/" "*"',
                    '"" "%/%"', '"" "Ar%"']:
        add(f"LIST {pattern}")
        add(f"LSUB {pattern}")
    for options in ["(SUBSCRIBED)", "(SPECIAL-USE)", "(SUBSCRIBED RECURSIVEMATCH)", "(RECURSIVEMATCH)", "(REMOTE)",
                    "()", "(SUBSCRIBED REMOTE)", "(BOGUS)"]:
        add(f'LIST {options} "" "*"')
    for returns in ["(CHILDREN)", "(SUBSCRIBED)", "(SPECIAL-USE)", "(STATUS (MESSAGES UNSEEN))",
                    "(STATUS (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN SIZE))", "(SUBSCRIBED CHILDREN)", "()"]:
        add(f'LIST "" "*" RETURN {returns}')
    add('LIST "" ("INBOX" "Work/*")')
    add('LIST (SUBSCRIBED) "" ("Saved" "Trash") RETURN (CHILDREN)')
    add('LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)')
    add('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)')

    # Subscriptions.
    add("SUBSCRIBE Work/Projects")
    add("SUBSCRIBE Archive/2024/Q1")
    add("SUBSCRIBE NoSuchFolder")
    add('LSUB "" "NoSuch*"')
    add("UNSUBSCRIBE NoSuchFolder")
    add("UNSUBSCRIBE Greetings")
    add("UNSUBSCRIBE NeverSubscribed")
    add('LSUB "" "*"')
    add('LSUB "" "%"')
    add('LSUB "" "Archive/%"')
    add('LIST (SUBSCRIBED) "" "*"')
    add('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    add('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Archive/%"')
    add('LIST "" "*" RETURN (SUBSCRIBED)')
    add("SUBSCRIBE Greetings")

    # Rename and delete.
    add("CREATE Scratch/Child")
    add("RENAME Scratch Renamed")
    add('LIST "" "Renamed*"')
    add('LIST "" "Scratch*"')
    add("RENAME Nonexistent Other")
    add("RENAME Renamed Work")
    add("RENAME Renamed Renamed/Inside")
    add("DELETE Renamed/Child")
    add("DELETE Renamed")
    add("DELETE Renamed")
    add("DELETE INBOX")
    add("DELETE Nonexistent")
    add("CREATE Parent/Kid")
    add("DELETE Parent")
    add('LIST "" "Parent*"')
    add('LIST "" "%"')
    add('LIST "" "Parent/%"')
    add("DELETE Parent/Kid")
    add("DELETE Parent")
    add("CREATE Gone")
    add("SUBSCRIBE Gone")
    add("DELETE Gone")
    add('LIST (SUBSCRIBED) "" "Gone"')
    add('LSUB "" "Gone"')
    add("UNSUBSCRIBE Gone")

    # EXAMINE: read-only.
    add("EXAMINE INBOX")
    add("FETCH 1:* (FLAGS)")
    add("STORE 1 +FLAGS (\\Deleted)")
    add("EXPUNGE")
    add("FETCH 1 BODY[TEXT]")
    add("FETCH 1 FLAGS")
    add("COPY 1 Work")
    add("UNSELECT")

    # SELECT, then every FETCH item, per message where it tells messages apart.
    add("SELECT INBOX")
    # Dovecot counts modseqs only once CONDSTORE is on; from here both have real ones.
    add("SELECT INBOX (CONDSTORE)")
    count = len(CORPUS)
    for item in ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "UID", "ENVELOPE", "BODY", "BODYSTRUCTURE", "ALL", "FAST",
                 "FULL"]:
        add(f"FETCH 1:* {item}")
    for number in range(1, count + 1):
        add(f"FETCH {number} (ENVELOPE)")
        add(f"FETCH {number} (BODYSTRUCTURE)")
        add(f"FETCH {number} (BODY.PEEK[HEADER])")
        add(f"FETCH {number} (BODY.PEEK[TEXT])")
    for section in ["1", "1.MIME", "2", "2.MIME", "1.1", "1.2", "1.2.1", "1.2.2", "1.2.2.MIME", "2.HEADER",
                    "2.TEXT", "2.1", "2.2", "2.2.MIME", "3", "3.MIME", "4", "9", "1.TEXT", "2.HEADER.FIELDS (SUBJECT)"]:
        add(f"FETCH 12 (BODY.PEEK[{section}])")
    for number in (1, 13, 14, 16):
        add(f"FETCH {number} (BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[1.MIME] BODY.PEEK[2.MIME])")
    add("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (From Subject Date)])")
    add("FETCH 1:* (BODY.PEEK[HEADER.FIELDS.NOT (Received Message-ID From To Cc Subject Date)])")
    add("FETCH 1:3 (BODY.PEEK[HEADER.FIELDS (X-Nonexistent)])")
    add("FETCH 1 (BODY.PEEK[]<0.20>)")
    add("FETCH 1 (BODY.PEEK[]<20.30>)")
    add("FETCH 1 (BODY.PEEK[]<100000.10>)")
    add("FETCH 1 (BODY.PEEK[TEXT]<5.10>)")
    add("FETCH 1 (BODY.PEEK[HEADER]<0.0>)")
    add("FETCH 12 (BODY.PEEK[1.2.1]<3.7>)")
    add("FETCH 1 (RFC822.HEADER)")
    add("FETCH 2 (RFC822.TEXT)")
    add("FETCH 3 (RFC822)")
    add("FETCH 4 (BODY[])")
    add("FETCH 5 (BODY[HEADER])")
    add("FETCH 6 (BODY[1])")
    add("FETCH 1:* (FLAGS)")
    add("FETCH 1 (UID RFC822.SIZE FLAGS INTERNALDATE ENVELOPE)")
    add("FETCH 2,4,6 (UID)")
    add("FETCH 3:1 (UID)")
    add("FETCH * (UID)")
    add("FETCH 1 (MODSEQ)")
    add("FETCH 1:* (MODSEQ)")
    add("UID FETCH 1:* (FLAGS)")
    add("UID FETCH 5 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    add("UID FETCH 100:* (UID)")
    add("UID FETCH 999 (UID)")
    add("UID FETCH 3,1,2 (UID)")
    add("FETCH 0 (FLAGS)")
    add("FETCH 99 (FLAGS)")
    add("FETCH 1 (BOGUS)")
    add("FETCH 1 (BODY[HEADER.FIELDS])")
    add("FETCH 1 BODY[")
    add("FETCH 1:* (BODY.PEEK[1]<0.5>)")

    # SEARCH: every key.
    keys = [
        "ALL", "ANSWERED", "UNANSWERED", "DELETED", "UNDELETED", "DRAFT", "UNDRAFT", "FLAGGED", "UNFLAGGED",
        "SEEN", "UNSEEN", "NEW", "OLD", "RECENT", "KEYWORD $Forwarded", "KEYWORD Custom1", "KEYWORD custom1",
        "UNKEYWORD Custom1", 'FROM "Real Name"', "FROM user@domain", 'FROM "user@domain"',
        "FROM juergen", 'FROM "Jürgen"', "FROM caller", "FROM +4930123456", 'FROM "b.org"', "FROM example",
        'TO "Doe, John"', "TO group", "TO Team", "TO z@y.example", 'TO "Anna"', "CC carol", "CC undisclosed",
        'CC "M\\"uller"', "BCC hidden", "BCC nobody", 'SUBJECT "Quoted names"', "SUBJECT grüße",
        'SUBJECT "Grüße aus"', "SUBJECT voicemail", 'HEADER Message-ID "<comment-name@example.com>"',
        'HEADER X-Custom ""', 'HEADER X-Custom needle', 'HEADER X-Priority 1', 'HEADER Subject ""',
        'BODY "lazy dog"', "BODY findme", "BODY München", "BODY voicemail", "BODY SUQzBAAAAAAAI1RTU0UAAAAP",
        "BODY html", "TEXT findme", "TEXT Comment", 'TEXT "needle-in-header"', "TEXT grüße", "LARGER 1000",
        "SMALLER 500", "LARGER 5000", "SMALLER 100000", "UID 2:4", "UID 1,3,5", "UID *", "UID 100:*",
        "1:3", "*", "2,4,6", "3:*", "OR SEEN FLAGGED", "NOT SEEN", "NOT NOT SEEN", "(SEEN FLAGGED)",
        "OR (SEEN FLAGGED) DRAFT", "OR OR ANSWERED DRAFT FLAGGED", "SEEN NOT FLAGGED UNDRAFT",
        "SENTON 7-Feb-1994", "SENTON 1-Jan-2024", "SENTON 31-Dec-1998", "SENTON 29-Feb-2020", "SENTON 15-Jun-2005",
        "SENTON 1-Jan-1999", "SENTON 13-Oct-2023", "SENTBEFORE 1-Jan-2000 NOT UID 7", "SENTBEFORE 1-Jan-2024",
        "SENTSINCE 1-Jan-2024", "SENTSINCE 2-Jan-2024", "SENTSINCE 1-Jan-1900 NOT UID 10:11",
        "SENTSINCE 1-Jan-1900 UID 10:11", "SENTBEFORE 1-Jan-1900",
        "ON 7-Feb-1994", "ON 31-Dec-1998", "ON 1-Jan-2024", "ON 31-Dec-2023", "BEFORE 1-Jan-2000",
        "SINCE 1-Jan-2024", "SINCE 5-Jan-2024", "BEFORE 5-Jan-2024", 'SINCE "1-Jan-2024"', "ON 08-Jan-2024",
        "SENTSINCE 03-Jan-2024 SENTBEFORE 06-Jan-2024",
        "MODSEQ 1", 'MODSEQ "/flags/\\\\Seen" all 1', "NOT MODSEQ 1",
        "CHARSET UTF-8 SUBJECT Grüße", "CHARSET US-ASCII ALL", "CHARSET KOI8-R ALL", "CHARSET BOGUS-9 ALL",
        "BOGUS", "0", "99", "1:99", "SENTON 32-Jan-2024", "LARGER x", "HEADER", "", "UID 0", "OR SEEN",
        "SEEN FLAGGED)", "(SEEN",
    ]
    for key in keys:
        add(f"SEARCH {key}".rstrip())
    for key in ["ALL", "SEEN", "UID 2:4", "NOT SEEN", "FROM example", "99", "1:99", "UID 999"]:
        add(f"UID SEARCH {key}")
    add("SEARCH CHARSET UTF-8 SUBJECT ", Literal("Grüße".encode("utf-8")), "", label="SEARCH CHARSET UTF-8 literal")
    add("SEARCH CHARSET ISO-8859-1 SUBJECT ", Literal("Grüße".encode("latin-1")), "",
        label="SEARCH CHARSET ISO-8859-1 literal")
    for returns in ["(MIN MAX COUNT ALL)", "(MIN)", "(MAX)", "(COUNT)", "(ALL)", "()", "(MIN MAX)", "(BOGUS)"]:
        add(f"SEARCH RETURN {returns} SEEN")
        add(f"UID SEARCH RETURN {returns} SEEN")
        add(f"SEARCH RETURN {returns} SUBJECT nothing-matches-this")
    add("SEARCH RETURN (MIN MAX COUNT ALL) MODSEQ 1")
    add("SEARCH RETURN (ALL) NOT SEEN")

    # STORE: flags, keywords, .SILENT, UNCHANGEDSINCE.
    add("STORE 1 +FLAGS (\\Flagged)")
    add("STORE 1 -FLAGS (\\Flagged)")
    add("STORE 2 FLAGS (\\Seen NewKeyword)")
    add("STORE 2:3 +FLAGS.SILENT (\\Answered)")
    add("STORE 3 -FLAGS.SILENT (\\Answered)")
    add("STORE 4 +FLAGS (Another $Label1)")
    add("STORE 4 -FLAGS (another)")
    add("STORE 4 -FLAGS (Another)")
    add("STORE 5 +FLAGS \\Draft")
    add("STORE 5 FLAGS ()")
    add("STORE 6 +FLAGS (\\Recent)")
    add("STORE 6 +FLAGS (\\Bogus)")
    add("STORE 6 +FLAGS (\\Seen \\Seen)")
    add("STORE 99 +FLAGS (\\Seen)")
    add("STORE 1 BOGUS (\\Seen)")
    add("STORE 1 +FLAGS (\\Flagged")
    add("FETCH 1:* (FLAGS)")
    add("UID STORE 7 +FLAGS (\\Flagged)")
    add("UID STORE 999 +FLAGS (\\Flagged)")
    add("UID STORE 7:8 FLAGS.SILENT (\\Seen)")
    add("STORE 1 (UNCHANGEDSINCE 1) +FLAGS (\\Flagged)")
    add("STORE 1 (UNCHANGEDSINCE {hms}) +FLAGS (\\Flagged)")
    add("STORE 1:3 (UNCHANGEDSINCE 1) -FLAGS.SILENT (\\Flagged)")
    add("UID STORE 1:2 (UNCHANGEDSINCE {hms}) FLAGS (\\Seen)")
    add("STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Flagged)")
    add("FETCH 1:* (FLAGS MODSEQ)")
    add("FETCH 1:* (FLAGS) (CHANGEDSINCE 1)")
    add("FETCH 1:* (FLAGS) (CHANGEDSINCE {hms})")
    add("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)")
    add("SEARCH KEYWORD NewKeyword")
    add("SEARCH KEYWORD $Label1")
    add("SEARCH UNKEYWORD NewKeyword")
    add("SEARCH RETURN (MIN MAX) MODSEQ 1")
    # Modseqs compared by what they select: {ms} is the modseq the first STORE below gave.
    add("STORE 9 +FLAGS (\\Flagged)", keep="first")
    add("SEARCH MODSEQ {first}")
    add("STORE 10 +FLAGS (\\Flagged)")
    add("SEARCH MODSEQ {first}", label="SEARCH MODSEQ {first} after a second STORE")
    add("FETCH 1:* (UID) (CHANGEDSINCE {first})")
    add("STORE 9:10 -FLAGS.SILENT (\\Flagged)")
    add("SEARCH RETURN (MIN MAX COUNT) MODSEQ {first}")
    add("NOOP")

    # COPY and MOVE.
    add("COPY 1:3 Work")
    add("UID COPY 4,6 Work")
    add("COPY 1 Nonexistent")
    add("COPY 99 Work")
    add("UID COPY 999 Work")
    add("STATUS Work (MESSAGES UIDNEXT UNSEEN RECENT)")
    add("MOVE 2 Saved")
    add("UID MOVE 5:6 Saved")
    add("MOVE 1 Nonexistent")
    add("UID MOVE 999 Saved")
    add("APPEND INBOX () \"09-Jan-2024 09:00:00 +0000\" ", Literal(simple("Subject: appended while selected\n")), "",
        label="APPEND to the selected folder")
    add("NOOP", label="NOOP after APPEND")
    add("COPY 1 INBOX")
    add("NOOP", label="NOOP after COPY")
    add("MOVE 1 INBOX")
    add("NOOP", label="NOOP after MOVE")
    add("STATUS Saved (MESSAGES UIDNEXT UNSEEN RECENT)")
    add("FETCH 1:* (UID FLAGS)")

    # EXPUNGE.
    add("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    add("UID EXPUNGE 1:3")
    add("FETCH 1:* (UID)")
    add("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
    add("EXPUNGE")
    add("EXPUNGE")
    add("UID EXPUNGE 999")
    add("FETCH 1:* (UID)")
    add("SEARCH ALL")
    add("STATUS INBOX (MESSAGES UIDNEXT UNSEEN RECENT)")

    # SELECT (CONDSTORE) and ENABLE.
    add("SELECT Work (CONDSTORE)")
    add("FETCH 1:* (UID FLAGS)")
    add("STORE 1 +FLAGS.SILENT (\\Deleted)")
    add("CLOSE")
    add("STATUS Work (MESSAGES)")
    add("SELECT Work (BOGUS)")
    add("ENABLE CONDSTORE")
    add("SELECT Saved")
    add("FETCH 1:* (UID FLAGS)")
    add("STORE 1 +FLAGS.SILENT (\\Deleted)")
    add("UNSELECT")
    add("STATUS Saved (MESSAGES)")
    add("UNSELECT")
    add("CLOSE")
    add("EXAMINE Saved")
    add("CLOSE")
    add("STATUS Saved (MESSAGES)")

    # RENAME, INBOX's, and the protected folders.
    add('LIST "" "*" RETURN (CHILDREN SUBSCRIBED SPECIAL-USE)')
    add("RENAME Work/Projects Work/Done")
    add('LIST "" "Work*"')
    add('LSUB "" "Work*"')
    add("RENAME INBOX Old-Inbox")
    add("STATUS INBOX (MESSAGES)")
    add("STATUS Old-Inbox (MESSAGES)")
    add("RENAME Trash Bin")
    add("DELETE Trash")
    add("NAMESPACE")

    # Keywords that exist nowhere, last: Dovecot adds a searched keyword to the folder's list.
    add("SELECT Work")
    add("SEARCH KEYWORD NoSuchKeyword")
    add("SEARCH UNKEYWORD NoSuchKeyword")
    add("SEARCH RETURN (COUNT) KEYWORD NoSuchKeyword")


# ---------------------------------------------------------------------------------------------


def run(host, port, cafile, user, password):
    build_script()
    ours, close_ours = mailvox(host, port, cafile, user, password)
    theirs, close_theirs = dovecot()
    try:
        return compare(ours, theirs)
    finally:
        close_ours()
        close_theirs()


def compare(ours, theirs):
    dump = open(os.environ["DIFFERENTIAL_DUMP"], "w", errors="backslashreplace") if os.environ.get("DIFFERENTIAL_DUMP") else None
    seen = {}
    results = {"match": 0, "listed": 0, "defect": 0, "unlisted": 0, "fixed": 0}
    current = {"id": None}

    def watchdog():
        print(f"TIMEOUT during {current['id']!r}", flush=True)
        os._exit(2)

    timer = threading.Timer(45, watchdog)
    timer.daemon = True
    timer.start()
    for label, parts, keep in SCRIPT:
        ident = label or "".join(p for p in parts if isinstance(p, str))
        seen[ident] = seen.get(ident, 0) + 1
        if seen[ident] > 1:
            ident = f"{ident} #{seen[ident]}"
        current["id"] = ident
        answers = []
        for connection in (ours, theirs):
            untagged, tagged = connection.command(parts)
            # Each server's own modseqs, for commands that name one: {hms} the last HIGHESTMODSEQ,
            # {ms} the last MODSEQ a FETCH reported.
            for line in untagged + [tagged]:
                found = re.search(rb"HIGHESTMODSEQ (\d+)", line)
                if found:
                    connection.variables["hms"] = found.group(1).decode()
                found = re.match(rb"\* \d+ FETCH .*MODSEQ \((\d+)\)", line, re.S)
                if found:
                    connection.variables["ms"] = found.group(1).decode()
            if keep:
                connection.variables[keep] = connection.variables.get("ms", "1")
            answers.append(normalise(ident, untagged, tagged))
        answers = loosen(answers)
        same = answers[0] == answers[1]
        if dump:
            dump.write(f"=== {ident} {'same' if same else 'DIFFERENT'}\n--- mailvox\n{answers[0]}\n--- dovecot\n"
                       f"{answers[1]}\n")
        if same:
            results["match"] += 1
            if ident in DEFECTS:
                results["fixed"] += 1
                print(f"FIXED {ident}: matches Dovecot now; remove it from DEFECTS")
            elif ident in KNOWN_DIFFERENCES:
                print(f"NOTE {ident}: listed as a known difference but matches")
            elif ident in INTERMITTENT_DEFECTS:
                print(f"NOTE {ident}: an intermittent defect, not seen this run")
            continue
        both = f"\n  mailvox: {indent(answers[0])}\n  dovecot: {indent(answers[1])}"
        if ident in DEFECTS or ident in INTERMITTENT_DEFECTS:
            results["defect"] += 1
            print(f"DEFECT {ident}: {DEFECTS.get(ident) or INTERMITTENT_DEFECTS[ident]}{both}")
        elif ident in KNOWN_DIFFERENCES:
            results["listed"] += 1
            print(f"LISTED {ident}: {KNOWN_DIFFERENCES[ident]}")
        else:
            results["unlisted"] += 1
            print(f"UNLISTED {ident}{both}")
    timer.cancel()
    for connection in (ours, theirs):
        try:
            connection.command(["LOGOUT"])
        except (EOFError, OSError):
            pass
    if dump:
        dump.close()
    total = len(SCRIPT)
    print(
        f"{total} exchanges, {results['match']} match, {results['listed']} listed differences, "
        f"{results['defect']} defects, {results['unlisted']} unlisted"
    )
    return 1 if results["unlisted"] or results["fixed"] else 0


def loosen(answers):
    """RFC 5530 §3: response codes are optional, so when both servers refuse with the same status
    and only one names a code, the code is not compared."""
    ours, theirs = (answer.rsplit("\n", 1) if "\n" in answer else ["", answer] for answer in answers)
    a, b = ours[1], theirs[1]
    status = lambda line: line.split(" ")[1] if " " in line else line
    if a != b and status(a) == status(b) and status(a) in ("NO", "BAD") and (a.count(" ") == 1 or b.count(" ") == 1):
        plain = "T " + status(a)
        return [(ours[0] + "\n" if ours[0] else "") + plain, (theirs[0] + "\n" if theirs[0] else "") + plain]
    return answers


def indent(text):
    return text.replace("\n", "\n           ")


if __name__ == "__main__":
    sys.stdout.reconfigure(errors="backslashreplace")
    if len(sys.argv) != 6:
        print(__doc__)
        sys.exit(2)
    try:
        sys.exit(run(*sys.argv[1:6]))
    except (EOFError, OSError, AssertionError) as error:
        print(f"ERROR: {error!r}", flush=True)
        sys.exit(2)
