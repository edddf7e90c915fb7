"""Several sessions on one folder at once, each doing random STORE/EXPUNGE/APPEND/FETCH/SEARCH/NOOP,
while each checks that every untagged response it gets agrees with what it was told before
(issue #14, "How to verify"):

- EXISTS never shrinks: only EXPUNGE (or VANISHED) removes messages, and only one it knows;
- EXPUNGE names a sequence number that exists at that moment;
- a FETCH names an existing sequence number, and its UID is the one that number had;
- every keyword a FETCH shows was announced in an untagged FLAGS before it;
- the MODSEQ of a message never goes down;
- UIDs grow with sequence numbers.

Usage: concurrent_sessions.py HOST TLS_PORT CAFILE USER PASSWORD SESSIONS SECONDS [SEED]
Prints one line per session and PASS, or FAIL with the violation; exits 1 on any violation.
"""
import random
import re
import socket
import ssl
import sys
import threading
import time

host, port, cafile, user, password = sys.argv[1:6]
sessions, seconds = int(sys.argv[6]), float(sys.argv[7])
seed = int(sys.argv[8]) if len(sys.argv) > 8 else int(time.time())

KEYWORDS = ["$Label1", "$Label2", "Urgent", "Callback", "$Heard"]
SYSTEM = {"\\seen", "\\answered", "\\flagged", "\\deleted", "\\draft", "\\recent", "\\*"}
failures = []
lock = threading.Lock()


class Violation(Exception):
    pass


