#!/usr/bin/env python3
"""Does `mailvox serve` keep answering while it transcodes a burst of voicemails?

Starts the real server (a temp data dir, free loopback ports, `workers = 0`: one deliver worker
per core), then measures two clients for the whole run: an IMAP client sending NOOP every 20 ms
over implicit TLS, and an HTTPS client asking GET /healthz every 20 ms. First a quiet phase
(the baseline), then a burst: DEPOSITS recordings of SECONDS each, all POSTed at once through the
HTTP front door, until every one is delivered.

Prints p50/p99/max of both clients in both phases, the ratio burst/quiet of each p99, and the
burst's deposits/s. With --max-ms, exits 1 when a burst answer took longer (the test of issue
#13's freeze uses this); `make bench` runs it without, for the figures.

Used by Tests/MailvoxCLITests/ResponsivenessTests.swift (debug binary, small burst) and by
scripts/bench (release binary, 40 one-minute recordings).
"""
import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

PASSWORD = "responsive-enough-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Probe:
    """Calls `ask` every `interval` seconds in a process of its own and keeps each answer's
    latency in ms, by phase. A process, not a thread: two probes in one interpreter wait for
    each other's turn at its lock (5 ms at a time), and that would be counted as the server's.
    `make_ask` runs in the child, so its connection is the child's own."""

    def __init__(self, name, make_ask, interval=0.02):
        self.name, self.make_ask, self.interval = name, make_ask, interval
        self._burst = multiprocessing.Event()
        self.stopped = multiprocessing.Event()
        self._receiver, self._sender = multiprocessing.Pipe(duplex=False)
        self._process = multiprocessing.get_context("fork").Process(target=self._run, daemon=True)
        self.samples, self.errors = {}, []

    @property
    def phase(self):
        return "burst" if self._burst.is_set() else "quiet"

    @phase.setter
    def phase(self, value):
        if value == "burst":
            self._burst.set()

    def start(self):
        self._process.start()

    def _run(self):
        samples, errors = {}, []
        try:
            ask = self.make_ask()
        except Exception as error:
            errors.append(f"connect: {error!r}")
            self.stopped.wait()
            self._sender.send((samples, errors))
            return
        while not self.stopped.is_set():
            phase = self.phase
            start = time.monotonic()
            try:
                ask()
            except Exception as error:  # a failed answer is a finding, not a crash of the probe
                errors.append(f"{phase}: {error!r}")
                time.sleep(self.interval)
                continue
            samples.setdefault(phase, []).append((time.monotonic() - start) * 1000)
            time.sleep(self.interval)
        self._sender.send((samples, errors))

    def join(self, timeout=None):
        if self._receiver.poll(timeout):
            self.samples, self.errors = self._receiver.recv()
        self._process.join(timeout=5)


class IMAPNoop:
    """One logged-in IMAPS connection; `__call__` sends NOOP and reads up to its tagged answer."""

    def __init__(self, port, context):
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        self.file = self.sock.makefile("rb")
        self.tag = 0
        self.file.readline()  # greeting
        self.command(f'LOGIN 1000 "{PASSWORD}"')

    def command(self, text):
        self.tag += 1
        tag = f"p{self.tag}"
        self.sock.sendall(f"{tag} {text}\r\n".encode())
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("connection closed")
            if line.startswith(tag.encode() + b" "):
                if not line.startswith(tag.encode() + b" OK"):
                    raise RuntimeError(line.decode(errors="replace").strip())
                return

    def __call__(self):
        self.command("NOOP")


