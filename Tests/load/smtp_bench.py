#!/usr/bin/env python3
"""SMTP intake of `mailvox serve` against Postfix's smtpd on the same machine (issue #15).

Both servers get the same messages from the same client: Asterisk-style voicemail emails
(multipart/mixed, a text part and a base64 audio/x-wav of SECONDS-AUDIO, 8 kHz mono 16-bit,
spoken by espeak-ng and cut by sox), sent over STARTTLS by CONNECTIONS processes at once, each
on one connection sending its share of MESSAGES (MAIL, RCPT, DATA; no pipelining).

  Postfix  a private instance (Tests/smtp/postfix.py, local mode): smtpd answers 250 after
           cleanup has fsync'd the queue file (its durable commit); virtual(8) then delivers
           into a Maildir. Also reported: the time until all are in the Maildir.
  Mailvox  `mailvox serve` with only its SMTP door and IMAPS on; 250 once the deposit is
           durable (docs: the SMTP door's contract).

Printed for each: messages/s accepted (first MAIL to last 250, connections already up and
TLS'd), p50/p99 of the time from the end of DATA (the final "." sent) to its 250, and the
ratios Mailvox/Postfix. Then the second figure of the issue: deposit → IMAP EXISTS through the
SMTP door, p50/p99: an IMAP client IDLEs on INBOX while messages are sent one at a time, and
each 250 is matched to the `* N EXISTS` it causes. Both servers' data live in one work
directory, on one filesystem, with the same certificate (the one `mailvox init` made).

Used by scripts/bench (release binary). Exit 1 when a half failed (the message says which).
"""
import argparse
import base64
import json
import multiprocessing
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "smtp"))
import postfix  # noqa: E402  (Tests/smtp/postfix.py)

PASSWORD = "smtp-bench-pass-1"
BEGAN = time.monotonic()


def progress(text):
    """A line on stderr with the seconds since start: where a slow run spends its time."""
    sys.stdout.flush()
    print(f"[{time.monotonic() - BEGAN:6.1f} s] {text}", file=sys.stderr, flush=True)
MAILBOX = "2000"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def make_recording(directory, seconds):
    """Speech made here (espeak-ng), repeated and cut to `seconds`: 8 kHz mono 16-bit, as a PBX records."""
    speech = os.path.join(directory, "speech.wav")
    subprocess.run(["espeak-ng", "Hello, this is Grace calling about the order we placed last week. "
                    "Please call me back when you can.", "-w", speech], check=True, capture_output=True)
    out = os.path.join(directory, "msg0000.wav")
    subprocess.run(["sox", speech, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", out,
                    "repeat", str(int(seconds / 3) + 1), "trim", "0", str(seconds)], check=True, capture_output=True)
    with open(out, "rb") as f:
        return f.read()


