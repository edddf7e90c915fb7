"""Recoverable deletions (#19) as a mail client meets them, through Python's imaplib.

  recoverable.py HOST TLS_PORT CAFILE USER PASSWORD delete SAVED_FILE
      saves message 1 of INBOX (BODY.PEEK[]) to SAVED_FILE, then deletes it as a phone does
      (STORE \\Deleted, EXPUNGE); Recently Deleted then holds it, opens READ-ONLY, and refuses
      STORE, EXPUNGE and APPEND with NO [CANNOT].
  recoverable.py HOST TLS_PORT CAFILE USER PASSWORD restored SAVED_FILE
      INBOX holds a message byte-identical to SAVED_FILE; Recently Deleted is empty.
  recoverable.py HOST TLS_PORT CAFILE USER PASSWORD move-out
      expunges INBOX's first message, then MOVEs it out of Recently Deleted into Saved.

Prints PASS, or FAIL with the reason and exits 1."""
import imaplib
import ssl
import sys

from checks import check, ok

host, port, cafile, user, password, mode = sys.argv[1:7]
context = ssl.create_default_context(cafile=cafile)
context.check_hostname = False
imap = imaplib.IMAP4_SSL(host, int(port), ssl_context=context)
ok(imap.login(user, password), "LOGIN")
BIN = '"Recently Deleted"'


def body(uid):
    data = ok(imap.uid("FETCH", uid, "(BODY.PEEK[])"), "FETCH BODY.PEEK[]")
    return data[0][1]


def uids():
    return ok(imap.uid("SEARCH", None, "ALL"), "UID SEARCH")[0].split()


if mode == "delete":
    ok(imap.select("INBOX"), "SELECT INBOX")
    first = uids()[0]
    with open(sys.argv[7], "wb") as handle:
        handle.write(body(first))
    ok(imap.uid("STORE", first, "+FLAGS", "(\\Deleted)"), "STORE \\Deleted")
    ok(imap.expunge(), "EXPUNGE")
    check(first not in uids(), "gone from INBOX")
    # SELECT, not EXAMINE: the server opens it read-only all the same (imaplib's select() would
    # raise on the READ-ONLY it expects only from EXAMINE, so the command goes out as it is).
    imap.untagged_responses.clear()
    typ, data = imap._simple_command("SELECT", BIN)
    check(typ == "OK" and b"[READ-ONLY]" in data[0], f"SELECT Recently Deleted opens read-only: {typ} {data}")
    check(imap.untagged_responses.get("EXISTS") == [b"1"], f"one message: {imap.untagged_responses}")
    imap.state, imap.is_readonly = "SELECTED", True
    typ, data = imap.uid("STORE", uids()[0], "+FLAGS", "(\\Seen)")
    check(typ == "NO", f"STORE refused: {typ} {data}")
    typ, data = imap.append(BIN, None, None, b"Subject: x\r\n\r\nx\r\n")
    check(typ == "NO" and b"[CANNOT]" in data[0], f"APPEND refused: {typ} {data}")
elif mode == "restored":
    with open(sys.argv[7], "rb") as handle:
        saved = handle.read()
    ok(imap.select("INBOX"), "SELECT INBOX")
    bodies = [body(uid) for uid in uids()]
    check(saved in bodies, f"a restored message identical to the deleted one among {len(bodies)}")
    ok(imap.select(BIN, readonly=True), "EXAMINE Recently Deleted")
    check(uids() == [], "Recently Deleted is empty")
elif mode == "move-out":
    ok(imap.select("INBOX"), "SELECT INBOX")
    first = uids()[0]
    original = body(first)
    ok(imap.uid("STORE", first, "+FLAGS.SILENT", "(\\Deleted)"), "STORE")
    ok(imap.expunge(), "EXPUNGE")
    ok(imap.select(BIN, readonly=True), "EXAMINE Recently Deleted")
    kept = uids()
    check(len(kept) == 1, f"one kept: {kept}")
    ok(imap.uid("MOVE", kept[0], "Saved"), "MOVE out of Recently Deleted")
    ok(imap.select("Saved"), "SELECT Saved")
    check([body(uid) for uid in uids()] == [original], "Saved holds the very message")
else:
    check(False, f"unknown mode {mode}")
imap.logout()
print("PASS")