class Session:
    def __init__(self, number):
        self.number = number
        self.random = random.Random(seed * 100 + number)
        context = ssl.create_default_context(cafile=cafile)
        context.check_hostname = False
        self.socket = context.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
        self.socket.settimeout(30)
        self.reader = self.socket.makefile("rb")
        self.tag = 0
        self.uids = []  # by sequence number - 1; None where the UID is not known yet
        self.announced = set()
        self.modseqs = {}
        self.counts = {"responses": 0, "commands": 0, "expunges": 0}
        self.reader.readline()

    def line(self):
        """One response line with its literals, as text (literals replaced by their length)."""
        data = self.reader.readline()
        if not data:
            raise Violation("the server closed the connection")
        text = data.decode("utf-8", "replace")
        while True:
            match = re.search(r"\{(\d+)\}\r\n$", text)
            if not match:
                return text.rstrip("\r\n")
            self.reader.read(int(match.group(1)))
            text = text[: match.start()] + "LITERAL" + self.reader.readline().decode("utf-8", "replace")

    def command(self, text, literal=None):
        self.tag += 1
        tag = "s%d.%d" % (self.number, self.tag)
        if literal is None:
            self.socket.sendall(("%s %s\r\n" % (tag, text)).encode())
        else:
            self.socket.sendall(("%s %s {%d+}\r\n" % (tag, text, len(literal))).encode() + literal + b"\r\n")
        self.counts["commands"] += 1
        while True:
            line = self.line()
            if line.startswith(tag + " "):
                return line
            if line.startswith("* "):
                self.untagged(line[2:], text)
            # continuation requests and anything else are not expected with LITERAL+

    def untagged(self, line, during):
        self.counts["responses"] += 1
        context = " (during %s)" % during
        match = re.match(r"(\d+) (EXISTS|EXPUNGE|RECENT|FETCH)(.*)", line)
        if line.startswith("FLAGS "):
            self.announced = {flag.lower() for flag in re.findall(r"[^\s()]+", line[6:])}
            return
        if line.startswith("VANISHED "):
            raise Violation("VANISHED without QRESYNC enabled" + context)
        if not match:
            return
        number, kind, rest = int(match.group(1)), match.group(2), match.group(3)
        if kind == "EXISTS":
            if number < len(self.uids):
                raise Violation("EXISTS %d after %d messages: shrank without EXPUNGE%s" % (number, len(self.uids), context))
            self.uids += [None] * (number - len(self.uids))
        elif kind == "EXPUNGE":
            if not 1 <= number <= len(self.uids):
                raise Violation("EXPUNGE %d with %d messages%s" % (number, len(self.uids), context))
            if during.startswith("FETCH") or during.startswith("STORE") or during.startswith("SEARCH"):
                raise Violation("EXPUNGE while answering %s (RFC 3501 §7.4.1)" % during)
            uid = self.uids.pop(number - 1)
            self.modseqs.pop(uid, None)
            self.counts["expunges"] += 1
        elif kind == "FETCH":
            if not 1 <= number <= len(self.uids):
                raise Violation("FETCH %d with %d messages%s" % (number, len(self.uids), context))
            uid = re.search(r"UID (\d+)", rest)
            if uid:
                uid = int(uid.group(1))
                known = self.uids[number - 1]
                if known is not None and known != uid:
                    raise Violation("message %d was UID %d, now UID %d%s" % (number, known, uid, context))
                self.uids[number - 1] = uid
                neighbours = [u for u in self.uids[: number - 1] if u is not None]
                if neighbours and neighbours[-1] >= uid:
                    raise Violation("UID %d at %d is not above UID %d before it%s" % (uid, number, neighbours[-1], context))
            flags = re.search(r"FLAGS \(([^)]*)\)", rest)
            if flags:
                for flag in flags.group(1).split():
                    if flag.lower() not in SYSTEM and flag.lower() not in self.announced:
                        raise Violation("keyword %s in a FETCH before any FLAGS named it%s" % (flag, context))
            modseq = re.search(r"MODSEQ \((\d+)\)", rest)
            if modseq and uid:
                value = int(modseq.group(1))
                if value < self.modseqs.get(uid, (0, ""))[0]:
                    raise Violation(
                        "MODSEQ of UID %d went down from %d (in %r) to %d (in %r)%s"
                        % (uid, self.modseqs[uid][0], self.modseqs[uid][1], value, line, context))
                self.modseqs[uid] = (value, line + " during " + during)

    def step(self):
        count = len(self.uids)
        choice = self.random.random()
        seq = self.random.randint(1, count) if count else None
        if choice < 0.25 and seq:
            flag = self.random.choice(KEYWORDS + ["\\Seen", "\\Flagged", "\\Deleted"])
            sign = self.random.choice("+-")
            reply = self.command("STORE %d %sFLAGS (%s)" % (seq, sign, flag))
        elif choice < 0.35:
            reply = self.command("EXPUNGE")
        elif choice < 0.5 and count < 60:
            body = ("Subject: note %d\r\nFrom: s%d@example.com\r\n\r\ncall back\r\n" % (self.tag, self.number)).encode()
            reply = self.command("APPEND INBOX", literal=body)
        elif choice < 0.7 and count:
            reply = self.command("FETCH 1:* (UID FLAGS MODSEQ)")
        elif choice < 0.8 and count:
            reply = self.command("UID FETCH 1:* (FLAGS)")
        elif choice < 0.9:
            reply = self.command("SEARCH %s" % self.random.choice(["ALL", "UNSEEN", "DELETED", "KEYWORD Urgent"]))
        else:
            reply = self.command("NOOP")
        if " BAD " in reply:
            raise Violation("BAD for a valid command: " + reply)

    def run(self, deadline):
        try:
            if not self.command("LOGIN %s %s" % (user, password)).split()[1] == "OK":
                raise Violation("login failed")
            self.command("ENABLE CONDSTORE")
            self.command("SELECT INBOX")
            while time.time() < deadline:
                self.step()
            self.command("LOGOUT")
        except (Violation, OSError) as error:
            with lock:
                failures.append("session %d (seed %d): %s" % (self.number, seed, error))


clients = [Session(number) for number in range(sessions)]
deadline = time.time() + seconds
threads = [threading.Thread(target=client.run, args=(deadline,)) for client in clients]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
for client in clients:
    print(
        "session %d: %d commands, %d untagged responses checked, %d expunges seen"
        % (client.number, client.counts["commands"], client.counts["responses"], client.counts["expunges"])
    )
if failures:
    for failure in failures:
        print("FAIL " + failure)
    sys.exit(1)
print("PASS seed %d" % seed)
