"""The scale simulation of docs/SCALE-OUT.md (issue #18): an installation of 100,000 mailboxes
holding 10 million voicemails, then the release `mailvox serve` timed on random mailboxes —
LOGIN, SELECT INBOX, FETCH 1:* FLAGS over IMAPS, and a delivery (the HTTPS deposit's answer, and
queued → stored from the server's own deposit record) — p50/p99 each, on PostgreSQL + S3 and on
the embedded SQLite file in the same invocation.

The rows are generated, not delivered one by one (ten million deliveries would take a day): one
real mailbox and one real voicemail are made through the CLI and the server, then the database
clones them in SQL — mailbox rows (the template's keys and password hash), their folders, and
`--per-mailbox` INBOX messages each (the template's sealed metadata, distinct file names, UIDs
1..N, a third of them \\Seen). Folders' counters (UIDNEXT, HIGHESTMODSEQ, the first \\Recent UID)
match their messages, so a SELECT is the one a returning client makes. What the timed commands
read — directory rows, folder rows, message rows — is all there at full size; the messages' sealed
bodies are not written (no timed command opens one: SELECT and FETCH FLAGS read the index only),
except the template's and each timed delivery's, which are real.

Usage: scale_sim.py --binary .build/release/mailvox [--mailboxes 100000] [--per-mailbox 100]
"""
import argparse, imaplib, json, os, random, shutil, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import Peers, shared_environment  # noqa: E402
from scaleout_bench import CONTEXT, Node, percentile  # noqa: E402

PASSWORD = "long-enough-1"


