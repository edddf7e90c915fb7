"""`mailvox migrate` timed (docs/SCALE-OUT.md, "Moving between backends"): an embedded
installation with `--messages` delivered voicemails goes into PostgreSQL + S3 and back into a
new embedded data dir, each with its verify pass; printed beside `cp -a` of the same spool on
the same disk (the floor for moving its files, with no database and no checking).

Usage: migrate_bench.py --binary .build/release/mailvox [--messages 500]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import Peers, shared_environment  # noqa: E402
from scaleout_bench import Node, deposit  # noqa: E402


def config_for_shared(node_dir, env, master_key):
    """Writes the shared backends into `node_dir`'s config: migrate reads two configs, so the
    target's settings go in its file, not in MAILVOX_* variables (those apply to both)."""
    path = os.path.join(node_dir, "var", "mailvox.toml")
    with open(path, "a") as config:
        config.write(f"""
[crypto]
master_key_file = "{master_key}"

[storage]
backend = "postgres"

[postgres]
url = "{env['MAILVOX_POSTGRES_URL']}"

[blobs]
backend = "s3"
endpoint = "{env['MAILVOX_BLOBS_ENDPOINT']}"
bucket = "{env['MAILVOX_BLOBS_BUCKET']}"
path_style = true
access_key_file = "{env['MAILVOX_BLOBS_ACCESS_KEY_FILE']}"
secret_key_file = "{env['MAILVOX_BLOBS_SECRET_KEY_FILE']}"
""")
    return path


def migrate(binary, work, source, target):
    started = time.time()
    result = subprocess.run([binary, "migrate", "--from", source, "--to", target], cwd=work, capture_output=True,
                            text=True, env={k: v for k, v in os.environ.items() if not k.startswith("MAILVOX_")})
    seconds = time.time() - started
    if result.returncode != 0 or "verified" not in result.stdout:
        raise SystemExit(f"migrate failed: {result.stdout}{result.stderr}")
    return seconds, result.stdout.strip().splitlines()[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="mvx-migrate-bench-")
    os.chmod(work, 0o711)  # PostgreSQL runs as its own user and must reach its data dir
    subprocess.run(["espeak-ng", "Hello, this is Ada. Please call me back about the invoice.", "-w",
                    os.path.join(work, "hello.wav")], check=True)
    audio = open(os.path.join(work, "hello.wav"), "rb").read()
    peers = Peers(work)
    try:
        source_dir = os.path.join(work, "source")
        os.makedirs(source_dir)
        source = Node(binary, source_dir, {})
        source.cli("init", "--data-dir", "var")
        source.cli("mailbox", "add", "1000", "--name", "Bench", "--password-stdin", stdin="long-enough-1\n")
        token = source.cli("token", "create", "--name", "bench").strip().splitlines()[-1]
        source.start()
        try:
            keys = iter(range(args.messages))
            lock = threading.Lock()

            def client():
                while True:
                    with lock:
                        key = next(keys, None)
                    if key is None:
                        return
                    deposit(source, token, audio, f"m-{key}")
            threads = [threading.Thread(target=client) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            deadline = time.time() + 600
            while time.time() < deadline:
                folders = json.loads(source.cli("mailbox", "show", "1000", "--json"))["folders"]
                if any(f["name"] == "INBOX" and f["messages"] == args.messages for f in folders):
                    break
                time.sleep(0.5)
        finally:
            source.stop()
        spool = os.path.join(source_dir, "var", "spool")
        size = sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(spool) for name in names)

        started = time.time()
        shutil.copytree(spool, os.path.join(work, "spool-copy"), symlinks=True)
        subprocess.run(["sync"], check=True)
        copy_seconds = time.time() - started

        master_key = os.path.join(source_dir, "var", "keys", "master.key")
        target_dir = os.path.join(work, "shared")
        os.makedirs(target_dir)
        Node(binary, target_dir, {}).cli("init", "--data-dir", "var")
        target = config_for_shared(target_dir, shared_environment(peers, target_dir), master_key)
        forth, forth_line = migrate(binary, work, os.path.join(source_dir, "var", "mailvox.toml"), target)

        back_dir = os.path.join(work, "back")
        os.makedirs(back_dir)
        Node(binary, back_dir, {}).cli("init", "--data-dir", "var")
        back_config = os.path.join(back_dir, "var", "mailvox.toml")
        with open(back_config, "a") as config:
            config.write(f'\n[crypto]\nmaster_key_file = "{master_key}"\n')
        back, back_line = migrate(binary, work, target, back_config)
    finally:
        peers.stop()
    megabytes = size / 1_048_576
    print(f"{args.messages} voicemails, {megabytes:.1f} MiB sealed")
    print(f"  embedded -> postgres+S3  {forth:6.1f} s  {args.messages / forth:6.1f} messages/s  ({forth_line})")
    print(f"  postgres+S3 -> embedded  {back:6.1f} s  {args.messages / back:6.1f} messages/s  ({back_line})")
    print(f"  cp -a of the spool       {copy_seconds:6.2f} s   migrate forth / cp: {forth / copy_seconds:.0f}x "
          "(migrate also writes every row, PUTs each file and reads both sides back to verify)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
