#!/usr/bin/env python3
"""Crash test for the deposit path (issue 6): deposits go in over HTTPS — and, with --smtp N,
voicemail emails over SMTP from several clients (issue 15) — while `mailvox serve` is killed
with SIGKILL at random moments and restarted. A client retries what got no answer, HTTP with
the same Idempotency-Key, SMTP with the same Message-ID, as PBXs and MTAs do. At the end every
deposit that got a 202 or a 250 must be stored exactly once. Prints accepted / stored /
duplicates / lost; exits 1 if any deposit was lost or stored twice.

    crash_test.py --binary .build/debug/mailvox --deposits 100 --smtp 200 --kills 5

With --nodes N (issue 18) the same runs against N nodes sharing one PostgreSQL database and one
S3 bucket (Tests/load/peers.py starts both): deposits and emails are spread over the nodes, a
random node is killed each time, and a client with no answer sends to the next node with the
same key, as behind a load balancer.
"""
import argparse, base64, email, smtplib, glob, json, os, random, shutil, signal, socket, ssl, subprocess, sys, tempfile, threading, time
import urllib.request, urllib.error


def free_port():
    # Below the kernel's ephemeral range: clients retrying a stopped server in a tight loop
    # would otherwise, now and then, be given the server's own port as their source port, and
    # a TCP self-connect then holds the port so the restarted server cannot bind it.
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    while True:
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--deposits", type=int, default=100)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--smtp", type=int, default=0, help="voicemail emails sent over SMTP as well")
    parser.add_argument("--smtp-clients", type=int, default=4)
    parser.add_argument("--nodes", type=int, default=1, help="nodes over one PostgreSQL and one bucket")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    random.seed(args.seed)
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="mvx-crash-")
    peers = None
    shared = {}
    if args.nodes > 1:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "load"))
        from peers import Peers, shared_environment
        os.chmod(work, 0o711)  # PostgreSQL runs as its own user and must reach its data dir
        peers = Peers(work)
        shared = shared_environment(peers, work)
        shared["MAILVOX_INBOUND_DOMAINS"] = "localhost"
    nodes = []
    for index in range(args.nodes):
        directory = work if args.nodes == 1 else os.path.join(work, f"node{index + 1}")
        os.makedirs(directory, exist_ok=True)
        port, smtp_port = free_port(), free_port()
        env = dict(os.environ, MAILVOX_HTTP_LISTEN=f"127.0.0.1:{port}",
                   MAILVOX_SERVER_WORKERS="2" if args.nodes == 1 else "1",
                   MAILVOX_INBOUND_SMTP_LISTEN=f"127.0.0.1:{smtp_port}", MAILVOX_IMAP_LISTEN="",
                   MAILVOX_IMAP_LISTEN_TLS="", **shared)
        if args.nodes > 1:
            # Unique per node: it names the node's job leases.
            env["MAILVOX_SERVER_HOSTNAME"] = f"node{index + 1}.example"
            if index > 0:
                env["MAILVOX_CRYPTO_MASTER_KEY_FILE"] = os.path.join(work, "node1", "var", "keys", "master.key")
        nodes.append({"dir": directory, "env": env, "port": port, "smtp_port": smtp_port,
                      "config": os.path.join(directory, "var", "mailvox.toml"), "process": None})

    def mailvox(*argv, stdin=None, node=None):
        node = node or nodes[0]
        command = [binary, *argv, "--config", node["config"]] if argv[0] != "init" else [binary, *argv]
        return subprocess.run(command, cwd=node["dir"], env=node["env"], input=stdin, capture_output=True, text=True,
                              check=True).stdout

    for node in nodes:
        mailvox("init", "--data-dir", "var", node=node)
    mailvox("mailbox", "add", "1000", "--name", "Crash Test", "--password-stdin", stdin="long-enough-1\n")
    token = mailvox("token", "create", "--name", "crash").strip().splitlines()[-1]
    audio_path = os.path.join(work, "hello.wav")
    subprocess.run(["espeak-ng", "Please call me back.", "-w", audio_path], check=True)
    subprocess.run(["sox", audio_path, "-r", "8000", "-c", "1", os.path.join(work, "short.wav")], check=True)
    audio = open(os.path.join(work, "short.wav"), "rb").read()

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    lock = threading.Lock()

    def start(node):
        log = open(os.path.join(node["dir"], "serve.log"), "a")
        node["process"] = subprocess.Popen([binary, "serve", "--config", node["config"]], cwd=node["dir"],
                                           env=node["env"], stdout=log, stderr=log)

    accepted = {}  # idempotency key -> deposit id
    done = threading.Event()

    def sender():
        for index in range(args.deposits):
            key = f"crash-{index}"
            target = index % len(nodes)
            while True:
                request = urllib.request.Request(
                    f"https://127.0.0.1:{nodes[target]['port']}/api/v1/mailboxes/1000/voicemails?caller_number=2001",
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
                    # Down, or its storage is (503): the same key again, on the next node.
                    target = (target + 1) % len(nodes)
                    time.sleep(0.2)
        done.set()

    def smtp_sender(client, indexes):
        # An Asterisk-style voicemail email; loopback is trusted, so no AUTH. Each email keeps
        # its Message-ID across retries: the door's idempotency key.
        for index in indexes:
            message_id = f"<crash-smtp-{index}@pbx.example.com>"
            body = base64.encodebytes(audio).decode().replace("\n", "\r\n")
            mail = (f"From: Asterisk PBX <asterisk@pbx.example.com>\r\nTo: 1000@localhost\r\n"
                    f"Subject: New message {index} in mailbox 1000\r\nMessage-ID: {message_id}\r\n"
                    f"X-Asterisk-CallerID: 2002\r\nMIME-Version: 1.0\r\n"
                    f"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
                    f"Content-Type: text/plain\r\n\r\nA voicemail.\r\n--b\r\n"
                    f"Content-Type: audio/x-wav; name=\"msg{index:04}.wav\"\r\n"
                    f"Content-Transfer-Encoding: base64\r\n\r\n{body}--b--\r\n").encode()
            target = index % len(nodes)
            while True:
                try:
                    with smtplib.SMTP("127.0.0.1", nodes[target]["smtp_port"], timeout=10) as connection:
                        connection.ehlo("pbx.example.com")
                        connection.mail("asterisk@pbx.example.com")
                        connection.rcpt("1000@localhost")
                        code, text = connection.data(mail)
                    if code == 250:
                        deposit = text.decode().split()[-1]
                        with lock:
                            key = f"smtp-{index}"
                            if key in accepted and accepted[key] != deposit:
                                print(f"{key} got two deposit ids", file=sys.stderr)
                            accepted[key] = deposit
                        break
                    target = (target + 1) % len(nodes)
                    time.sleep(0.2)  # 4xx: try again later, as an MTA does
                except (smtplib.SMTPException, ConnectionError, OSError):
                    target = (target + 1) % len(nodes)
                    time.sleep(0.2)  # no answer: the message is sent again, same Message-ID

    for node in nodes:
        start(node)
    thread = threading.Thread(target=sender)
    thread.start()
    smtp_threads = [threading.Thread(target=smtp_sender, args=(client, range(client, args.smtp, args.smtp_clients)))
                    for client in range(args.smtp_clients)] if args.smtp else []
    for smtp_thread in smtp_threads:
        smtp_thread.start()
    kills = 0
    # Kills land while deposits arrive and, once they are in, while workers deliver them.
    while kills < args.kills:
        time.sleep(random.uniform(0.3, 1.5))
        victim = random.choice(nodes)
        victim["process"].send_signal(signal.SIGKILL)
        victim["process"].wait()
        kills += 1
        start(victim)
    # A server that stops by itself (it could not start, say) would leave the clients retrying
    # for ever: fail with its log instead.
    for waiting in [thread] + smtp_threads:
        while waiting.is_alive():
            waiting.join(timeout=1)
            for node in nodes:
                if node["process"].poll() is not None:
                    log = open(os.path.join(node["dir"], "serve.log")).read()[-2000:]
                    print(f"serve exited by itself ({node['process'].returncode}); kept {work}\n{log}",
                          file=sys.stderr)
                    if peers:
                        peers.stop()
                    os._exit(1)

    # Let the restarted server drain the queue, then stop it.
    deadline = time.time() + 300
    while time.time() < deadline:
        jobs = json.loads(mailvox("queue", "list", "--json") or "[]")
        if not any(job["kind"] == "deliver" for job in jobs):
            break
        time.sleep(1)
    for node in nodes:
        node["process"].send_signal(signal.SIGTERM)
    for node in nodes:
        node["process"].wait()

    export = os.path.join(work, "export")
    mailvox("export", "--maildir", export, "--mailbox", "1000")
    stored = {}
    for path in glob.glob(os.path.join(export, "cur", "*")):
        with open(path, "rb") as handle:
            message = email.message_from_binary_file(handle)
        deposit = message["Message-ID"].strip("<>").split("@")[0]
        stored[deposit] = stored.get(deposit, 0) + 1
    dead = json.loads(mailvox("queue", "list", "--dead", "--json") or "[]")
    fsck = subprocess.run([binary, "fsck", "--config", nodes[0]["config"]], cwd=nodes[0]["dir"], env=nodes[0]["env"],
                          capture_output=True, text=True)
    if peers:
        peers.stop()

    ids = set(accepted.values())
    lost = sorted(ids - set(stored))
    duplicates = sorted(d for d, count in stored.items() if count > 1)
    print(f"crash test (seed {args.seed}, nodes {args.nodes}): kills {kills}, accepted {len(ids)}, stored {len(stored)}, "
          f"duplicates {len(duplicates)}, lost {len(lost)}, dead {len(dead)}, fsck {'clean' if fsck.returncode == 0 else 'FAILED'}")
    ok = not lost and not duplicates and len(ids) == args.deposits + args.smtp and fsck.returncode == 0 and not dead
    if ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work} for inspection; lost {lost[:5]} duplicates {duplicates[:5]}", file=sys.stderr)
        print(fsck.stdout, file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
