#!/usr/bin/env python3
"""Online backup under load (issue 19, part 3), driven by the CLI tests (BackupTests).

1. `mailvox serve` takes 40 voicemails over HTTPS; IMAP sets flags on them (\\Seen, \\Flagged,
   a keyword) — the "settled" messages.
2. While DEPOSITS - 40 more arrive over HTTPS from four clients and an IMAP client COPYs
   messages into a folder "Churn", changes their flags (files renamed new/ -> cur/:2,FLAGS)
   and EXPUNGEs them (files unlinked), `mailvox backup --to DIR` runs.
3. `backup verify DIR` passes; `restore --from DIR --master-key …` makes a new data dir;
   `fsck` is clean; the restored dir is served, and over IMAP every voicemail acknowledged
   before the backup started is in its INBOX, the settled ones with exactly their flags.
4. A backup killed with SIGKILL in the middle leaves nothing `verify` or `restore` accepts;
   the next backup into the same DIR works.

Prints PASS, or what failed and keeps the work dir.
"""
import argparse, email, glob, imaplib, json, os, random, signal, ssl, subprocess, sys, threading, time
import urllib.request

PASSWORD = "long-enough-1"


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--deposits", type=int, default=200)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    try:
        run(args)
    except Failure as failure:
        print(f"FAIL: {failure}\nkept {args.work}")
        sys.exit(1)
    print("PASS")