class Voicemail:
    """An Asterisk voicemail email (app_voicemail's layout: X-Asterisk-VM-* headers, a text part,
    the recording as base64 audio/x-wav), a new Message-ID and caller for each message."""

    def __init__(self, wav, seconds):
        encoded = base64.encodebytes(wav).replace(b"\n", b"\r\n")  # 76-column lines
        self.seconds = int(seconds)
        self.audio = encoded

    def render(self, rcpt, number, sequence):
        boundary = f"----voicemail_{sequence:04d}{uuid.uuid4().hex[:12]}"
        caller = f"+4930123{number:05d}"
        now = time.time()
        date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(now))
        head = (
            f"Date: {date}\r\n"
            f"From: \"Asterisk PBX\" <asterisk@pbx.example.com>\r\n"
            f"To: \"Bench\" <{rcpt}>\r\n"
            f"Subject: [PBX]: New message {sequence} in mailbox {MAILBOX} from {caller}\r\n"
            f"Message-ID: <Asterisk-{sequence}-{uuid.uuid4().hex}@pbx.example.com>\r\n"
            "MIME-Version: 1.0\r\n"
            f"X-Asterisk-VM-Message-Num: {sequence}\r\n"
            "X-Asterisk-VM-Server-Name: pbx.example.com\r\n"
            "X-Asterisk-VM-Context: default\r\n"
            f"X-Asterisk-VM-Extension: {MAILBOX}\r\n"
            "X-Asterisk-VM-Priority: 1\r\n"
            f"X-Asterisk-VM-Caller-channel: PJSIP/trunk-{sequence:08x}\r\n"
            f"X-Asterisk-VM-Caller-ID-Num: {caller}\r\n"
            f"X-Asterisk-VM-Caller-ID-Name: Caller {number}\r\n"
            f"X-Asterisk-VM-Duration: {self.seconds}\r\n"
            "X-Asterisk-VM-Category: \r\n"
            "X-Asterisk-VM-Message-Type: Normal\r\n"
            f"X-Asterisk-VM-Orig-date: {date}\r\n"
            f"X-Asterisk-VM-Orig-time: {int(now)}\r\n"
            f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n"
            "\r\n"
            "This is a multi-part message in MIME format.\r\n"
            "\r\n"
            f"--{boundary}\r\n"
            "Content-Type: text/plain; charset=ISO-8859-1\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "\r\n"
            "Dear Bench:\r\n\r\n"
            f"\tjust wanted to let you know you were just left a 0:{self.seconds:02d} long message "
            f"(number {sequence})\r\nin mailbox {MAILBOX} from \"Caller {number}\" <{caller}>, on {date}, "
            "so you might\r\nwant to check it when you get a chance.  Thanks!\r\n\r\n\t\t\t\t--Asterisk\r\n"
            "\r\n"
            f"--{boundary}\r\n"
            "Content-Type: audio/x-wav; name=\"msg0000.wav\"\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "Content-Description: Voicemail sound attachment.\r\n"
            "Content-Disposition: attachment; filename=\"msg0000.wav\"\r\n"
            "\r\n").encode()
        # No line of it starts with ".", so it needs no dot-stuffing (RFC 5321 4.5.2).
        return head + self.audio + f"\r\n--{boundary}--\r\n".encode()


class Sender:
    """One SMTP connection with STARTTLS; `send` times the end of DATA → its reply."""

    def __init__(self, port, context, server_hostname):
        self.smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="pbx.example.com", timeout=120)
        self.smtp.ehlo()
        if not self.smtp.has_extn("starttls"):
            raise RuntimeError(f"127.0.0.1:{port} offers no STARTTLS")
        self.smtp._host = server_hostname  # smtplib verifies the certificate against this name
        self.smtp.starttls(context=context)
        self.smtp.ehlo()
        # The final ".\r\n" is a few bytes after a large body: without NODELAY, Nagle's algorithm
        # holds it until the body's last segment is acknowledged, and that wait would be counted.
        self.smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, mail_from, rcpt, message):
        """Returns (seconds from the final "." to the reply, reply code, reply text)."""
        code, text = self.smtp.mail(mail_from)
        if code != 250:
            return None, code, text.decode(errors="replace")
        code, text = self.smtp.rcpt(rcpt)
        if code not in (250, 251):
            self.smtp.rset()
            return None, code, text.decode(errors="replace")
        self.smtp.putcmd("data")
        code, text = self.smtp.getreply()
        if code != 354:
            return None, code, text.decode(errors="replace")
        self.smtp.sock.sendall(message)
        start = time.monotonic()
        self.smtp.sock.sendall(b".\r\n")
        code, text = self.smtp.getreply()
        return time.monotonic() - start, code, text.decode(errors="replace")

    def close(self):
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()


