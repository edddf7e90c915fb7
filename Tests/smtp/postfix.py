#!/usr/bin/env python3
"""A private Postfix instance for tests and benchmarks: never the system's.

Everything of the instance lives under one work directory: its config_directory (main.cf,
master.cf), queue_directory, data_directory, its log file (`maillog_file` through postlogd, so
nothing goes to syslog) and, in local mode, its Maildirs. Its only listener is smtpd on
127.0.0.1:PORT; no port 25, nothing of the system's instance, no outside delivery.

Two modes:
  relay  mail to anything@DOMAIN accepted by smtpd is relayed over LMTP (`relay_transport =
         lmtp:inet:127.0.0.1:N` or `lmtp:unix:/path`) into Mailvox's LMTP door, as a site's
         Postfix in front of Mailvox would do it.
  local  mail to USER@DOMAIN is delivered by Postfix's virtual(8) agent into
         WORKDIR/mail/USER/{new,cur,tmp} (a Maildir owned by a non-root uid): the peer of the SMTP
         intake benchmark (Tests/load/smtp_bench.py).
With cert/key, smtpd offers STARTTLS (`smtpd_tls_security_level = may`).

Postfix must run as root (master binds and drops to mail_owner = postfix); the Debian package
(scripts/bootstrap test) provides the binaries and the postfix/postdrop accounts. Only the
standard library is used, so any python3 runs the Postfix part; `lmtp-sink` needs aiosmtpd
(/usr/bin/python3 on Debian 12 has it: python3-aiosmtpd).

Python:
    import postfix
    h = postfix.start("/tmp/w", 2525, "relay", domain="localhost", lmtp="127.0.0.1:2424")
    ... send to x@localhost on 127.0.0.1:2525 ...
    postfix.wait_delivered(h, 1, timeout=30); postfix.queue_empty(h); print(postfix.log(h))
    postfix.stop(h)

CLI (the handle is kept in WORKDIR/instance.json, so a later call only needs --workdir):
    postfix.py start --workdir W --port P --mode relay --domain D --lmtp 127.0.0.1:N|/abs/socket
    postfix.py start --workdir W --port P --mode local --domain D [--user U]... [--cert C --key K]
    postfix.py wait --workdir W --count N [--timeout S]   exit 0 when N are delivered, else 1
    postfix.py queue --workdir W                          prints postqueue -p; exit 0 when empty
    postfix.py flush --workdir W                          retries deferred mail now (postqueue -f)
    postfix.py log --workdir W                            prints the instance's maillog
    postfix.py deliveries --workdir W                     JSON {"sent": [lines], "deferred": [...], "bounced": [...]}
    postfix.py stop --workdir W                           stops it; every process of it is gone
    postfix.py lmtp-sink --port N [--dir D] [--reply "452 4.3.1 full"]   (needs aiosmtpd)
    postfix.py selftest                                   tries both modes for real (uses swaks)
"""
import argparse
import json
import pwd
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"
DAEMON_DIRECTORY = "/usr/lib/postfix/sbin"
HANDLE_FILE = "instance.json"
# The uid/gid that owns local mode's Maildirs: virtual(8) refuses uids below
# virtual_minimum_uid (100) and will not deliver as root. No account is needed for a static map.
MAILDIR_UID = 5000
MAILDIR_GID = 5000


class PostfixError(Exception):
    """The instance could not be configured, started or stopped; the message says why."""