class Database:
    """SQL on the node's database from outside the server: psql or the sqlite3 module."""

    def __init__(self, node, env):
        self.url = env.get("MAILVOX_POSTGRES_URL")
        self.path = os.path.join(node.work, "var", "mailvox.sqlite")

    def run(self, sql):
        if self.url:
            result = subprocess.run(["psql", self.url.split("?")[0], "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"psql: {result.stderr}\n{sql}")
            return [line.split("|") for line in result.stdout.splitlines() if line]
        # The sqlite3 shell, not Python's module: the shell has generate_series.
        result = subprocess.run(["sqlite3", "-bail", "-cmd", ".timeout 60000", self.path, sql], capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise SystemExit(f"sqlite3: {result.stderr}\n{sql}")
        return [line.split("|") for line in result.stdout.splitlines() if line]

    def series(self, first, last, name):
        """A FROM item of the integers first..last in column `name`."""
        if self.url:
            return f"generate_series({first}, {last}) AS g_{name}({name})"
        return f"(SELECT value AS {name} FROM generate_series({first}, {last})) AS g_{name}"

    def columns(self, table):
        if self.url:
            rows = self.run(f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' "
                            "ORDER BY ordinal_position")
        else:
            rows = [[row[1]] for row in self.run(f"PRAGMA table_info({table})")]
        return [row[0] for row in rows]


def clone(db, table, replacements, source, where):
    """INSERT INTO table (its columns) SELECT the template's values, with `replacements` per column."""
    columns = [c for c in db.columns(table) if c != "id" or "id" in replacements]
    values = ", ".join(replacements.get(c, f"t.{c}") for c in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM {source} WHERE {where}"


def populate(node, db, mailboxes, per_mailbox):
    """Clones the template mailbox `mailboxes` times with `per_mailbox` INBOX messages each."""
    started = time.time()
    template = db.run("SELECT id FROM message ORDER BY id LIMIT 1")[0][0]
    chunk = 10_000
    for first in range(1, mailboxes + 1, chunk):
        last = min(mailboxes, first + chunk - 1)
        series = db.series(first, last, "n")
        db.run(clone(db, "mailbox", {"id": "'m' || n"}, f"mailbox t, {series}", "t.id = 'tmpl'"))
        db.run(clone(db, "folder", {
            "mailbox_id": "'m' || n", "uid_validity": f"t.uid_validity + n",
            "uid_next": f"CASE WHEN t.name = 'INBOX' THEN {per_mailbox + 1} ELSE t.uid_next END",
            "highest_modseq": f"CASE WHEN t.name = 'INBOX' THEN {per_mailbox + 2} ELSE t.highest_modseq END",
            "first_recent_uid": f"CASE WHEN t.name = 'INBOX' THEN {per_mailbox + 1} ELSE t.first_recent_uid END",
        }, f"folder t, {series}", "t.mailbox_id = 'tmpl'"))
        before = db.run("SELECT MAX(id) FROM message")[0][0]
        db.run(clone(db, "message", {
            "folder_id": "f.id", "uid": "u", "modseq": "u + 1", "file_name": "'sim-' || f.id || '-' || u",
            "deposit_id": "NULL", "flags": "CASE WHEN u % 3 = 0 THEN 1 ELSE 0 END", "in_cur": "1",
            "internal_date": "t.internal_date - (1000 - u) * 3600",
        }, f"message t, folder f, {db.series(1, per_mailbox, 'u')}",
            f"t.id = {template} AND f.name = 'INBOX' AND f.mailbox_id IN (SELECT 'm' || n FROM {series})"))
        db.run(f"INSERT INTO message_meta (message_id, meta) SELECT m.id, t.meta FROM message m, message_meta t "
               f"WHERE t.message_id = {template} AND m.id > {before}")
        done = last * per_mailbox
        rate = done / (time.time() - started)
        print(f"  {last:>7} mailboxes, {done:>9} messages  ({rate:,.0f} messages/s)", flush=True)
    db.run("UPDATE uid_validity_issued SET highest = (SELECT MAX(uid_validity) FROM folder)")
    # What a database that grew over years has had done to it: PostgreSQL's autovacuum would
    # otherwise start on the ten million new rows in the middle of the timing — VACUUM now, as
    # it would have run long before.
    db.run("VACUUM ANALYZE" if db.url else "ANALYZE")
    # And the generated gigabytes flushed before the timing: a second run that only vacuumed
    # saw p99s of seconds while the checkpointer wrote them back under the timed reads.
    db.run("CHECKPOINT" if db.url else "PRAGMA wal_checkpoint(TRUNCATE)")
    subprocess.run(["sync"], check=True)
    return time.time() - started


def timed(samples, work):
    """Runs `work` `samples` times; each returns {name: seconds}; gives {name: [ms, ...]}."""
    results = {}
    for index in range(samples):
        for name, seconds in work(index).items():
            results.setdefault(name, []).append(seconds * 1000)
    return results


def imap_round(node, mailboxes, per_mailbox):
    def work(_):
        mailbox = f"m{random.randint(1, mailboxes)}"
        client = imaplib.IMAP4_SSL("127.0.0.1", node.imap, ssl_context=CONTEXT)
        t0 = time.perf_counter()
        client.login(mailbox, PASSWORD)
        t1 = time.perf_counter()
        status, data = client.select("INBOX")
        t2 = time.perf_counter()
        assert status == "OK" and int(data[0]) == per_mailbox, (mailbox, status, data)
        status, data = client.fetch("1:*", "(FLAGS)")
        t3 = time.perf_counter()
        assert status == "OK" and len(data) == per_mailbox, (mailbox, status, len(data))
        client.logout()
        return {"LOGIN": t1 - t0, "SELECT INBOX": t2 - t1, "FETCH 1:* FLAGS": t3 - t2}
    return work


def deliveries(node, db, token, audio, mailboxes, samples):
    accepted, ids = [], []
    for index in range(samples):
        mailbox = f"m{random.randint(1, mailboxes)}"
        request = urllib.request.Request(
            f"https://127.0.0.1:{node.http}/api/v1/mailboxes/{mailbox}/voicemails?caller_number=2001", data=audio,
            method="POST", headers={"Authorization": f"Bearer {token}", "Content-Type": "audio/wav",
                                    "Idempotency-Key": f"sim-{index}"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(request, context=CONTEXT, timeout=60) as response:
            ids.append(json.loads(response.read())["deposit_id"])
        accepted.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.05)  # one at a time: the latency of one delivery, not of a queue
    deadline = time.time() + 120
    quoted = ", ".join(f"'{i}'" for i in ids)
    while time.time() < deadline:
        rows = db.run(f"SELECT (updated_at - created_at) * 1000 FROM deposit WHERE id IN ({quoted}) "
                      "AND status = 'delivered'")
        if len(rows) == len(ids):
            return {"deposit accepted (HTTPS)": accepted, "delivery: queued -> stored": [float(r[0]) for r in rows]}
        time.sleep(0.5)
    raise SystemExit(f"only {len(rows)} of {len(ids)} deposits were delivered in 120 s")


def run(label, binary, work, peers, args, audio):
    directory = os.path.join(work, label)
    os.makedirs(directory)
    env = shared_environment(peers, directory) if peers else {}
    env["MAILVOX_SERVER_HOSTNAME"] = "sim.example"
    node = Node(binary, directory, env)
    node.cli("init", "--data-dir", "var")
    node.cli("mailbox", "add", "tmpl", "--name", "Template", "--password-stdin", stdin=PASSWORD + "\n")
    token = node.cli("token", "create", "--name", "sim").strip().splitlines()[-1]
    db = Database(node, env)
    node.start()
    try:
        request = urllib.request.Request(
            f"https://127.0.0.1:{node.http}/api/v1/mailboxes/tmpl/voicemails?caller_number=2001", data=audio,
            method="POST", headers={"Authorization": f"Bearer {token}", "Content-Type": "audio/wav"})
        urllib.request.urlopen(request, context=CONTEXT, timeout=60).read()
        deadline = time.time() + 60
        while not db.run("SELECT id FROM message") and time.time() < deadline:
            time.sleep(0.2)
    finally:
        node.stop()
    print(f"{label}: generating {args.mailboxes:,} mailboxes x {args.per_mailbox} messages", flush=True)
    seconds = populate(node, db, args.mailboxes, args.per_mailbox)
    counts = db.run("SELECT (SELECT COUNT(*) FROM mailbox), (SELECT COUNT(*) FROM message)")[0]
    print(f"{label}: {int(counts[0]):,} mailboxes, {int(counts[1]):,} messages in {seconds:.0f} s", flush=True)
    node.start()
    try:
        row = timed(args.samples, imap_round(node, args.mailboxes, args.per_mailbox))
        row.update(deliveries(node, db, token, audio, args.mailboxes, args.deliveries))
    finally:
        node.stop()
        # Ten million rows take some 30 GB on either backend (about 3 KB a message, most of it
        # the sealed metadata): each run's are removed before the next is made.
        shutil.rmtree(directory, ignore_errors=True)
        if db.url:
            subprocess.run(["psql", db.url.split("?")[0].rsplit("/", 1)[0] + "/postgres", "-qc",
                            f"DROP DATABASE {db.url.split('?')[0].rsplit('/', 1)[1]}"], capture_output=True)
    print(f"{label}: " + ", ".join(f"{name} {percentile(values, 50):.2f} / {percentile(values, 99):.2f} ms"
                                   for name, values in row.items()), flush=True)
    # Which samples the p99 is made of: the first rounds after start-up, or spread through the run.
    for name, values in row.items():
        slowest = sorted(range(len(values)), key=lambda i: -values[i])[:4]
        print(f"  slowest {name}: " + ", ".join(f"#{i} {values[i]:.0f} ms" for i in slowest), flush=True)
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--per-mailbox", type=int, default=100)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--deliveries", type=int, default=200)
    parser.add_argument("--only", choices=["postgres", "embedded"])
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="mvx-scale-sim-")
    os.chmod(work, 0o711)  # PostgreSQL runs as its own user and must reach its data dir
    subprocess.run(["espeak-ng", "Please call me back.", "-w", os.path.join(work, "hello.wav")], check=True)
    subprocess.run(["sox", os.path.join(work, "hello.wav"), "-r", "8000", "-c", "1", os.path.join(work, "short.wav")],
                   check=True)
    audio = open(os.path.join(work, "short.wav"), "rb").read()
    peers = Peers(work)
    results = {}
    try:
        if args.only != "embedded":
            results["postgres+S3"] = run("postgres", binary, work, peers, args, audio)
        if args.only != "postgres":
            results["embedded"] = run("embedded", binary, work, None, args, audio)
    finally:
        peers.stop()
    labels = list(results)
    print(f"\n{args.mailboxes:,} mailboxes, {args.mailboxes * args.per_mailbox:,} messages "
          f"({args.samples} IMAP rounds, {args.deliveries} deliveries on random mailboxes)")
    print(f"{'':28}" + "".join(f"{label:>24}" for label in labels) +
          (f"{'postgres / embedded':>22}" if len(labels) == 2 else ""))
    for name in results[labels[0]]:
        cells = [results[label][name] for label in labels]
        line = f"{name:28}" + "".join(
            f"{percentile(values, 50):>10.2f} / {percentile(values, 99):>7.2f} ms" for values in cells)
        if len(cells) == 2:
            line += f"{percentile(cells[0], 99) / percentile(cells[1], 99):>17.2f}x p99"
        print(line)
    print("(cells: p50 / p99. Goals: SELECT INBOX p99 <= 10 ms, delivery p99 <= 100 ms)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
