"""ACL and NAMESPACE differential (#16): departments against Dovecot's acl and imap_acl plugins.

The same logins ask both servers the same questions about a shared department mailbox: what
NAMESPACE and LIST show, what MYRIGHTS, GETACL and LISTRIGHTS answer, what SETACL and DELETEACL
do, and what a member may do inside (SELECT/EXAMINE, STORE, EXPUNGE, APPEND, CREATE, DELETE,
RENAME, COPY) with and without the rights each needs. Each answer is normalised (differential.py's
normalisation, plus the rights below) and compared. A difference must be listed with its RFC
reason in KNOWN_DIFFERENCES (both answers allowed, or Mailvox differs on purpose) or in DEFECTS
(Mailvox wrong by the RFC: reported as a known issue until fixed).

Usage: acl_differential.py HOST TLS_PORT CAFILE PASSWORD
Mailvox (`mailvox serve`) is reached over implicit TLS with LOGIN, every login with PASSWORD, and
must already hold the mailboxes and memberships of MAILBOXES and MEMBERS (ACLDifferentialTests
makes them with `mailbox add` and `mailbox member add`). Dovecot runs `imap` pre-authenticated
as each user in turn (setpriv to nobody, a throwaway config and Maildirs in a temp dir; needs
root); its owner 2100 grants the same rights with SETACL on every folder, as Dovecot keeps an
access list per folder. Both owners APPEND the same messages to their INBOX first.
(`doveadm exec imap`, which differential.py uses, would not do: the imap it execs gets doveadm's
settings, where `protocol imap { mail_plugins = $mail_plugins imap_acl }` does not apply, and a
global imap_acl fails to load into doveadm itself. The imap binary doveadm would exec is run
directly with -c, and reads `protocol imap`.)
Set DIFFERENTIAL_DUMP=FILE to write every exchange with both normalised answers.

Naming: Mailvox names a department's level `Shared/<id> <name>`, Dovecot's shared namespace
`Shared/<user>`; commands use {s} (each server's name for department 2100) and Mailvox's answers
have `Shared/<id> <name>` mapped to `Shared/<id>`. Rights strings are compared as sets (RFC 4314
gives no order), ACL entries sorted by identifier, LISTRIGHTS groups as sets. `* OK [HIGHESTMODSEQ
n]` is dropped (RFC 7162's, not this comparison's: Dovecot reports it once CONDSTORE was used on the
mailbox, Mailvox always). Each owner SELECTs its INBOX after the APPENDs, so \\Recent is spent alike
(Dovecot would spend it on a member's read-only SELECT, Mailvox not). The virtual rights c
and d (RFC 4314 §2.1.1) are compared on their own: an exchange whose answer holds rights is also
compared as `<id> [c d]`, which of c and d each rights string holds, so a missing c or d is one
difference and whatever else differs is another.

Output and exit status as differential.py: LISTED, DEFECT, UNLISTED (with both answers), FIXED,
and the summary line `N exchanges, M match, K listed differences, D defects, U unlisted` (N counts
the [c d] comparisons too). Exit 0 unless an unlisted difference exists or a defect is fixed; 2
when a server could not be driven.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import differential as base  # noqa: E402  (the Dovecot differential: connections, normalisation)

# Mailboxes both servers hold (id: display name) and the members of department 2100 with their
# rights, as ACLDifferentialTests sets them up: Ada administers, Bob only reads.
MAILBOXES = {"2100": "Support", "2101": "Sales", "2000": "Ada", "2001": "Bob", "2002": "Cy"}
DEPARTMENT = "2100"
MEMBERS = {"2000": "lrswiteka", "2001": "lr"}
FOLDERS = ["INBOX", "Saved", "Trash", "Greetings", "Recently Deleted"]

# ---------------------------------------------------------------------------------------------
# Where Mailvox differs from Dovecot and either answer is allowed, or Mailvox differs on purpose.
# Key: exchange id (`<login>: <command as sent, with {s}>`; ` #n` for the n-th repetition).

NAMESPACE_KIND = (
    "RFC 2342 §5: Mailvox announces Shared/ as the shared namespace (third), Dovecot as the other users' "
    "namespace (second). A department's mailbox is no person's: it is 'intended to be shared amongst users and "
    "[does] not exist within a user's Personal Namespace', the shared namespace's definition. Dovecot announces "
    "a type=shared namespace whose prefix holds %u (one level per user) as other users'"
)
LEVEL_INBOX = (
    "the department's INBOX: Mailvox lists the department's level (`Shared/2100 Support`, compared as "
    "Shared/2100) \\Noselect with the owner's folders below it under their own names, INBOX included; Dovecot "
    "lists another user's INBOX as the level itself (Shared/2100, selectable, \\HasChildren) and takes "
    "Shared/2100/INBOX only as another name for it. Neither RFC 2342 nor RFC 3501 names a shared INBOX"
)
PER_FOLDER = (
    "Mailvox keeps one access list per mailbox (docs/DEPARTMENTS.md), Dovecot one per folder: Ada's SETACL "
    "for Cy on {s}/INBOX made Cy a member of the whole department in Mailvox (every folder), of INBOX alone in "
    "Dovecot. RFC 4314 §2 leaves how rights are kept and combined to the server"
)
OWNER_IN_ACL = (
    "GETACL of the department: Mailvox lists the department's own id (the owner) with every right besides the "
    "members (RFC 4314 §3.6: the ACL's identifier-rights pairs, and the owner's are in it); Dovecot's owner "
    "rights are implicit, outside its ACL file, and a GETACL by anyone but the owner shows only the entries set"
)
OWNER_RIGHTS = (
    "LISTRIGHTS for a mailbox's owner: in Mailvox the owner always holds every right (no SETACL changes "
    "it), so all are the 'rights the identifier will always be granted' (RFC 4314 §3.7), none optional; "
    "Dovecot lets the owner's entry be changed and lists every right as optional"
)
HIDDEN = (
    "a mailbox the login holds no right in: Mailvox answers NO [NOPERM] for every name under Shared/ that is "
    "not a department the login is a member of, existing or not; Dovecot answers NO [NONEXISTENT] for both "
    "(Shared/2101 exists, Shared/9999 does not). RFC 4314 §6 asks that the answer be 'the same error that would "
    "be used if the mailbox did not exist', which each keeps; RFC 5530 §3 defines both codes"
)
LISTRIGHTS_NEEDS_A = (
    "LISTRIGHTS as a member without a: RFC 4314 §4 ('LISTRIGHTS - \"a\" right on the mailbox', and Appendix A "
    "item 8) refuses it, as Mailvox does (NO [NOPERM]); Dovecot answers it for anyone who may look the "
    "mailbox up"
)
PRIVATE_SEEN = (
    "\\Seen in a shared mailbox: Dovecot's INDEXPVT keeps it per user, so Ada's \\Seen on message 1 is hers "
    "alone; Mailvox keeps one \\Seen per department mailbox (a voicemail heard is heard for the team). RFC "
    "4314 §5.2 leaves which flags are shared to the server ('shared flag rights')"
)
READ_ONLY_STORE = (
    "STORE or EXPUNGE in a folder opened READ-ONLY (Bob has none of s, w, t, e, i): Mailvox answers NO "
    "[READ-ONLY] (RFC 5530 §3), Dovecot OK changing nothing. RFC 3501 §6.4.6 and §6.4.3 allow a NO ('permission "
    "denied'); RFC 4314 §4 only asks that STORE not fail while one of its flags may be changed, and none may"
)
NO_FLAG_RIGHT = (
    "STORE of only flags the member may not change (Cy has s, not w): Mailvox answers NO [NOPERM], Dovecot OK "
    "changing nothing. RFC 4314 §4: the server 'MUST check' w for flags other than \\Seen and \\Deleted; its "
    "'SHOULD NOT fail' covers a STORE with at least one flag the user may change, which this is not"
)
CREATE_PARENT = (
    "CREATE below the department by a member with k: Mailvox makes the folder in the department's mailbox "
    "(RFC 4314 §4: '\"k\" right on a nearest existing parent mailbox', here the department, whose one list gives "
    "Ada k). Dovecot asks for k on the new folder's parent in the owner's hierarchy, for a top-level folder the "
    "owner's root, which the SETACLs on each folder did not reach (per-folder lists again)"
)
IDENTIFIERS = (
    "an identifier that is no mailbox: Mailvox's access lists hold mailbox ids only (docs/DEPARTMENTS.md) and "
    "refuses others with NO [NOPERM]; Dovecot takes any name. RFC 4314 §2: identifiers other than anyone and "
    "the logins 'are interpreted in an implementation-defined manner', and §3.1 allows 'NO - setacl failure: "
    "can't set acl'"
)
ANYONE = (
    "anyone: both refuse it, Mailvox with NO [NOPERM], Dovecot with BAD (its acl_anyone = deny). RFC 4314 §2 "
    "reserves the identifier but requires no server to take it; §6 warns against granting it"
)
NEGATIVE = (
    "negative rights (-2001): 'Server implementations are not required to support \"negative right\" "
    "identifiers' (RFC 4314 §2). Mailvox does not (NO [NOPERM]); Dovecot does. It is set on Trash, which no "
    "later exchange reads"
)
SHARED_STORE_SEEN = PRIVATE_SEEN + "; Cy's STORE -\\Seen changes a seen message in Mailvox, an unseen one in Dovecot"

KNOWN_DIFFERENCES = {
    "bob: NAMESPACE": NAMESPACE_KIND,
    "ada: NAMESPACE": NAMESPACE_KIND,
    "cy: NAMESPACE": NAMESPACE_KIND,
    'bob: LIST "" "*"': LEVEL_INBOX,
    'bob: LIST "" "Shared/%"': LEVEL_INBOX,
    'bob: LIST "" "Shared/%/%"': LEVEL_INBOX,
    'bob: LIST "Shared/" "%"': LEVEL_INBOX,
    'bob: LSUB "" "Shared/*"': LEVEL_INBOX + ", so SUBSCRIBE {s}/INBOX subscribes Shared/2100 in Dovecot",
    'ada: LIST "" "Shared/*"': LEVEL_INBOX,
    'cy: LIST "" "Shared/*"': LEVEL_INBOX + ". And " + PER_FOLDER,
    "bob: LISTRIGHTS INBOX 2001": OWNER_RIGHTS,
    'ada: LISTRIGHTS "{s}/INBOX" 2100': OWNER_RIGHTS,
    'bob: LISTRIGHTS "{s}/INBOX" 2001': LISTRIGHTS_NEEDS_A,
    'bob: MYRIGHTS "Shared/2101/INBOX"': HIDDEN,
    'bob: GETACL "Shared/2101/INBOX"': HIDDEN,
    'bob: GETACL "Shared/9999/INBOX"': HIDDEN,
    'ada: SETACL "Shared/2101/INBOX" 2000 lrswi': HIDDEN,
    "bob: STORE 1 +FLAGS (\\Seen)": READ_ONLY_STORE,
    "bob: STORE 1 +FLAGS (\\Deleted)": READ_ONLY_STORE,
    "bob: EXPUNGE": READ_ONLY_STORE,
    'ada: GETACL "{s}/INBOX"': OWNER_IN_ACL,
    'ada: GETACL "{s}/INBOX" #2': OWNER_IN_ACL,
    'ada: GETACL "{s}/INBOX" #3': OWNER_IN_ACL,
    'ada: GETACL "{s}/INBOX" #4': OWNER_IN_ACL,
    'ada: GETACL "{s}/INBOX" #5': OWNER_IN_ACL + " (after SETACL with c and d, which both read as k and x t e)",
    'ada: GETACL "{s}/INBOX" #6': OWNER_IN_ACL,
    'ada: GETACL "{s}/Saved"': OWNER_IN_ACL + ". And " + PER_FOLDER,
    'cy: MYRIGHTS "{s}/Saved"': PER_FOLDER,
    'ada: SETACL "{s}/INBOX" 9999 lr': IDENTIFIERS,
    'ada: DELETEACL "{s}/INBOX" 9999': IDENTIFIERS,
    'ada: SETACL "{s}/INBOX" anyone lr': ANYONE,
    'ada: SETACL "{s}/Trash" -2001 r': NEGATIVE,
    'ada: CREATE "{s}/Projects"': CREATE_PARENT,
    'cy: SELECT "{s}/INBOX"': PRIVATE_SEEN + " (UNSEEN)",
    "cy: FETCH 1:* (FLAGS)": PRIVATE_SEEN,
    "cy: STORE 1 -FLAGS (\\Seen)": SHARED_STORE_SEEN,
    "cy: STORE 2 +FLAGS (\\Flagged)": NO_FLAG_RIGHT,
}

# Mailvox keeps one access list per mailbox, so a SETACL or DELETEACL on one folder changes the
# list of every folder of the mailbox; RFC 4314 §3.1 wants those side effects announced.
SIDE_EFFECTS = (
    "RFC 4314 §3.1 (SETACL): a server whose SETACL changes the ACL of other mailboxes as a side effect sends "
    "untagged ACL responses for them. Mailvox keeps one list per mailbox, so each other folder of the mailbox is "
    "announced; Dovecot keeps a list per folder and changes only the one named"
)
for _ident in [
    'ada: SETACL "{s}/INBOX" 2002 lr', 'ada: SETACL "{s}/INBOX" 2002 +sw', 'ada: SETACL "{s}/INBOX" 2002 -w',
    'ada: DELETEACL "{s}/INBOX" 2002', 'ada: SETACL "{s}/INBOX" 2002 lrcd', 'ada: SETACL "{s}/INBOX" 2002 lrs',
    "ada: SETACL INBOX 2001 lr", "ada: DELETEACL INBOX 2001",
]:
    KNOWN_DIFFERENCES[_ident] = SIDE_EFFECTS

# Mailvox defects still open (Mailvox wrong by the RFC): reported as known issues until fixed.
DEFECTS = {
    # Fixed: MYRIGHTS, ACL and LISTRIGHTS now carry the obsolete c and d (RFC 4314 §2.1.1), and a
    # STORE sets the flags the rights allow and leaves the others (RFC 4314 §4 SHOULD NOT fail).
}

# ---------------------------------------------------------------------------------------------
# The script: per login, the exchanges compared. {s} is the department's level in each server.

MESSAGES = [
    ("()", "01-Feb-2024 10:00:00 +0000", base.simple("From: caller1@example.com\nSubject: First call\n")),
    ("()", "02-Feb-2024 10:00:00 +0000", base.simple("From: caller2@example.com\nSubject: Second call\n")),
    (r"(\Answered)", "03-Feb-2024 10:00:00 +0000", base.simple("From: caller3@example.com\nSubject: Third call\n")),
]


def append(mailbox, flags="()", subject="Appended by a member"):
    return [f'APPEND "{mailbox}" {flags} "05-Feb-2024 10:00:00 +0000" ',
            base.Literal(base.simple(f"From: member@example.com\nSubject: {subject}\n")), ""]


SESSIONS = []


def session(name, user, commands):
    SESSIONS.append((name, user, commands))


# Bob (2001) reads: lr in 2100, nothing in 2101.
session("bob", "2001", [
    "NAMESPACE",
    'LIST "" "*"',
    'LIST "" "%"',
    'LIST "" "Shared/%"',
    'LIST "" "Shared/%/%"',
    'LIST "Shared/" "%"',
    'LSUB "" "*"',
    'MYRIGHTS "{s}/INBOX"',
    'MYRIGHTS "{s}/Saved"',
    "MYRIGHTS INBOX",
    "GETACL INBOX",
    "LISTRIGHTS INBOX 2001",
    'GETACL "{s}/INBOX"',
    'LISTRIGHTS "{s}/INBOX" 2001',
    'SETACL "{s}/INBOX" 2001 lrswi',
    'SETACL "{s}/INBOX" 2002 lr',
    'DELETEACL "{s}/INBOX" 2001',
    'STATUS "{s}/INBOX" (MESSAGES UNSEEN)',
    'SELECT "{s}/INBOX"',
    "FETCH 1:* (FLAGS)",
    "STORE 1 +FLAGS (\\Seen)",
    "STORE 1 +FLAGS (\\Deleted)",
    "EXPUNGE",
    "COPY 1 INBOX",
    "STATUS INBOX (MESSAGES)",
    "CLOSE",
    'EXAMINE "{s}/INBOX"',
    "UNSELECT",
    append("{s}/INBOX"),
    'CREATE "{s}/Projects"',
    'DELETE "{s}/Greetings"',
    'RENAME "{s}/Greetings" "{s}/Old"',
    'SUBSCRIBE "{s}/INBOX"',
    'LSUB "" "Shared/*"',
    'UNSUBSCRIBE "{s}/INBOX"',
    'SELECT "Shared/2101/INBOX"',
    'MYRIGHTS "Shared/2101/INBOX"',
    'GETACL "Shared/2101/INBOX"',
    'STATUS "Shared/2101/INBOX" (MESSAGES)',
    'LIST "" "Shared/2101/*"',
    'SELECT "Shared/9999/INBOX"',
    'GETACL "Shared/9999/INBOX"',
])

# Ada (2000) administers: lrswiteka (no p, no x).
session("ada", "2000", [
    "NAMESPACE",
    'LIST "" "Shared/*"',
    'MYRIGHTS "{s}/INBOX"',
    'MYRIGHTS "{s}/Saved"',
    "MYRIGHTS INBOX",
    'GETACL "{s}/INBOX"',
    'LISTRIGHTS "{s}/INBOX" 2001',
    'LISTRIGHTS "{s}/INBOX" 2000',
    'LISTRIGHTS "{s}/INBOX" 2100',
    # SETACL: Cy (2002) becomes a member; rights replaced, added to, taken from.
    'SETACL "{s}/INBOX" 2002 lr',
    'GETACL "{s}/INBOX"',
    'SETACL "{s}/INBOX" 2002 +sw',
    'SETACL "{s}/INBOX" 2002 -w',
    'GETACL "{s}/INBOX"',
    'GETACL "{s}/Saved"',
    'MYRIGHTS "{s}/Saved"',
    # Refusals: unknown rights, identifiers that are no mailbox, anyone, negative rights.
    'SETACL "{s}/INBOX" 2002 lrq',
    'SETACL "{s}/INBOX" 2002 LR',
    'SETACL "{s}/INBOX" 9999 lr',
    'SETACL "{s}/INBOX" anyone lr',
    'SETACL "{s}/Trash" -2001 r',
    'DELETEACL "{s}/INBOX" 9999',
    # DELETEACL ends the membership, SETACL with c and d (RFC 2086's rights) brings it back.
    'DELETEACL "{s}/INBOX" 2002',
    'GETACL "{s}/INBOX"',
    'SETACL "{s}/INBOX" 2002 lrcd',
    'GETACL "{s}/INBOX"',
    'SETACL "{s}/INBOX" 2002 lrs',
    'GETACL "{s}/INBOX"',
    # Ada's own mailbox: she is its owner and may share it.
    "GETACL INBOX",
    "SETACL INBOX 2001 lr",
    "GETACL INBOX",
    "DELETEACL INBOX 2001",
    'SETACL "Shared/2101/INBOX" 2000 lrswi',
    'EXAMINE "Shared/2101/INBOX"',
    # In the folder: every right she holds works, x is missing.
    'SELECT "{s}/INBOX"',
    "FETCH 1:* (FLAGS)",
    "STORE 1 +FLAGS (\\Seen)",
    "STORE 2 +FLAGS (\\Flagged $Urgent)",
    "STORE 3 +FLAGS (\\Deleted)",
    "EXPUNGE",
    "FETCH 1:* (FLAGS)",
    "COPY 1 INBOX",
    append("{s}/INBOX", r"(\Seen \Flagged)", "Appended by Ada"),
    "NOOP",
    "UNSELECT",
    'CREATE "{s}/Projects"',
    'DELETE "{s}/Greetings"',
    'RENAME "{s}/Greetings" "{s}/Old"',
])

# Cy (2002) is a member since Ada's SETACL: lrs on INBOX.
session("cy", "2002", [
    "NAMESPACE",
    'LIST "" "Shared/*"',
    'MYRIGHTS "{s}/INBOX"',
    'MYRIGHTS "{s}/Saved"',
    'SELECT "{s}/INBOX"',
    "FETCH 1:* (FLAGS)",
    "STORE 1 -FLAGS (\\Seen)",
    "STORE 2 +FLAGS (\\Seen \\Flagged)",
    "STORE 2 +FLAGS (\\Flagged)",
    "UNSELECT",
    append("{s}/INBOX"),
])

# ---------------------------------------------------------------------------------------------
# Dovecot.

DOVECOT_CONF = r"""log_path = {dir}/dovecot.log
ssl = no
mail_home = {dir}/home/%u
mail_location = maildir:~/Mail:LAYOUT=fs
mail_plugins = acl
protocol imap {{
  mail_plugins = $mail_plugins imap_acl
}}
plugin {{
  acl = vfile
  acl_shared_dict = file:{dir}/shared-mailboxes
}}
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
  mailbox "Recently Deleted" {{
    auto = create
  }}
}}
# Other users' mailboxes. The paths name the owner (%%u) outright: a %%h would ask the userdb
# (auth-userdb socket) for the owner's home, and no Dovecot service runs.
namespace shared {{
  type = shared
  separator = /
  prefix = Shared/%%u/
  location = maildir:{dir}/home/%%u/Mail:LAYOUT=fs:INDEXPVT={dir}/home/%u/Mail/shared/%%u
  subscriptions = no
  list = children
}}
"""


class Dovecot:
    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="mvx-acl-differential-")
        os.chmod(self.directory, 0o777)
        for user in MAILBOXES:
            os.makedirs(os.path.join(self.directory, "home", user, "Mail"))
        subprocess.run(["chown", "-R", "nobody", os.path.join(self.directory, "home")], check=True)
        self.config = os.path.join(self.directory, "dovecot.conf")
        with open(self.config, "w") as handle:
            handle.write(DOVECOT_CONF.format(dir=self.directory))
        self.errors = open(os.path.join(self.directory, "stderr"), "wb")

    def login(self, user):
        process = subprocess.Popen(
            [
                "/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/env", "-i",
                f"USER={user}", "TZ=UTC", "PATH=/usr/bin:/bin", "/usr/lib/dovecot/imap", "-c", self.config,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
        )

        def write(data):
            process.stdin.write(data)
            process.stdin.flush()

        connection = base.Connection(f"dovecot as {user}", process.stdout, write)
        greeting = connection.readline()
        assert greeting.startswith(b"* PREAUTH") and b"ACL" in greeting, greeting

        def close():
            try:
                connection.command(["LOGOUT"])
            except (EOFError, OSError):
                pass
            try:
                process.stdin.close()
            except OSError:
                pass
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()

        return connection, close

    def close(self):
        self.errors.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def must(connection, parts):
    untagged, tagged = connection.command(parts)
    assert b" OK" in tagged, (connection.name, parts, untagged, tagged)
    return untagged


def set_up(host, port, cafile, password, dovecot):
    """Both owners hold the same messages; Dovecot's owner grants MEMBERS' rights on every folder
    (Mailvox's were given by `mailbox member add`, checked here). Every Dovecot user's folders
    are made (auto = create at its first login) and subscribed, as Mailvox's start."""
    for user in MAILBOXES:
        connection, close = dovecot.login(user)
        for folder in FOLDERS:
            must(connection, [f'SUBSCRIBE "{folder}"'])
        if user == DEPARTMENT:
            for folder in FOLDERS:
                for member, rights in MEMBERS.items():
                    must(connection, [f'SETACL "{folder}" {member} {rights}'])
        close()
    for opener in (lambda: base.mailvox(host, port, cafile, DEPARTMENT, password),
                   lambda: dovecot.login(DEPARTMENT)):
        connection, close = opener()
        for flags, date, data in MESSAGES:
            must(connection, [f'APPEND INBOX {flags} "{date}" ', base.Literal(data), ""])
        # The owner's session is the first to see them: \Recent is spent alike in both (Dovecot
        # would otherwise spend it on Bob's read-only SELECT, Mailvox keep it for Ada's).
        must(connection, ["SELECT INBOX"])
        must(connection, ["CLOSE"])
        if connection.name == "mailvox":
            acl = b" ".join(must(connection, ["GETACL INBOX"]))
            for member, rights in MEMBERS.items():
                granted = re.search(rb" %s ([a-z]+)" % member.encode(), acl)
                # c and d are RFC 2086's names for k and x/t/e, shown beside them (RFC 4314 §2.1.1).
                assert granted and set(granted.group(1).decode()) - set("cd") == set(rights) - set("cd"), (
                    f"Mailvox's {DEPARTMENT} must have member {member} with rights {rights}: {acl!r}")
        close()


# ---------------------------------------------------------------------------------------------
# Normalisation: differential.py's, plus Mailvox's level names and the rights responses.

LEVEL = {f"Shared/{user} {name}": f"Shared/{user}" for user, name in MAILBOXES.items()}


def level_names(line):
    """Mailvox's `Shared/2100 Support` as Dovecot's `Shared/2100` (its shared namespace's level is
    the owner's user name, Mailvox's the department's id and name)."""
    text = line.decode("utf-8", "surrogateescape")
    for ours, theirs in LEVEL.items():
        text = text.replace(ours, theirs)
    return text.encode("utf-8", "surrogateescape")


def letters(node):
    """A rights string as a set (sorted), and the virtual c and d it holds, apart."""
    text = node[1] if isinstance(node, tuple) else node
    real = "".join(sorted(set(text) - set("cd")))
    return real, "".join(sorted(set(text) & set("cd")))


EMPTY = '""'


def rights_line(kind, rest):
    """One MYRIGHTS, ACL or LISTRIGHTS response: its normalised text, and {(response, identifier):
    the c and d it holds} for the [c d] comparison."""
    nodes = base.tree(base.tokens(rest))
    name = base.mailbox_name(nodes[0]) if nodes else ""
    if kind == "MYRIGHTS":
        real, virtual = letters(nodes[1]) if len(nodes) > 1 else ("", "")
        return f"* MYRIGHTS {name} {real or EMPTY}", {f"MYRIGHTS {name}": virtual}
    if kind == "ACL":
        entries = []
        virtual = {}
        for index in range(1, len(nodes) - 1, 2):
            identifier = base.astring(nodes[index])
            real, virtual[f"ACL {name} {identifier}"] = letters(nodes[index + 1])
            entries.append(f"{identifier} {real}")
        return f"* ACL {name} " + " ".join(sorted(entries)), virtual
    # LISTRIGHTS mailbox identifier required *(optional): groups compared as sets.
    identifier = base.astring(nodes[1]) if len(nodes) > 1 else ""
    required, cd = letters(nodes[2]) if len(nodes) > 2 else ("", "")
    groups = []
    virtual = set(cd)
    for node in nodes[3:]:
        real, cd = letters(node)
        virtual |= set(cd)
        if real:
            groups.append(real)
    return (f"* LISTRIGHTS {name} {identifier} \"{required}\" " + " ".join(sorted(groups)),
            {f"LISTRIGHTS {name} {identifier}": "".join(sorted(virtual))})


def normalise(command, untagged, tagged):
    """(answer, virtual rights): the answer as differential.py normalises it, with rights as sets
    and without c and d, which the second holds by response and identifier."""
    rights, virtual, rest = [], {}, []
    for raw in untagged:
        line = raw.decode("utf-8", "surrogateescape")
        match = re.match(r"\* (MYRIGHTS|ACL|LISTRIGHTS) (.*)", line, re.I | re.S)
        if match:
            answer, cd = rights_line(match.group(1).upper(), match.group(2))
            rights.append(answer)
            virtual.update(cd)
        elif re.match(r"\* OK \[HIGHESTMODSEQ \d+\]", line, re.I):
            # RFC 7162's business, not this differential's: Dovecot reports a mailbox's modseq
            # once CONDSTORE has been used on it, Mailvox always.
            continue
        else:
            rest.append(raw)
    lines = base.normalise(command, rest, tagged).split("\n")
    final = lines.pop()
    return "\n".join(sorted(lines + rights) + [final]), virtual


def virtual_rights(ours, theirs):
    """The [c d] comparison, over the rights both servers answered (same response, same identifier):
    whatever one answered alone differs in the main comparison already. None when there are none."""
    common = sorted(set(ours) & set(theirs))
    if not common:
        return None
    return ["\n".join(f"{key}: {side[key] or '-'}" for key in common) for side in (ours, theirs)]


# ---------------------------------------------------------------------------------------------


def run(host, port, cafile, password):
    dovecot = Dovecot()
    try:
        set_up(host, port, cafile, password, dovecot)
        return compare(host, port, cafile, password, dovecot)
    finally:
        dovecot.close()


def compare(host, port, cafile, password, dovecot):
    dump = open(os.environ["DIFFERENTIAL_DUMP"], "w", errors="backslashreplace") if os.environ.get(
        "DIFFERENTIAL_DUMP") else None
    results = {"match": 0, "listed": 0, "defect": 0, "unlisted": 0, "fixed": 0}
    current = {"id": None}
    compared = 0

    def watchdog():
        print(f"TIMEOUT during {current['id']!r}", flush=True)
        os._exit(2)

    timer = threading.Timer(45, watchdog)
    timer.daemon = True
    timer.start()

    def verdict(ident, answers):
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
            return
        both = f"\n  mailvox: {base.indent(answers[0])}\n  dovecot: {base.indent(answers[1])}"
        if ident in DEFECTS:
            results["defect"] += 1
            print(f"DEFECT {ident}: {DEFECTS[ident]}{both}")
        elif ident in KNOWN_DIFFERENCES:
            results["listed"] += 1
            print(f"LISTED {ident}: {KNOWN_DIFFERENCES[ident]}")
        else:
            results["unlisted"] += 1
            print(f"UNLISTED {ident}{both}")

    for name, user, commands in SESSIONS:
        ours, close_ours = base.mailvox(host, port, cafile, user, password)
        theirs, close_theirs = dovecot.login(user)
        ours.variables["s"] = f"Shared/{DEPARTMENT} {MAILBOXES[DEPARTMENT]}"
        theirs.variables["s"] = f"Shared/{DEPARTMENT}"
        seen = {}
        try:
            for command in commands:
                parts = command if isinstance(command, list) else [command]
                ident = f"{name}: " + "".join(p for p in parts if isinstance(p, str))
                seen[ident] = seen.get(ident, 0) + 1
                if seen[ident] > 1:
                    ident = f"{ident} #{seen[ident]}"
                current["id"] = ident
                answers, virtual = [], []
                for connection in (ours, theirs):
                    untagged, tagged = connection.command(parts)
                    if connection is ours:
                        untagged = [level_names(line) for line in untagged]
                        tagged = level_names(tagged)
                    answer, cd = normalise(parts[0], untagged, tagged)
                    answers.append(answer)
                    virtual.append(cd)
                compared += 1
                verdict(ident, base.loosen(answers))
                virtual = virtual_rights(*virtual)
                if virtual:
                    compared += 1
                    verdict(f"{ident} [c d]", virtual)
        finally:
            close_ours()
            close_theirs()
    timer.cancel()
    if dump:
        dump.close()
    print(
        f"{compared} exchanges, {results['match']} match, {results['listed']} listed differences, "
        f"{results['defect']} defects, {results['unlisted']} unlisted"
    )
    return 1 if results["unlisted"] or results["fixed"] else 0


if __name__ == "__main__":
    sys.stdout.reconfigure(errors="backslashreplace")
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(2)
    try:
        sys.exit(run(*sys.argv[1:5]))
    except (EOFError, OSError, AssertionError) as error:
        print(f"ERROR: {error!r}", flush=True)
        sys.exit(2)
