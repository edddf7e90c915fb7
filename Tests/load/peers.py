"""The scale-out peers of the load scripts: a PostgreSQL server (initdb in a temp dir, fsync and
synchronous_commit on, as SQLite's durability) and SeaweedFS's S3 server (from PyPI, installed
by `scripts/bootstrap test` into .build/peers/seaweedfs), both on free loopback ports and both
stopped by `Peers.stop`. Used by Tests/crash/crash_test.py --nodes and Tests/load/scaleout_bench.py.
"""
import json, os, random, socket, subprocess, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG = "/usr/lib/postgresql/15/bin"
WEED = os.environ.get("MAILVOX_WEED", os.path.join(ROOT, ".build/peers/seaweedfs/bin/weed"))


def free_port():
    while True:
        port = random.randrange(20000, 45000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        # weed's gRPC ports are +10000.
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
                return port
            except OSError:
                continue


def as_postgres(argv):
    return (["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []) + argv


def wait_port(port, seconds=90):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"port {port} never answered")


class Peers:
    """PostgreSQL (fsync on) and SeaweedFS in a temp dir, stopped at exit."""

    def __init__(self, work):
        self.work = work
        self.processes = []
        pg = os.path.join(work, "pg")
        os.makedirs(pg + "/data")
        os.makedirs(pg + "/sock")
        os.chmod(pg, 0o711)
        if os.getuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", pg + "/data", pg + "/sock"], check=True)
        os.chmod(pg + "/data", 0o700)
        subprocess.run(as_postgres([PG + "/initdb", "-D", pg + "/data", "-A", "trust", "-U", "mailvox",
                                    "--no-instructions", "-E", "UTF8"]), check=True, capture_output=True)
        self.pg_port = free_port()
        # PG_LOG=PATH keeps the server's log there, with every statement slower than PG_LOG_MS
        # (50) ms, lock waits, checkpoints and autovacuum runs: what to read when a p99 is high.
        # (Not MAILVOX_*: the nodes inherit this environment and refuse MAILVOX_ settings they
        # do not know.)
        keep = os.environ.get("PG_LOG")
        log = open(keep or pg + "/sock/server.log", "w")
        slow = os.environ.get("PG_LOG_MS", "50")  # 0: every statement, with its duration
        diagnosis = ["-c", f"log_min_duration_statement={slow}", "-c", "log_lock_waits=on", "-c", "log_checkpoints=on",
                     "-c", "log_autovacuum_min_duration=0", "-c", "track_io_timing=on"] if keep else []
        self.processes.append(subprocess.Popen(
            as_postgres([PG + "/postgres", "-D", pg + "/data", "-p", str(self.pg_port), "-k", pg + "/sock",
                         "-h", "127.0.0.1", "-c", "max_connections=300"] + diagnosis), stdout=log, stderr=log))
        wait_port(self.pg_port)
        time.sleep(1)
        self.databases = 0

        s3 = os.path.join(work, "s3")
        os.makedirs(s3 + "/data")
        self.access, self.secret = "MVXBENCH" + os.urandom(6).hex().upper(), os.urandom(20).hex()
        json.dump({"identities": [{"name": "mailvox", "credentials": [{"accessKey": self.access, "secretKey": self.secret}],
                                   "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}, open(s3 + "/s3.json", "w"))
        master, volume, filer, self.s3_port = free_port(), free_port(), free_port(), free_port()
        self.master = master
        log = open(s3 + "/weed.log", "w")
        self.processes.append(subprocess.Popen(
            [WEED, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={s3}/data", f"-master.port={master}",
             f"-volume.port={volume}", f"-filer.port={filer}", "-master.volumeSizeLimitMB=64", "-volume.max=0",
             "-s3", f"-s3.port={self.s3_port}", f"-s3.config={s3}/s3.json", "-s3.autoCreateBucket=false",
             "-s3.port.iceberg=0", "-s3.port.lance=0"], cwd=s3, stdout=log, stderr=log))
        wait_port(self.s3_port)

    def database(self):
        self.databases += 1
        name = f"bench{self.databases}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "mailvox", "-d", "postgres",
                        "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
        return f"postgres://mailvox@127.0.0.1:{self.pg_port}/{name}?sslmode=disable"

    def bucket(self):
        name = f"bench-{os.urandom(4).hex()}"
        for _ in range(60):
            made = subprocess.run([WEED, "shell", f"-master=127.0.0.1:{self.master}"],
                                  input=f"s3.bucket.create -name {name}\n", capture_output=True, text=True)
            listed = subprocess.run([WEED, "shell", f"-master=127.0.0.1:{self.master}"],
                                    input="s3.bucket.list\n", capture_output=True, text=True)
            if name in listed.stdout:
                return name
            time.sleep(1)
        raise SystemExit(f"could not create bucket {name}: {made.stdout} {made.stderr}")

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def shared_environment(peers, work):
    """The MAILVOX_* settings of a node on `peers`: a new database and a new bucket, the S3 keys
    written to files (mode 600) in `work`."""
    bucket = peers.bucket()
    for name, value in [("access.key", peers.access), ("secret.key", peers.secret)]:
        path = os.path.join(work, name)
        with open(path, "w") as handle:
            handle.write(value)
        os.chmod(path, 0o600)
    return dict(MAILVOX_STORAGE_BACKEND="postgres", MAILVOX_POSTGRES_URL=peers.database(),
                MAILVOX_BLOBS_BACKEND="s3", MAILVOX_BLOBS_ENDPOINT=f"http://127.0.0.1:{peers.s3_port}",
                MAILVOX_BLOBS_BUCKET=bucket, MAILVOX_BLOBS_PATH_STYLE="true",
                MAILVOX_BLOBS_ACCESS_KEY_FILE=os.path.join(work, "access.key"),
                MAILVOX_BLOBS_SECRET_KEY_FILE=os.path.join(work, "secret.key"))