def _postfix(config_dir, *arguments, check=True):
    result = subprocess.run([POSTFIX, "-c", config_dir, *arguments], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise PostfixError(f"postfix -c {config_dir} {' '.join(arguments)} failed ({result.returncode}): "
                           f"{(result.stderr + result.stdout).strip()}")
    return result


def _lmtp_nexthop(lmtp):
    """`127.0.0.1:2424`, `2424`, `inet:…`, `/abs/socket` or `unix:/abs/socket` → Postfix's form."""
    lmtp = str(lmtp)
    if lmtp.startswith(("inet:", "unix:")):
        return lmtp
    if lmtp.startswith("/"):
        return "unix:" + lmtp
    if lmtp.isdigit():
        return f"inet:127.0.0.1:{lmtp}"
    return "inet:" + lmtp


def _main_cf(handle, mode, domain, lmtp, users, cert, key, extra):
    d = handle
    settings = {
        # Its own directories: nothing of /etc/postfix's instance or /var/spool/postfix is touched.
        "compatibility_level": "3.6",
        "queue_directory": d["queue_dir"],
        "data_directory": d["data_dir"],
        "mail_owner": "postfix",
        "setgid_group": "postdrop",
        # Its log in a file through postlogd (master.cf's `postlog` service), not syslog; the
        # file must be under one of maillog_file_prefixes (default /var, /dev/stdout).
        "maillog_file": d["log_path"],
        "maillog_file_prefixes": d["workdir"],
        "syslog_name": "postfix-test",
        "myhostname": "postfix.test.invalid",  # not the LMTP peer's name, or lmtp(8) sees a loop
        "mydomain": "test.invalid",
        "myorigin": "$myhostname",
        "mydestination": "",
        "inet_interfaces": "127.0.0.1",
        "inet_protocols": "ipv4",
        "mynetworks": "127.0.0.0/8",
        "relayhost": "",
        # Nothing leaves the machine: mail for any domain but the test's bounces at once.
        "default_transport": "error:outside delivery is off in this test instance",
        "alias_maps": "",
        "alias_database": "",
        "local_recipient_maps": "",
        "biff": "no",
        "append_dot_mydomain": "no",
        "smtputf8_enable": "yes",
        "message_size_limit": "104857600",
        # virtual(8) and local(8) refuse to start when their mailbox limit is below
        # message_size_limit ("configuration error"); 0 = no limit (a Maildir has no file to cap).
        "virtual_mailbox_limit": "0",
        "mailbox_size_limit": "0",
        # Retries soon after a deferral (e.g. Mailvox's 452 4.3.1), so a test sees them.
        "queue_run_delay": "1s",
        "minimal_backoff_time": "1s",
        "maximal_backoff_time": "5s",
        "smtpd_banner": "$myhostname ESMTP Postfix (test instance)",
        "smtpd_tls_loglevel": "1",
    }
    if mode == "relay":
        settings.update({
            "relay_domains": domain,
            "relay_recipient_maps": "",  # every recipient goes on; Mailvox's LMTP decides (550 5.1.1)
            "relay_transport": "lmtp:" + _lmtp_nexthop(lmtp),
            "lmtp_tls_security_level": "none",
        })
    else:
        mailboxes = ", ".join(f"{user}@{domain}={user}/" for user in users)  # trailing "/" = Maildir
        settings.update({
            "virtual_mailbox_domains": domain,
            "virtual_mailbox_base": d["maildir_base"],
            "virtual_mailbox_maps": "inline:{ " + mailboxes + " }",
            "virtual_uid_maps": f"static:{MAILDIR_UID}",
            "virtual_gid_maps": f"static:{MAILDIR_GID}",
            "virtual_transport": "virtual",
        })
    if cert:
        settings.update({
            "smtpd_tls_cert_file": os.path.abspath(cert),
            "smtpd_tls_key_file": os.path.abspath(key),
            "smtpd_tls_security_level": "may",
        })
    else:
        settings["smtpd_tls_security_level"] = "none"
    settings.update(extra or {})
    return "".join(f"{name} = {value}\n" for name, value in settings.items())


def _master_cf(port):
    # chroot "n" everywhere (Debian's own master.cf chroots, which needs files copied into the
    # queue directory). No `smtp inet` on port 25: smtpd on the test's port only. pickup reads
    # this instance's own maildrop; postqueue -f calls the mail system down without it.
    services = [
        f"127.0.0.1:{port} inet n - n - - smtpd",
        "pickup unix n - n 60 1 pickup",
        "cleanup unix n - n - 0 cleanup",
        "qmgr unix n - n 1 1 qmgr",
        "tlsmgr unix - - n 1000? 1 tlsmgr",
        "rewrite unix - - n - - trivial-rewrite",
        "bounce unix - - n - 0 bounce",
        "defer unix - - n - 0 bounce",
        "trace unix - - n - 0 bounce",
        "verify unix - - n - 1 verify",
        "flush unix n - n 1000? 0 flush",
        "proxymap unix - - n - - proxymap",
        "proxywrite unix - - n - 1 proxymap",
        "smtp unix - - n - - smtp",
        "relay unix - - n - - smtp",
        "showq unix n - n - - showq",
        "error unix - - n - - error",
        "retry unix - - n - - error",
        "discard unix - - n - - discard",
        "local unix - n n - - local",
        "virtual unix - n n - - virtual",
        "lmtp unix - - n - - lmtp",
        "anvil unix - - n - 1 anvil",
        "scache unix - - n - 1 scache",
        "postlog unix-dgram n - n - 1 postlogd",
    ]
    return "\n".join(services) + "\n"


def _save(handle):
    with open(os.path.join(handle["workdir"], HANDLE_FILE), "w") as f:
        json.dump(handle, f, indent=2)


def load(workdir):
    """The handle of the instance started in `workdir` (from WORKDIR/instance.json)."""
    path = os.path.join(os.path.abspath(workdir), HANDLE_FILE)
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise PostfixError(f"{path}: no Postfix instance was started in this work directory") from None


def _master_pid(handle):
    try:
        with open(os.path.join(handle["queue_dir"], "pid", "master.pid")) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _session_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            # Fields after the command (which may hold spaces) start after the last ")".
            return int(f.read().rsplit(")", 1)[1].split()[3])
    except (OSError, ValueError, IndexError):
        return None


def processes(handle):
    """Pids of every process of the instance: master calls setsid(), so they are its session
    (master, smtpd, qmgr, postlogd, ...); plus any process whose MAIL_CONFIG is our directory."""
    found = set()
    sid = handle.get("master_pid")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if sid and _session_of(pid) == sid:
            found.add(pid)
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if b"MAIL_CONFIG=" + handle["config_dir"].encode() + b"\0" in f.read():
                    found.add(pid)
        except OSError:
            pass
    found.discard(os.getpid())
    return sorted(found)


def _wait_port(port, timeout, handle):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(5)
                if s.recv(512).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise PostfixError(f"Postfix's smtpd did not answer on 127.0.0.1:{port} within {timeout} s; "
                       f"its log:\n{log(handle)[-3000:]}")


def _check_reachable(workdir):
    """Postfix opens its lock and queue files as user postfix, and virtual(8) writes as
    MAILDIR_UID: each parent of the work directory must let others through (o+x). A mkdtemp()
    parent (0700) does not; say so instead of master's bare "Permission denied"."""
    path = os.path.dirname(workdir)
    while True:
        mode = os.stat(path).st_mode
        if not mode & 0o001:
            raise PostfixError(f"{path}: mode {oct(mode & 0o777)} lets user postfix not reach {workdir}; "
                               f"chmod o+x it (e.g. 0755) or use a work directory elsewhere")
        if path == "/":
            return
        path = os.path.dirname(path)


def start(workdir, smtp_port, mode, domain="example.test", lmtp=None, users=("user",), cert=None, key=None,
          extra=None, timeout=30):
    """Configures and starts a private Postfix in `workdir` (created if missing) with smtpd on
    127.0.0.1:`smtp_port`; returns its handle (a dict, also saved as WORKDIR/instance.json).

    mode "relay": `lmtp` is where mail for `domain` goes ("127.0.0.1:PORT", a port, or an
    absolute Unix socket path; Postfix's lmtp client runs as user postfix, so a socket must be
    writable by it). mode "local": `users` get Maildirs WORKDIR/mail/USER/. `cert`/`key` (PEM)
    turn STARTTLS on. `extra` is a dict of further main.cf settings (they win)."""
    if mode not in ("relay", "local"):
        raise PostfixError(f"mode {mode!r}: use 'relay' or 'local'")
    if mode == "relay" and not lmtp:
        raise PostfixError("relay mode needs lmtp (127.0.0.1:PORT or an absolute Unix socket path)")
    if bool(cert) != bool(key):
        raise PostfixError("give both cert and key, or neither")
    if os.geteuid() != 0:
        raise PostfixError("Postfix's master must be started as root (it drops to mail_owner = postfix)")
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    _check_reachable(workdir)
    # postfix(1) checks that the queue's parents are not writable by others, and virtual(8) and
    # the postfix user must reach their directories: root-owned, 0755.
    os.chmod(workdir, 0o755)
    handle = {
        "workdir": workdir, "port": int(smtp_port), "mode": mode, "domain": domain,
        "config_dir": os.path.join(workdir, "etc"), "queue_dir": os.path.join(workdir, "spool"),
        "data_dir": os.path.join(workdir, "lib"), "log_path": os.path.join(workdir, "maillog"),
        "maildir_base": os.path.join(workdir, "mail"), "users": list(users),
        "lmtp": _lmtp_nexthop(lmtp) if lmtp else None, "master_pid": None,
    }
    for directory in ("config_dir", "queue_dir", "data_dir"):
        os.makedirs(handle[directory], mode=0o755, exist_ok=True)
    # master's lock file and tlsmgr's PRNG state are written there as mail_owner.
    owner = pwd.getpwnam("postfix")
    os.chown(handle["data_dir"], owner.pw_uid, owner.pw_gid)
    with open(os.path.join(handle["config_dir"], "main.cf"), "w") as f:
        f.write(_main_cf(handle, mode, domain, lmtp, users, cert, key, extra))
    with open(os.path.join(handle["config_dir"], "master.cf"), "w") as f:
        f.write(_master_cf(smtp_port))
    if mode == "local":
        os.makedirs(handle["maildir_base"], exist_ok=True)
        os.chown(handle["maildir_base"], MAILDIR_UID, MAILDIR_GID)
        os.chmod(handle["maildir_base"], 0o755)
    open(handle["log_path"], "a").close()
    _save(handle)
    # `check` creates the queue's subdirectories with their owners (post-install create-missing)
    # and fails on what would stop master; its warnings go to the log.
    _postfix(handle["config_dir"], "check")
    try:
        try:
            _postfix(handle["config_dir"], "start")
        except PostfixError as error:
            raise PostfixError(f"{error}; its log:\n{log(handle)[-3000:]}") from None
        handle["master_pid"] = _master_pid(handle)
        _save(handle)
        _wait_port(smtp_port, timeout, handle)
    except PostfixError:
        stop(handle)
        raise
    return handle


def stop(handle, timeout=15):
    """`postfix -c DIR stop`, then waits until no process of the instance is left (SIGKILL for
    any that outlives `timeout`). Safe to call twice or on an instance that never started."""
    if isinstance(handle, str):
        handle = load(handle)
    if handle.get("master_pid") is None:
        handle["master_pid"] = _master_pid(handle)
    if os.path.exists(os.path.join(handle["config_dir"], "main.cf")):
        _postfix(handle["config_dir"], "stop", check=False)
    deadline = time.monotonic() + timeout
    while processes(handle) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = processes(handle)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while processes(handle) and time.monotonic() < deadline:
        time.sleep(0.05)
    if processes(handle):
        raise PostfixError(f"processes of the instance in {handle['workdir']} survive SIGKILL: {processes(handle)}")
    return left  # what had to be killed; empty when postfix stop did it all


def log(handle):
    """The instance's maillog (smtpd, cleanup, qmgr, lmtp/virtual lines) as text."""
    if isinstance(handle, str):
        handle = load(handle)
    try:
        with open(handle["log_path"], errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def queue(handle):
    """`postqueue -c DIR -p`: the queue's listing ("Mail queue is empty" when it is)."""
    if isinstance(handle, str):
        handle = load(handle)
    result = subprocess.run([POSTQUEUE, "-c", handle["config_dir"], "-p"], capture_output=True, text=True)
    if result.returncode != 0:
        raise PostfixError(f"postqueue -c {handle['config_dir']} -p failed: {(result.stderr + result.stdout).strip()}")
    return result.stdout


def queue_empty(handle):
    """True when the instance's queue holds no message (active, incoming, deferred, hold)."""
    return "Mail queue is empty" in queue(handle)


def flush(handle):
    """`postqueue -f`: retry every deferred message now."""
    if isinstance(handle, str):
        handle = load(handle)
    result = subprocess.run([POSTQUEUE, "-c", handle["config_dir"], "-f"], capture_output=True, text=True)
    if result.returncode != 0:
        raise PostfixError(f"postqueue -c {handle['config_dir']} -f failed: {(result.stderr + result.stdout).strip()}")


def maildir_count(handle, user=None):
    """Messages delivered into local mode's Maildirs (new/ and cur/), of `user` or of all."""
    if isinstance(handle, str):
        handle = load(handle)
    total = 0
    for name in [user] if user else handle["users"]:
        for sub in ("new", "cur"):
            try:
                total += sum(1 for e in os.scandir(os.path.join(handle["maildir_base"], name, sub)) if e.is_file())
            except FileNotFoundError:
                pass
    return total


def delivered_count(handle):
    """Delivered messages: Maildir files in local mode; in relay mode, `status=sent` lines of the
    lmtp client (one per recipient accepted by the LMTP server)."""
    if isinstance(handle, str):
        handle = load(handle)
    if handle["mode"] == "local":
        return maildir_count(handle)
    return sum(1 for line in log(handle).splitlines() if " postfix-test/lmtp[" in line and " status=sent " in line)


def deliveries(handle):
    """The delivery agents' result lines (lmtp, virtual, error, bounce...) grouped by status:
    {"sent": [...], "deferred": [...], "bounced": [...]}; each line carries the peer's reply,
    e.g. "status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 ... (in reply to RCPT TO command))"."""
    if isinstance(handle, str):
        handle = load(handle)
    found = {"sent": [], "deferred": [], "bounced": []}
    for line in log(handle).splitlines():
        for status in found:
            if f" status={status} " in line and " to=<" in line:
                found[status].append(line)
    return found


def wait_delivered(handle, count, timeout=30, poll=0.02):
    """Waits until `count` messages are delivered (see delivered_count) and returns the seconds it
    took; raises TimeoutError naming how many arrived, with the log's tail."""
    if isinstance(handle, str):
        handle = load(handle)
    start_time = time.monotonic()
    while True:
        done = delivered_count(handle)
        if done >= count:
            return time.monotonic() - start_time
        if time.monotonic() - start_time > timeout:
            raise TimeoutError(f"{done} of {count} messages delivered by Postfix in {timeout} s; "
                               f"log tail:\n{log(handle)[-3000:]}")
        time.sleep(poll)


# --- test-only: an LMTP receiver (aiosmtpd), to try relay mode before Mailvox's door exists ---

def lmtp_sink(port, directory=None, reply=None, host="127.0.0.1"):
    """Serves LMTP on host:port until SIGTERM/SIGINT; each message goes to DIRECTORY/N.eml (and a
    line on stdout). `reply` (e.g. "452 4.3.1 full") is answered to every DATA instead of 250."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.lmtp import LMTP

    class Handler:
        def __init__(self):
            self.count = 0

        async def handle_DATA(self, server, session, envelope):
            if reply:
                return reply
            self.count += 1
            if directory:
                path = os.path.join(directory, f"{self.count}.eml")
                with open(path + ".tmp", "wb") as f:
                    f.write(envelope.original_content or envelope.content)
                os.rename(path + ".tmp", path)
            print(f"lmtp-sink: message {self.count} from {envelope.mail_from} to {envelope.rcpt_tos}", flush=True)
            return "250 2.0.0 OK"

    class LMTPController(Controller):
        def factory(self):
            return LMTP(self.handler, hostname="lmtp-sink.test.invalid")

    if directory:
        os.makedirs(directory, exist_ok=True)
    controller = LMTPController(Handler(), hostname=host, port=port)
    controller.start()
    print(f"lmtp-sink: listening on {host}:{port}", flush=True)
    stopped = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(1))
    try:
        while not stopped:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


# --- selftest: both modes for real, with swaks ---

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(directory, name="localhost"):
    """A self-signed certificate (openssl, a dependency of Debian's postfix via ssl-cert)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", f"/CN={name}", "-addext",
                    f"subjectAltName=DNS:{name},IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


def selftest():
    top = tempfile.mkdtemp(prefix="postfix-selftest-")
    os.chmod(top, 0o755)  # see _check_reachable
    failures = []
    try:
        cert, key = make_cert(top)
        # (b) local: swaks with STARTTLS, the message lands in the Maildir.
        port = free_port()
        h = start(os.path.join(top, "local"), port, "local", domain="bench.test", users=["user"], cert=cert, key=key)
        try:
            swaks = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--to", "user@bench.test",
                                    "--from", "sender@example.org", "--tls", "--body", "local mode"],
                                   capture_output=True, text=True)
            if swaks.returncode != 0:
                failures.append("local: swaks failed:\n" + swaks.stdout[-2000:])
            else:
                took = wait_delivered(h, 1, timeout=30)
                print(f"local: delivered into {h['maildir_base']}/user/new in {took:.2f} s; "
                      f"TLS: {'STARTTLS' in swaks.stdout}")
            unknown = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--to",
                                      "nobody@bench.test", "--tls", "--quit-after", "RCPT"], capture_output=True, text=True)
            if "550 5.1.1" not in unknown.stdout:
                failures.append("local: unknown user not refused with 550 5.1.1:\n" + unknown.stdout[-1500:])
            time.sleep(0.5)
            if not queue_empty(h):
                failures.append("local: queue not empty:\n" + queue(h))
        finally:
            killed = stop(h)
            if killed:
                failures.append(f"local: postfix stop left processes that had to be killed: {killed}")
        # (a) relay: swaks → smtpd → lmtp client → lmtp-sink (aiosmtpd, /usr/bin/python3).
        port, lmtp_port = free_port(), free_port()
        sink_dir = os.path.join(top, "sink")
        sink = subprocess.Popen(["/usr/bin/python3", os.path.abspath(__file__), "lmtp-sink", "--port", str(lmtp_port),
                                 "--dir", sink_dir], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            line = sink.stdout.readline()
            if "listening" not in line:
                raise PostfixError("lmtp-sink did not start: " + line + sink.stdout.read())
            h = start(os.path.join(top, "relay"), port, "relay", domain="localhost", lmtp=f"127.0.0.1:{lmtp_port}",
                      cert=cert, key=key)
            try:
                swaks = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--to",
                                        "2000@localhost", "--from", "pbx@example.org", "--tls", "--body", "relay mode"],
                                       capture_output=True, text=True)
                if swaks.returncode != 0:
                    failures.append("relay: swaks failed:\n" + swaks.stdout[-2000:])
                else:
                    took = wait_delivered(h, 1, timeout=30)
                    files = os.listdir(sink_dir) if os.path.isdir(sink_dir) else []
                    print(f"relay: delivered over LMTP in {took:.2f} s; sink holds {files}")
                    if not files:
                        failures.append("relay: the sink has no message")
                if not queue_empty(h):
                    failures.append("relay: queue not empty:\n" + queue(h))
            finally:
                stop(h)
        finally:
            sink.terminate()
            sink.wait(timeout=10)
    except (PostfixError, TimeoutError, subprocess.CalledProcessError) as error:
        failures.append(str(error))
    finally:
        if os.environ.get("KEEP_WORKDIR"):
            print("work dir:", top)
        else:
            shutil.rmtree(top, ignore_errors=True)
    for failure in failures:
        print("FAIL:", failure)
    print("selftest:", "FAIL" if failures else "OK")
    return 1 if failures else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="A private Postfix instance for tests (see the module's doc).")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("start")
    p.add_argument("--workdir", required=True)
    p.add_argument("--port", type=int, required=True, help="smtpd's port on 127.0.0.1")
    p.add_argument("--mode", choices=["relay", "local"], required=True)
    p.add_argument("--domain", default="example.test")
    p.add_argument("--lmtp", help="relay mode: 127.0.0.1:PORT, PORT or an absolute Unix socket path")
    p.add_argument("--user", action="append", help="local mode: a Maildir user (repeatable; default: user)")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a further main.cf setting")
    for name in ("stop", "queue", "flush", "log", "deliveries"):
        commands.add_parser(name).add_argument("--workdir", required=True)
    p = commands.add_parser("wait")
    p.add_argument("--workdir", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--timeout", type=float, default=30)
    p = commands.add_parser("lmtp-sink")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir")
    p.add_argument("--reply", help='answer every DATA with this instead of 250, e.g. "452 4.3.1 full"')
    commands.add_parser("selftest")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            extra = dict(item.split("=", 1) for item in args.set)
            handle = start(args.workdir, args.port, args.mode, domain=args.domain, lmtp=args.lmtp,
                           users=args.user or ["user"], cert=args.cert, key=args.key, extra=extra)
            print(json.dumps(handle))
        elif args.command == "stop":
            stop(load(args.workdir))
        elif args.command == "wait":
            print(f"{wait_delivered(load(args.workdir), args.count, args.timeout):.3f}")
        elif args.command == "queue":
            text = queue(load(args.workdir))
            print(text, end="")
            return 0 if "Mail queue is empty" in text else 1
        elif args.command == "flush":
            flush(load(args.workdir))
        elif args.command == "log":
            print(log(load(args.workdir)), end="")
        elif args.command == "deliveries":
            print(json.dumps(deliveries(load(args.workdir)), indent=2))
        elif args.command == "lmtp-sink":
            lmtp_sink(args.port, args.dir, args.reply)
        elif args.command == "selftest":
            return selftest()
    except (PostfixError, TimeoutError) as error:
        print(f"postfix.py {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
