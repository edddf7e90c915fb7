#!/usr/bin/env python3
"""Scale-out benchmark (issue 18): the release `mailvox serve` on the embedded backend (SQLite and
the local spool) against PostgreSQL + S3 (SeaweedFS), with one node and with three, in the same
run on the same machine. PostgreSQL runs with fsync and synchronous_commit on, as SQLite does.

For each setup:
- deposits: DEPOSITS short recordings posted over HTTPS by 4 clients spread over the nodes;
  deposits/s from the first POST to the last message visible over IMAP;
- IMAP mixed load: per node one client repeating SELECT INBOX, FETCH 1:* FLAGS, UID STORE
  +FLAGS/-FLAGS \\Seen, UID FETCH BODY.PEEK[] and NOOP; p50/p99 of each command;
- PostgreSQL + S3 on one node once more with `[blobs] cache_mb = 0`: every FETCH BODY[] a GET;
- three nodes only: IDLE push across nodes, a deposit on node 1, delivered by node 2, heard by an
  IDLE client on node 3: p50/p99 from the POST's answer to the EXISTS.
Prints one table and the shared backend's ratio to embedded per operation.

    scaleout_bench.py --binary .build/release/mailvox [--deposits 100] [--rounds 500]
"""
import argparse, imaplib, json, os, random, shutil, socket, ssl, subprocess, sys, tempfile, threading, time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import Peers, free_port, shared_environment, wait_port  # noqa: E402



class Node:
    def __init__(self, binary, work, env):
        self.binary, self.work = binary, work
        self.http, self.imap = free_port(), free_port()
        self.env = dict(os.environ, MAILVOX_HTTP_LISTEN=f"127.0.0.1:{self.http}", MAILVOX_IMAP_LISTEN="",
                        MAILVOX_IMAP_LISTEN_TLS=f"127.0.0.1:{self.imap}", **env)
        self.config = os.path.join(work, "var", "mailvox.toml")
        self.process = None

    def cli(self, *argv, stdin=None):
        command = [self.binary, *argv] if argv[0] == "init" else [self.binary, *argv, "--config", self.config]
        return subprocess.run(command, cwd=self.work, env=self.env, input=stdin, capture_output=True, text=True,
                              check=True).stdout

    def start(self):
        log = open(os.path.join(self.work, "serve.log"), "a")
        self.process = subprocess.Popen([self.binary, "serve", "--config", self.config], cwd=self.work, env=self.env,
                                        stdout=log, stderr=log)
        wait_port(self.imap)
        wait_port(self.http)

    def stop(self):
        self.process.terminate()
        self.process.wait()


def setup(binary, work, peers, nodes, shared, jobs, extra):
    """`nodes` nodes, on the shared backends or embedded (then one node), with `extra` settings
    (environment overrides); mailbox 1000 and a token."""
    common = dict(shared_environment(peers, work) if shared else {}, **extra)
    result = []
    for index in range(nodes):
        directory = os.path.join(work, f"node{index + 1}")
        os.makedirs(directory)
        env = dict(common, MAILVOX_SERVER_HOSTNAME=f"node{index + 1}.example",
                   MAILVOX_SERVER_RUN_JOBS="true" if jobs[index] else "false")
        if index > 0:
            env["MAILVOX_CRYPTO_MASTER_KEY_FILE"] = os.path.join(work, "node1", "var", "keys", "master.key")
        node = Node(binary, directory, env)
        node.cli("init", "--data-dir", "var")
        result.append(node)
    result[0].cli("mailbox", "add", "1000", "--name", "Bench", "--password-stdin", stdin="long-enough-1\n")
    token = result[0].cli("token", "create", "--name", "bench").strip().splitlines()[-1]
    for node in result:
        node.start()
    return result, token


CONTEXT = ssl.create_default_context()
CONTEXT.check_hostname = False
CONTEXT.verify_mode = ssl.CERT_NONE


def deposit(node, token, audio, key):
    request = urllib.request.Request(
        f"https://127.0.0.1:{node.http}/api/v1/mailboxes/1000/voicemails?caller_number=2001", data=audio,
        method="POST", headers={"Authorization": f"Bearer {token}", "Content-Type": "audio/wav", "Idempotency-Key": key})
    with urllib.request.urlopen(request, context=CONTEXT, timeout=60) as response:
        return json.loads(response.read())["deposit_id"]


def imap(node):
    client = imaplib.IMAP4_SSL("127.0.0.1", node.imap, ssl_context=CONTEXT)
    client.login("1000", "long-enough-1")
    return client


def messages(node):
    client = imap(node)
    status = client.status("INBOX", "(MESSAGES)")[1][0].decode()
    client.logout()
    return int(status.split("MESSAGES ")[1].rstrip(")"))