def run(args):
    work, binary = args.work, args.binary
    http, imap = free_port(), free_port()
    env = dict({k: v for k, v in os.environ.items() if not k.startswith("MAILVOX_")},
               MAILVOX_HTTP_LISTEN=f"127.0.0.1:{http}", MAILVOX_IMAP_LISTEN="",
               MAILVOX_IMAP_LISTEN_TLS=f"127.0.0.1:{imap}", MAILVOX_SERVER_WORKERS="2")
    config = os.path.join(work, "var", "mailvox.toml")

    def mailvox(*argv, stdin=None, config=config, environment=env, check_rc=True):
        command = [binary, *argv] + (["--config", config] if config else [])
        done = subprocess.run(command, cwd=work, env=environment, input=stdin, capture_output=True, text=True)
        check(not check_rc or done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}: {done.stderr}")
        return done

    mailvox("init", "--data-dir", "var", config=None)
    mailvox("mailbox", "add", "1000", "--name", "Backup Test", "--password-stdin", stdin=PASSWORD + "\n")
    token = mailvox("token", "create", "--name", "backup").stdout.strip().splitlines()[-1]
    wav = os.path.join(work, "hello.wav")
    subprocess.run(["espeak-ng", "Please call me back.", "-w", wav], check=True)
    subprocess.run(["sox", wav, "-r", "8000", "-c", "1", os.path.join(work, "short.wav")], check=True)
    audio = open(os.path.join(work, "short.wav"), "rb").read()
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    def serve(config_path, environment, log_name):
        log = open(os.path.join(work, log_name), "a")
        process = subprocess.Popen([binary, "serve", "--config", config_path], cwd=work, env=environment,
                                   stdout=log, stderr=log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if "IMAP listening" in open(os.path.join(work, log_name)).read():
                return process
            check(process.poll() is None, f"serve exited: {open(os.path.join(work, log_name)).read()[-2000:]}")
            time.sleep(0.1)
        raise Failure("serve never listened")

    def deposit(index):
        request = urllib.request.Request(
            f"https://127.0.0.1:{http}/api/v1/mailboxes/1000/voicemails?caller_number=2001", data=audio,
            method="POST", headers={"Authorization": f"Bearer {token}", "Content-Type": "audio/wav",
                                    "Idempotency-Key": f"backup-{index}"})
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return json.loads(response.read())["deposit_id"]

    def login(port):
        connection = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context)
        connection.login("1000", PASSWORD)
        return connection

    def inbox(connection):
        """Deposit id -> flags of every message in INBOX."""
        connection.select("INBOX", readonly=True)
        typ, data = connection.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        found = {}
        for item in data:
            if not isinstance(item, tuple):
                continue
            flags = set(imaplib.ParseFlags(item[0])) - {b"\\Recent"}
            message_id = email.message_from_bytes(item[1])["Message-ID"] or ""
            found[message_id.strip("<>").split("@")[0]] = {f.decode() for f in flags}
        return found

    def wait_for_inbox(port, count, seconds=120):
        deadline = time.time() + seconds
        while time.time() < deadline:
            connection = login(port)
            found = inbox(connection)
            connection.logout()
            if len(found) >= count:
                return found
            time.sleep(0.3)
        raise Failure(f"INBOX never reached {count} messages")

    server = serve(config, env, "serve.log")
    try:
        # 1. Settled messages with known flags.
        settled_count = 40
        settled = [deposit(i) for i in range(settled_count)]
        wait_for_inbox(imap, settled_count)
        connection = login(imap)
        connection.select("INBOX")
        typ, data = connection.uid("SEARCH", "ALL")
        uids = [int(u) for u in data[0].split()]
        for uid in uids:
            flags = [f for f, every in (("\\Seen", 2), ("\\Flagged", 3), ("$Callback", 5)) if uid % every == 0]
            if flags:
                connection.uid("STORE", str(uid), "+FLAGS", "(" + " ".join(flags) + ")")
        expected = inbox(connection)
        connection.create("Churn")
        connection.logout()

        # 2. Deposits and IMAP churn while the backup runs.
        acknowledged, lock, stop = {}, threading.Lock(), threading.Event()
        errors = []

        def depositor(indexes):
            try:
                for index in indexes:
                    deposit_id = deposit(index)
                    with lock:
                        acknowledged[deposit_id] = time.time()
            except Exception as error:  # reported below
                errors.append(f"depositor: {error!r}")

        def churner():
            try:
                client = login(imap)
                rounds = 0
                while not stop.is_set():
                    client.select("INBOX")
                    client.uid("COPY", f"{random.randint(1, settled_count)}:*", "Churn")
                    client.select("Churn")
                    typ, data = client.uid("SEARCH", "ALL")
                    churn = data[0].split()
                    for uid in churn:
                        client.uid("STORE", uid, "+FLAGS", random.choice(["(\\Seen)", "(\\Answered)", "(\\Draft)"]))
                    for uid in churn[: len(churn) // 2]:
                        client.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
                    client.expunge()
                    rounds += 1
                client.logout()
                check(rounds > 0, "churn never ran")
            except Exception as error:
                errors.append(f"churner: {error!r}")

        remaining = list(range(settled_count, args.deposits))
        threads = [threading.Thread(target=depositor, args=(remaining[i::4],)) for i in range(4)]
        threads.append(threading.Thread(target=churner))
        for thread in threads:
            thread.start()
        while True:
            with lock:
                if len(acknowledged) >= len(remaining) // 3 or not any(t.is_alive() for t in threads[:4]):
                    break
            time.sleep(0.05)
        backups = os.path.join(work, "backups")
        with lock:
            before = set(settled) | set(acknowledged)
        started = time.time()
        backup = mailvox("backup", "--to", backups)
        with lock:
            during = sum(1 for at in acknowledged.values() if at > started)
        for thread in threads[:4]:
            thread.join()
        stop.set()
        threads[4].join()
        check(not errors, f"load failed: {errors}")
        print(f"backup ran {time.time() - started:.2f} s with {during} deposits acknowledged meanwhile: "
              f"{backup.stdout.strip()}")

        verify = mailvox("backup", "verify", backups, config=None)
        print(verify.stdout.strip())

        # 3. Restore, fsck, serve the restored dir and compare over IMAP.
        restored = os.path.join(work, "restored")
        master_key = os.path.join(work, "var", "keys", "master.key")
        print(mailvox("restore", "--from", backups, "--data-dir", restored, "--master-key", master_key,
                      config=None).stdout.strip().splitlines()[0])
        restored_config = os.path.join(restored, "mailvox.toml")
        fsck = mailvox("fsck", config=restored_config, check_rc=False)
        check(fsck.returncode == 0, f"fsck of the restored dir: {fsck.stdout}{fsck.stderr}")
        imap2 = free_port()
        env2 = dict(env, MAILVOX_HTTP_LISTEN="", MAILVOX_IMAP_LISTEN_TLS=f"127.0.0.1:{imap2}")
        server2 = serve(restored_config, env2, "restored.log")
        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                jobs = json.loads(mailvox("queue", "list", "--json", config=restored_config,
                                          environment=env2).stdout or "[]")
                if not any(job["kind"] == "deliver" and job["state"] != "dead" for job in jobs):
                    break
                time.sleep(0.5)
            connection = login(imap2)
            found = inbox(connection)
            connection.select("Churn", readonly=True)
            connection.logout()
        finally:
            server2.send_signal(signal.SIGTERM)
            server2.wait()
        lost = sorted(before - set(found))
        check(not lost, f"{len(lost)} voicemails acknowledged before the backup started are missing: {lost[:5]}")
        wrong = {d: (expected[d], found[d]) for d in expected if found.get(d) != expected[d]}
        check(not wrong, f"flags differ after restore: {dict(list(wrong.items())[:5])}")
        print(f"restored: {len(found)} in INBOX, all {len(before)} acknowledged before the backup, "
              f"{len(expected)} with their flags")

        # 4. SIGKILL in the middle of a backup (copying to another file system where there is one,
        # so it takes long enough to be caught).
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else work
        for attempt in range(40):
            killed_dir = os.path.join(base, f"mvx-killed-{os.getpid()}-{attempt}")
            process = subprocess.Popen([binary, "backup", "--to", killed_dir, "--config", config], cwd=work,
                                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while process.poll() is None and not glob.glob(os.path.join(killed_dir, "*.partial", "incoming", "*")):
                time.sleep(0.0005)
            process.send_signal(signal.SIGKILL)
            process.wait()
            complete = [n for n in os.listdir(killed_dir) if n.startswith("20") and not n.endswith(".partial")] \
                if os.path.isdir(killed_dir) else []
            if process.returncode == -signal.SIGKILL and not complete and glob.glob(killed_dir + "/*.partial"):
                break
            subprocess.run(["rm", "-rf", killed_dir])
        else:
            raise Failure("no SIGKILL landed inside a backup in 40 attempts")
        try:
            verify = mailvox("backup", "verify", killed_dir, config=None, check_rc=False)
            check(verify.returncode != 0 and "no complete backup" in verify.stderr,
                  f"verify accepted a killed backup: {verify.stdout}{verify.stderr}")
            refused = mailvox("restore", "--from", killed_dir, "--data-dir", os.path.join(work, "from-killed"),
                              config=None, check_rc=False)
            check(refused.returncode != 0 and not os.path.exists(os.path.join(work, "from-killed")),
                  f"restore took a killed backup: {refused.stdout}{refused.stderr}")
            mailvox("backup", "--to", killed_dir)
            verify = mailvox("backup", "verify", killed_dir, config=None)
            check(not glob.glob(killed_dir + "/*.partial"), "the killed run's leftovers were not removed")
            print(f"killed backup refused (attempt {attempt + 1}); the next one: {verify.stdout.strip()}")
        finally:
            subprocess.run(["rm", "-rf", killed_dir])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()


if __name__ == "__main__":
    main()