def copy_log(fd, path):
    """Copies the server's log from its pipe into `path` (in a process of its own)."""
    with os.fdopen(fd, "rb", buffering=0) as source, open(path, "ab", buffering=0) as target:
        for chunk in iter(lambda: source.read(65536), b""):
            target.write(chunk)


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def make_recording(directory, seconds):
    """Speech made here (espeak-ng), repeated and cut to `seconds`, 8 kHz mono as a PBX records."""
    speech = os.path.join(directory, "speech.wav")
    subprocess.run(
        ["espeak-ng", "Hello, this is a long message about the order we placed last week.", "-w", speech],
        check=True)
    out = os.path.join(directory, "recording.wav")  # the burst's uploads read it from here
    subprocess.run(
        ["sox", speech, "-r", "8000", "-c", "1", out, "repeat", str(int(seconds / 3) + 1), "trim", "0", str(seconds)],
        check=True)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--deposits", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=60, help="length of each recording")
    parser.add_argument("--quiet-seconds", type=float, default=3)
    parser.add_argument("--interval", type=float, default=0.02,
                        help="seconds between a probe's requests (20 ms, as issue #13 measured); at 0.005 a "
                             "2 s burst gives ~450 answers, enough for a p99 that is not simply the worst one")
    parser.add_argument("--timeout", type=float, default=900, help="give up waiting for deliveries after this")
    parser.add_argument("--max-ms", type=float, help="exit 1 when a burst answer took longer")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--env", action="append", default=[], metavar="MAILVOX_KEY=VALUE",
                        help="a config override for serve, e.g. MAILVOX_SERVER_BACKGROUND_NICE=19")
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)

    work = tempfile.mkdtemp(prefix="mvx-responsive-")
    imap_port, http_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILVOX_")}
    env.update({
        "MAILVOX_IMAP_LISTEN": "", "MAILVOX_IMAP_LISTEN_TLS": f"127.0.0.1:{imap_port}",
        "MAILVOX_HTTP_LISTEN": f"127.0.0.1:{http_port}", "MAILVOX_SERVER_WORKERS": "0",
    })
    env.update(dict(item.split("=", 1) for item in args.env))
    server = None
    try:
        def cli(*arguments, stdin=None):
            return subprocess.run(
                [args.binary, *arguments], cwd=work, env=env, input=stdin, capture_output=True, text=True,
                check=True).stdout

        cli("init", "--data-dir", "var")
        cli("mailbox", "add", "1000", "--name", "Load", "--password-stdin", stdin=PASSWORD + "\n")
        token = cli("token", "create", "--name", "load").strip().splitlines()[-1].strip()
        make_recording(work, args.seconds)

        log_path = os.path.join(work, "serve.log")
        # The log through a pipe, as systemd's journal takes it: a log file on the disk the
        # burst is fsyncing would make each log line's write wait on the journal, and that
        # would be counted as the server's answer time.
        server = subprocess.Popen(
            [args.binary, "serve"], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        log_reader = multiprocessing.get_context("fork").Process(
            target=copy_log, args=(server.stdout.fileno(), log_path), daemon=True)
        open(log_path, "wb").close()
        log_reader.start()
        server.stdout.close()
        deadline = time.monotonic() + 60
        while b"IMAP listening" not in open(log_path, "rb").read():
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("serve did not start:\n" + open(log_path, errors="replace").read())
            time.sleep(0.1)

        context = ssl.create_default_context(cafile=os.path.join(work, "var/tls/cert.pem"))
        base = f"https://localhost:{http_port}"

        # One kept-alive connection, as a monitor or load balancer holds: the figure is the
        # server's answer, not a TLS handshake per request.
        health = http.client.HTTPSConnection("localhost", http_port, context=context, timeout=30)

        def healthz():
            health.request("GET", "/healthz")
            answer = health.getresponse()
            answer.read()
            if answer.status != 200:
                raise RuntimeError(f"healthz answered {answer.status}")

        probes = [
            Probe("imap_noop", lambda: IMAPNoop(imap_port, context), args.interval),
            Probe("http_healthz", lambda: healthz, args.interval),
        ]
        for probe in probes:
            probe.start()
        time.sleep(args.quiet_seconds)

        for probe in probes:
            probe.phase = "burst"
        ids, failures = [], []
        recording_path = os.path.join(work, "recording.wav")
        # curl processes, all at once, as PBXs would: uploads from Python threads would fight the
        # probes for the interpreter's lock and show up as server latency. They run at nice 19:
        # the PBXs are other machines, and their TLS and file reading here must not take the
        # CPU from the server being measured.
        start = time.monotonic()
        uploads = [subprocess.Popen(
            ["nice", "-n", "19", "curl", "-sS", "--cacert", os.path.join(work, "var/tls/cert.pem"), "-H", f"Authorization: Bearer {token}",
             "-H", "Content-Type: audio/wav", "--data-binary", "@" + recording_path,
             f"{base}/api/v1/mailboxes/1000/voicemails?caller_number=%2B49301234{n:04d}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for n in range(args.deposits)]
        for upload in uploads:
            output = upload.communicate()[0].decode(errors="replace")
            try:
                ids.append(json.loads(output)["deposit_id"])
            except (ValueError, KeyError):
                failures.append(output.strip()[:200])
        delivered = 0
        while delivered < len(ids) and time.monotonic() - start < args.timeout:
            delivered = sum(1 for line in open(log_path, "rb") if line.rstrip().endswith(b" delivered"))
            time.sleep(0.1)
        elapsed = time.monotonic() - start
        for probe in probes:
            probe.stopped.set()
        for probe in probes:
            probe.join(timeout=40)

        report = {"deposits": args.deposits, "recording_seconds": args.seconds, "accepted": len(ids),
                  "delivered": delivered, "post_failures": failures[:5], "burst_seconds": round(elapsed, 2),
                  "deposits_per_second": round(delivered / elapsed, 3) if elapsed else 0}
        for probe in probes:
            for phase in ("quiet", "burst"):
                values = probe.samples.get(phase, [])
                report[f"{probe.name}_{phase}"] = {
                    "n": len(values), "p50_ms": round(percentile(values, 0.5), 2),
                    "p99_ms": round(percentile(values, 0.99), 2), "max_ms": round(max(values, default=0), 2)}
            quiet = report[f"{probe.name}_quiet"]["p99_ms"]
            report[f"{probe.name}_p99_ratio_burst_to_quiet"] = round(report[f"{probe.name}_burst"]["p99_ms"] / quiet, 2) \
                if quiet else None
            report[f"{probe.name}_errors"] = probe.errors[:5]

        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(f"burst: {args.deposits} deposits of {args.seconds:.0f} s, {delivered} delivered in "
                  f"{elapsed:.1f} s = {report['deposits_per_second']} deposits/s (workers = cores = {os.cpu_count()})")
            print(f"{'client':<14}{'phase':<7}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
            for probe in probes:
                for phase in ("quiet", "burst"):
                    row = report[f"{probe.name}_{phase}"]
                    print(f"{probe.name:<14}{phase:<7}{row['n']:>6}{row['p50_ms']:>9}{row['p99_ms']:>9}{row['max_ms']:>9}")
                print(f"{'':<14}p99 burst/quiet = {report[probe.name + '_p99_ratio_burst_to_quiet']}")
        problems = []
        if failures or len(ids) != args.deposits:
            problems.append(f"{len(failures)} deposits were refused: {failures[:3]}")
        if delivered < len(ids):
            problems.append(f"only {delivered} of {len(ids)} delivered in {args.timeout} s")
        for probe in probes:
            if probe.errors:
                problems.append(f"{probe.name} failed: {probe.errors[:3]}")
            worst = report[f"{probe.name}_burst"]["max_ms"]
            if args.max_ms is not None and worst > args.max_ms:
                problems.append(f"{probe.name} took {worst:.0f} ms during the burst (limit {args.max_ms:.0f} ms)")
            if not probe.samples.get("burst"):
                problems.append(f"{probe.name} got no answer during the burst")
        for problem in problems:
            print("FAIL:", problem)
        return 1 if problems else 0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
        if os.environ.get("KEEP_WORKDIR"):
            print("work dir:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
