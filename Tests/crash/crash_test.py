#!/usr/bin/env python3
"""Crash test for the deposit path (issue 6): deposits go in over HTTPS while `mailvox serve`
is killed with SIGKILL at random moments and restarted. At the end every deposit that got a
202 must be stored exactly once. Prints accepted / stored / duplicates / lost; exits 1 if
any deposit was lost or stored twice.

    crash_test.py --binary .build/debug/mailvox --deposits 100 --kills 5
"""
import argparse, email, glob, json, os, random, shutil, signal, socket, ssl, subprocess, sys, tempfile, threading, time
import urllib.request, urllib.error


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--deposits", type=int, default=100)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    random.seed(args.seed)
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="mvx-crash-")
    port = free_port()
    env = dict(os.environ, MAILVOX_HTTP_LISTEN=f"127.0.0.1:{port}", MAILVOX_SERVER_WORKERS="2")
    config = os.path.join(work, "var", "mailvox.toml")

    def mailvox(*argv, stdin=None):
        return subprocess.run([binary, *argv, "--config", config] if argv[0] != "init" else [binary, *argv],
                              cwd=work, env=env, input=stdin, capture_output=True, text=True, check=True).stdout

    mailvox("init", "--data-dir", "var")
    mailvox("mailbox", "add", "1000", "--name", "Crash Test", "--password-stdin", stdin="long-enough-1\n")
    token = mailvox("token", "create", "--name", "crash").strip().splitlines()[-1]
    audio_path = os.path.join(work, "hello.wav")
    subprocess.run(["espeak-ng", "Please call me back.", "-w", audio_path], check=True)
    subprocess.run(["sox", audio_path, "-r", "8000", "-c", "1", os.path.join(work, "short.wav")], check=True)
    audio = open(os.path.join(work, "short.wav"), "rb").read()

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    server = {"process": None}
    lock = threading.Lock()

    def start():
        log = open(os.path.join(work, "serve.log"), "a")
        server["process"] = subprocess.Popen([binary, "serve", "--config", config], cwd=work, env=env,
                                             stdout=log, stderr=log)

    accepted = {}  # idempotency key -> deposit id
    done = threading.Event()

    def sender():
        for index in range(args.deposits):
            key = f"crash-{index}"
            while True:
                request = urllib.request.Request(
                    f"https://127.0.0.1:{port}/api/v1/mailboxes/1000/voicemails?caller_number=2001",
                    data=audio, method="POST",
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "audio/wav", "Idempotency-Key": key})
                try:
                    with urllib.request.urlopen(request, context=context, timeout=10) as response:
                        body = json.loads(response.read())
                        with lock:
                            # A retried key answers 200 with the first id: never a second deposit.
                            if key in accepted and accepted[key] != body["deposit_id"]:
                                print(f"key {key} got two deposit ids", file=sys.stderr)
                            accepted[key] = body["deposit_id"]
                        break
                except (urllib.error.URLError, ConnectionError, OSError, json.JSONDecodeError):
                    time.sleep(0.2)  # server down: the client retries with the same key
        done.set()

    start()
    thread = threading.Thread(target=sender)
    thread.start()
    kills = 0
    # Kills land while deposits arrive and, once they are in, while workers deliver them.
    while kills < args.kills:
        time.sleep(random.uniform(0.3, 1.5))
        server["process"].send_signal(signal.SIGKILL)
        server["process"].wait()
        kills += 1
        start()
    thread.join()

    # Let the restarted server drain the queue, then stop it.
    deadline = time.time() + 300
    while time.time() < deadline:
        jobs = json.loads(mailvox("queue", "list", "--json") or "[]")
        if not any(job["kind"] == "deliver" for job in jobs):
            break
        time.sleep(1)
    server["process"].send_signal(signal.SIGTERM)
    server["process"].wait()

    export = os.path.join(work, "export")
    mailvox("export", "--maildir", export, "--mailbox", "1000")
    stored = {}
    for path in glob.glob(os.path.join(export, "cur", "*")):
        with open(path, "rb") as handle:
            message = email.message_from_binary_file(handle)
        deposit = message["Message-ID"].strip("<>").split("@")[0]
        stored[deposit] = stored.get(deposit, 0) + 1
    dead = json.loads(mailvox("queue", "list", "--dead", "--json") or "[]")
    fsck = subprocess.run([binary, "fsck", "--config", config], cwd=work, env=env, capture_output=True, text=True)

    ids = set(accepted.values())
    lost = sorted(ids - set(stored))
    duplicates = sorted(d for d, count in stored.items() if count > 1)
    print(f"crash test (seed {args.seed}): kills {kills}, accepted {len(ids)}, stored {len(stored)}, "
          f"duplicates {len(duplicates)}, lost {len(lost)}, dead {len(dead)}, fsck {'clean' if fsck.returncode == 0 else 'FAILED'}")
    ok = not lost and not duplicates and len(ids) == args.deposits and fsck.returncode == 0 and not dead
    if ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work} for inspection; lost {lost[:5]} duplicates {duplicates[:5]}", file=sys.stderr)
        print(fsck.stdout, file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