def client(index, port, cafile, hostname, rcpt, count, voicemail, barrier, results):
    """A client process: connects and says STARTTLS, waits for the others, sends `count` messages."""
    samples, failures, first, last = [], [], None, None
    try:
        context = ssl.create_default_context(cafile=cafile)
        sender = Sender(port, context, hostname)
        messages = [voicemail.render(rcpt, index * 10000 + n, index * 10000 + n + 1) for n in range(count)]
    except Exception as error:  # a refused connection is a finding, reported by the parent
        failures.append(f"connect: {error!r}")
        barrier.abort()
        results.put((index, samples, failures, first, last))
        return
    try:
        barrier.wait(timeout=60)
        first = time.monotonic()
        for message in messages:
            took, code, text = sender.send("asterisk@pbx.example.com", rcpt, message)
            if code == 250:
                samples.append(took)
                last = time.monotonic()
            else:
                failures.append(f"{code} {text}")
        sender.close()
    except Exception as error:
        failures.append(f"send: {error!r}")
    results.put((index, samples, failures, first, last))


def run_intake(name, port, cafile, hostname, rcpt, total, connections, voicemail, on_poll=None):
    """CONNECTIONS client processes send TOTAL messages; returns their figures. `on_poll(start)`
    is called every 20 ms while they run (Postfix's Maildir count)."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(connections + 1)
    results = context.Queue()
    shares = [total // connections + (1 if i < total % connections else 0) for i in range(connections)]
    processes = [context.Process(target=client, args=(i, port, cafile, hostname, rcpt, shares[i], voicemail,
                                                      barrier, results), daemon=True)
                 for i in range(connections)]
    for process in processes:
        process.start()
    try:
        barrier.wait(timeout=120)
    except threading.BrokenBarrierError:
        pass
    start = time.monotonic()
    collected = []
    while len(collected) < connections:
        try:
            collected.append(results.get(timeout=0.02))
        except Exception:
            pass
        if on_poll:
            on_poll(start)
        if time.monotonic() - start > 600:
            break
        if not any(process.is_alive() for process in processes) and results.empty():
            break  # a client died without its report (its absence shows as messages not accepted)
    for process in processes:
        process.join(timeout=10)
    samples = [s for _, values, _, _, _ in collected for s in values]
    failures = [f for _, _, values, _, _ in collected for f in values]
    firsts = [f for _, _, _, f, _ in collected if f is not None]
    lasts = [last for _, _, _, _, last in collected if last is not None]
    elapsed = (max(lasts) - min(firsts)) if lasts and firsts else 0
    return {
        "server": name, "messages": total, "connections": connections, "accepted": len(samples),
        "refused_or_failed": len(failures), "failures": failures[:5], "seconds": round(elapsed, 3),
        "messages_per_second": round(len(samples) / elapsed, 2) if elapsed else 0,
        "p50_ms": round(percentile(samples, 0.5) * 1000, 2), "p99_ms": round(percentile(samples, 0.99) * 1000, 2),
        "max_ms": round(max(samples, default=0) * 1000, 2), "start": start,
    }


def bench_postfix(work, cert, key, args, voicemail):
    port = free_port()
    handle = postfix.start(os.path.join(work, "postfix"), port, "local", domain="bench.test", users=["user"],
                           cert=cert, key=key)
    try:
        in_maildir = {}

        def poll(start):
            if "seconds" not in in_maildir and postfix.maildir_count(handle) >= args.messages:
                in_maildir["seconds"] = time.monotonic() - start

        result = run_intake("postfix", port, cert, "localhost", "user@bench.test", args.messages, args.connections,
                            voicemail, on_poll=poll)
        deadline = time.monotonic() + 60
        while "seconds" not in in_maildir and time.monotonic() < deadline:
            poll(result["start"])
            time.sleep(0.02)
        result["all_in_maildir_seconds"] = round(in_maildir["seconds"], 3) if "seconds" in in_maildir else None
        result["in_maildir"] = postfix.maildir_count(handle)
        tls = sum(1 for line in postfix.log(handle).splitlines() if "TLS connection established" in line)
        result["tls_connections"] = tls
        if tls < args.connections:
            result["failures"].append(f"only {tls} of {args.connections} connections used TLS")
        return result
    finally:
        postfix.stop(handle)


class IdleWatcher:
    """One IMAPS connection: LOGIN, SELECT INBOX, IDLE; a thread notes when each `* N EXISTS` came."""

    def __init__(self, port, context):
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        self.file = self.sock.makefile("rb")
        self.file.readline()
        self.exists = self._command(f'LOGIN {MAILBOX} "{PASSWORD}"') or 0
        self.exists = self._command("SELECT INBOX") or 0
        self.sock.sendall(b"i IDLE\r\n")
        line = self.file.readline()
        if not line.startswith(b"+"):
            raise RuntimeError(f"IDLE refused: {line!r}")
        self.sock.settimeout(None)
        self.seen = []  # (N, monotonic time)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _command(self, text):
        self.sock.sendall(f"c {text}\r\n".encode())
        exists = None
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("IMAP connection closed")
            parts = line.split()
            if len(parts) >= 3 and parts[0] == b"*" and parts[2].upper() == b"EXISTS":
                exists = int(parts[1])
            if line.startswith(b"c "):
                if not line.startswith(b"c OK"):
                    raise RuntimeError(f"{text.split()[0]}: {line.decode(errors='replace').strip()}")
                return exists

    def _read(self):
        for line in iter(self.file.readline, b""):
            now = time.monotonic()
            parts = line.split()
            if len(parts) >= 3 and parts[0] == b"*" and parts[2].upper() == b"EXISTS":
                self.seen.append((int(parts[1]), now))

    def close(self):
        try:
            self.sock.sendall(b"DONE\r\nz LOGOUT\r\n")
            self.sock.close()
        except OSError:
            pass


def bench_exists(smtp_port, imap_port, cafile, args, voicemail):
    """Messages one at a time through the SMTP door; each 250 → the `* N EXISTS` it causes."""
    context = ssl.create_default_context(cafile=cafile)
    watcher = IdleWatcher(imap_port, context)
    sender = Sender(smtp_port, context, "localhost")
    accepted, failures = [], []
    try:
        for n in range(args.exists_messages):
            message = voicemail.render(f"{MAILBOX}@localhost", 900000 + n, 900000 + n + 1)
            _, code, text = sender.send("asterisk@pbx.example.com", f"{MAILBOX}@localhost", message)
            if code == 250:
                accepted.append(time.monotonic())
            else:
                failures.append(f"{code} {text}")
            time.sleep(args.exists_spacing)
        sender.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not watcher.seen or watcher.seen[-1][0] < watcher.exists + len(accepted)):
            time.sleep(0.05)
    finally:
        watcher.close()
    latencies, missing = [], 0
    for k, at in enumerate(accepted, start=1):
        # The k-th accepted message makes the mailbox hold base + k: the first EXISTS that says so.
        seen = next((t for count, t in watcher.seen if count >= watcher.exists + k), None)
        if seen is None:
            missing += 1
        else:
            latencies.append(seen - at)
    return {"sent": args.exists_messages, "accepted": len(accepted), "exists_seen": len(latencies),
            "missing": missing, "failures": failures[:5],
            "p50_ms": round(percentile(latencies, 0.5) * 1000, 1), "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
            "max_ms": round(max(latencies, default=0) * 1000, 1)}


def copy_log(fd, path):
    """Copies serve's log from its pipe into `path` (a process of its own, as in responsiveness.py:
    a log file on the disk being fsync'd would make serve's log writes wait)."""
    with os.fdopen(fd, "rb", buffering=0) as source, open(path, "ab", buffering=0) as target:
        for chunk in iter(lambda: source.read(65536), b""):
            target.write(chunk)


class MailvoxFailure(Exception):
    """The Mailvox half could not run; the message says what to do."""


def bench_mailvox(work, env, args, voicemail):
    smtp_port, imap_port = free_port(), free_port()
    env = dict(env, MAILVOX_INBOUND_SMTP_LISTEN=f"127.0.0.1:{smtp_port}", MAILVOX_HTTP_LISTEN="",
               MAILVOX_IMAP_LISTEN="", MAILVOX_IMAP_LISTEN_TLS=f"127.0.0.1:{imap_port}")
    log_path = os.path.join(work, "serve.log")
    open(log_path, "wb").close()
    server = subprocess.Popen([args.binary, "serve", "--config", "var/mailvox.toml"], cwd=work, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    reader = multiprocessing.get_context("fork").Process(target=copy_log, args=(server.stdout.fileno(), log_path),
                                                         daemon=True)
    reader.start()
    server.stdout.close()
    try:
        deadline = time.monotonic() + args.start_timeout
        while True:
            text = open(log_path, "rb").read()
            if b"SMTP listening" in text and b"IMAP listening" in text:
                break
            if server.poll() is not None:
                hint = (" (this build has no SMTP door, issue #15: it does not know MAILVOX_INBOUND_*)"
                        if b"INBOUND" in text else "")
                raise MailvoxFailure(f"`{args.binary} serve` exited ({server.returncode}) before \"SMTP listening\""
                                     f"{hint}:\n" + text.decode(errors="replace")[-2000:])
            if time.monotonic() > deadline:
                raise MailvoxFailure(
                    f"`{args.binary} serve` did not log \"SMTP listening\" within {args.start_timeout:.0f} s with "
                    f"MAILVOX_INBOUND_SMTP_LISTEN=127.0.0.1:{smtp_port}: this build has no SMTP door (issue #15) "
                    f"or it failed to start; serve's log:\n" + text.decode(errors="replace")[-2000:])
            time.sleep(0.1)
        cafile = os.path.join(work, "var/tls/cert.pem")
        progress("mailvox: SMTP door up; deposit → EXISTS")
        exists = bench_exists(smtp_port, imap_port, cafile, args, voicemail)
        progress("mailvox: intake")
        intake = run_intake("mailvox", smtp_port, cafile, "localhost", f"{MAILBOX}@localhost", args.messages,
                            args.connections, voicemail)
        progress("mailvox: stopping serve")
        return intake, exists
    except (ConnectionError, OSError, smtplib.SMTPException) as error:
        raise MailvoxFailure(f"talking to `{args.binary} serve` failed: {error!r}; serve's log:\n"
                             + open(log_path, errors="replace").read()[-2000:]) from None
    finally:
        # serve finishes the transcodes it is running before it exits; their results are not
        # measured here, so it gets 20 s and then SIGKILL (the work directory goes anyway).
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        reader.join(timeout=5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True, help="a mailvox build, e.g. .build/release/mailvox")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seconds-audio", type=float, default=30)
    parser.add_argument("--exists-messages", type=int, default=20, help="messages of the deposit → EXISTS figure")
    parser.add_argument("--exists-spacing", type=float, default=0.5, help="seconds between those messages")
    parser.add_argument("--start-timeout", type=float, default=30, help="seconds to wait for serve's SMTP door")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)

    work = tempfile.mkdtemp(prefix="mvx-smtp-bench-")
    os.chmod(work, 0o755)  # Postfix's processes (user postfix, the Maildir uid) must reach its directory
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILVOX_")}
    problems, report = [], {}
    try:
        progress("recording")
        wav = make_recording(work, args.seconds_audio)
        voicemail = Voicemail(wav, args.seconds_audio)
        sample = voicemail.render(f"{MAILBOX}@localhost", 0, 1)
        report["message_bytes"] = len(sample)

        # The certificate both servers present: the one `mailvox init` makes (P-256, localhost).
        cert, key = os.path.join(work, "var/tls/cert.pem"), os.path.join(work, "var/tls/key.pem")
        mailvox_ready = False
        if not os.access(args.binary, os.X_OK):
            problems.append(f"mailvox: {args.binary} is not an executable (build it: swift build -c release)")
        else:
            try:
                for argv, stdin in ((["init", "--data-dir", "var"], None),
                                    (["mailbox", "add", MAILBOX, "--name", "Bench", "--password-stdin"], PASSWORD + "\n")):
                    subprocess.run([args.binary, *argv], cwd=work, env=env, input=stdin, capture_output=True,
                                   text=True, check=True)
                mailvox_ready = True
            except subprocess.CalledProcessError as error:
                problems.append(f"mailvox: `{' '.join(error.cmd[1:])}` failed ({error.returncode}): "
                                f"{(error.stderr or error.stdout).strip()}")
        if not os.path.exists(cert):
            cert, key = postfix.make_cert(work)

        progress("postfix")
        report["postfix"] = bench_postfix(work, cert, key, args, voicemail)
        if report["postfix"]["failures"] or report["postfix"]["accepted"] < args.messages:
            problems.append(f"postfix: {report['postfix']['accepted']} of {args.messages} accepted: "
                            f"{report['postfix']['failures'][:3]}")
        if mailvox_ready:
            progress("mailvox: starting serve")
            try:
                report["mailvox"], report["exists"] = bench_mailvox(work, env, args, voicemail)
                if report["mailvox"]["failures"] or report["mailvox"]["accepted"] < args.messages:
                    problems.append(f"mailvox: {report['mailvox']['accepted']} of {args.messages} accepted: "
                                    f"{report['mailvox']['failures'][:3]}")
                if report["exists"]["missing"] or report["exists"]["accepted"] < args.exists_messages:
                    problems.append(f"mailvox: deposit → EXISTS: {report['exists']['accepted']} accepted, "
                                    f"{report['exists']['missing']} without an EXISTS: {report['exists']['failures'][:3]}")
            except MailvoxFailure as error:
                problems.append(f"mailvox: {error}")
        if "mailvox" in report:
            p, m = report["postfix"], report["mailvox"]
            report["ratio_mailvox_to_postfix"] = {
                key: round(m[key] / p[key], 2) if p[key] else None for key in ("messages_per_second", "p50_ms", "p99_ms")}
        for side in ("postfix", "mailvox"):
            report.get(side, {}).pop("start", None)
        progress("done")
        report["filesystem"] = subprocess.run(["df", "--output=fstype", work], capture_output=True,
                                              text=True).stdout.split()[-1]

        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(f"{args.messages} voicemails of {args.seconds_audio:.0f} s ({report['message_bytes'] / 1024:.0f} KiB "
                  f"each), {args.connections} connections, STARTTLS, {os.cpu_count()} cores, {report['filesystem']}")
            print(f"{'server':<9}{'msg/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  end of DATA → 250")
            for side in ("postfix", "mailvox"):
                if side in report:
                    r = report[side]
                    print(f"{side:<9}{r['messages_per_second']:>9}{r['p50_ms']:>9}{r['p99_ms']:>9}{r['max_ms']:>9}")
            p = report["postfix"]
            if p.get("all_in_maildir_seconds") is not None:
                print(f"postfix: all {args.messages} in the Maildir {p['all_in_maildir_seconds']} s after the first MAIL "
                      f"(last 250 at {p['seconds']} s)")
            if "ratio_mailvox_to_postfix" in report:
                r = report["ratio_mailvox_to_postfix"]
                print(f"mailvox/postfix: msg/s {r['messages_per_second']}, p50 {r['p50_ms']}, p99 {r['p99_ms']}")
            if "exists" in report:
                e = report["exists"]
                print(f"mailvox deposit → IMAP EXISTS (one at a time, {e['exists_seen']} of {e['sent']}): "
                      f"p50 {e['p50_ms']} ms, p99 {e['p99_ms']} ms, max {e['max_ms']} ms")
        for problem in problems:
            print("FAIL:", problem)
        return 1 if problems else 0
    finally:
        if os.environ.get("KEEP_WORKDIR"):
            print("work dir:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