def deposit_rate(nodes, token, audio, count, tag):
    started = time.time()
    keys = iter(range(count))
    lock = threading.Lock()

    def client(index):
        while True:
            with lock:
                number = next(keys, None)
            if number is None:
                return
            deposit(nodes[number % len(nodes)], token, audio, f"{tag}-{number}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while messages(nodes[-1]) < count:
        time.sleep(0.05)
    return count / (time.time() - started)


def imap_mixed(nodes, rounds):
    timings = {}
    lock = threading.Lock()

    def client(node):
        connection = imap(node)
        mine = {}
        for _ in range(rounds):
            for name, run in [
                ("SELECT", lambda: connection.select("INBOX")),
                ("FETCH 1:* FLAGS", lambda: connection.fetch("1:*", "(FLAGS)")),
                ("STORE +FLAGS", lambda: connection.uid("STORE", str(random.randint(1, 20)), "+FLAGS", "(\\Seen)")),
                ("STORE -FLAGS", lambda: connection.uid("STORE", str(random.randint(1, 20)), "-FLAGS", "(\\Seen)")),
                ("FETCH BODY[]", lambda: connection.uid("FETCH", str(random.randint(1, 20)), "(BODY.PEEK[])")),
                ("NOOP", lambda: connection.noop()),
            ]:
                start = time.perf_counter()
                run()
                mine.setdefault(name, []).append((time.perf_counter() - start) * 1000)
        connection.logout()
        with lock:
            for name, values in mine.items():
                timings.setdefault(name, []).extend(values)

    threads = [threading.Thread(target=client, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def idle_push(nodes, token, audio, rounds):
    latencies = []
    for index in range(rounds):
        client = imap(nodes[2])
        client.select("INBOX")
        tag = client._new_tag().decode()
        client.send(f"{tag} IDLE\r\n".encode())
        client.readline()  # + idling
        deposit(nodes[0], token, audio, f"idle-{index}")
        answered = time.perf_counter()
        while True:
            line = client.readline()
            if line.endswith(b"EXISTS\r\n"):
                latencies.append((time.perf_counter() - answered) * 1000)
                break
        client.send(b"DONE\r\n")
        client.readline()
        client.logout()
    return latencies


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--deposits", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--idle", type=int, default=20)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="mvx-scaleout-bench-")
    os.chmod(work, 0o711)  # PostgreSQL runs as its own user and must reach its data dir
    audio_path = os.path.join(work, "hello.wav")
    subprocess.run(["espeak-ng", "Please call me back.", "-w", audio_path], check=True)
    subprocess.run(["sox", audio_path, "-r", "8000", "-c", "1", os.path.join(work, "short.wav")], check=True)
    audio = open(os.path.join(work, "short.wav"), "rb").read()
    peers = Peers(work)
    results = {}
    try:
        # The last: every body a GET from the bucket, as a node's first read of a message
        # another node delivered is; the others keep [blobs] cache_mb (64) of what they wrote
        # and read, which the mixed load's 20 messages fit in.
        for label, count, shared, jobs, extra in [
                ("embedded, 1 node", 1, False, [True], {}),
                ("postgres+S3, 1 node", 1, True, [True], {}),
                ("postgres+S3, 3 nodes", 3, True, [False, True, False], {}),
                ("postgres+S3, 1, no cache", 1, True, [True], {"MAILVOX_BLOBS_CACHE_MB": "0"})]:
            setup_dir = os.path.join(work, label.replace(" ", "").replace(",", "-").replace("+", ""))
            os.makedirs(setup_dir)
            nodes, token = setup(binary, setup_dir, peers, count, shared, jobs, extra)
            try:
                row = {"deposits/s": deposit_rate(nodes, token, audio, args.deposits, "rate")}
                for name, values in imap_mixed(nodes, args.rounds).items():
                    row[name] = (percentile(values, 50), percentile(values, 99))
                if count == 3:
                    pushes = idle_push(nodes, token, audio, args.idle)
                    row["IDLE push across nodes"] = (percentile(pushes, 50), percentile(pushes, 99))
                results[label] = row
            finally:
                for node in nodes:
                    node.stop()
    finally:
        peers.stop()
    labels = list(results)
    print(f"{'':26}" + "".join(f"{label:>26}" for label in labels) + f"{'1 node / embedded':>20}")
    names = []
    for row in results.values():
        names += [name for name in row if name not in names]
    for name in names:
        cells = []
        for label in labels:
            value = results[label].get(name)
            if value is None:
                cells.append(f"{'-':>26}")
            elif isinstance(value, tuple):
                cells.append(f"{value[0]:>11.2f} / {value[1]:>7.2f} ms")
            else:
                cells.append(f"{value:>26.1f}")
        base, shared = results[labels[0]].get(name), results[labels[1]].get(name)
        if base is None or shared is None:
            ratio = "-"
        elif isinstance(base, tuple):
            ratio = f"{shared[0] / base[0]:.2f}x / {shared[1] / base[1]:.2f}x"
        else:
            ratio = f"{base / shared:.2f}x time"
        print(f"{name:26}" + "".join(cells) + f"{ratio:>20}")
    print("(cells and ratios: p50 / p99; deposits/s from the first POST until every message is visible over IMAP)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
