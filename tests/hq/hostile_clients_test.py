#!/usr/bin/python3
"""segue-hq against hostile clients, on loopback only: slow and idle connections, header floods,
framing tricks, log injection, the TLS profile and where /metrics is served.

Usage: hostile_clients_test.py CASE --hq SEGUE_HQ [--kiosk SEGUE_KIOSK]
CASE is one of: slow-clients, limits, logs, tls, metrics. Every wait is bounded; exit 0 on
success, 1 with the reason on failure.
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ATTACK_ADDRESSES = ["127.0.0.%d" % i for i in range(2, 12)]


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


class Hq:
    """init-demo in a temp dir, then `segue-hq serve` over TLS on 127.0.0.1 (and the ops
    listener when the binary has one)."""

    def __init__(self, binary, tmp, extra=(), ops=True, cert=None, key=None):
        self.binary = binary
        self.dir = os.path.join(tmp, "hq")
        self.port = free_port()
        run = subprocess.run([binary, "init-demo", "--dir", self.dir, "--port", str(self.port)],
                             capture_output=True, text=True, timeout=60)
        check(run.returncode == 0, "init-demo: " + run.stderr)
        self.cert = cert or os.path.join(self.dir, "cert.pem")
        key = key or os.path.join(self.dir, "key.pem")
        with open(os.path.join(self.dir, "read-token.txt")) as f:
            self.read_token = f.read().strip()
        help_text = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10).stdout
        self.has_ops = ops and "--ops-listen" in help_text
        args = [binary, "serve", "--listen", "127.0.0.1:%d" % self.port, "--db",
                "sqlite:" + os.path.join(self.dir, "hq.sqlite"), "--tls-cert", self.cert, "--tls-key", key]
        if self.has_ops:
            args += ["--ops-listen", "127.0.0.1:0"]
        args += list(extra)
        self.out_path = os.path.join(tmp, "serve.out")
        self.err_path = os.path.join(tmp, "serve.err")
        self.proc = subprocess.Popen(args, stdout=open(self.out_path, "w"), stderr=open(self.err_path, "w"))
        self.ops_port = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            out = open(self.out_path).read()
            if "listening on" in out and (not self.has_ops or "operations on" in out):
                m = re.search(r"operations on http://127\.0\.0\.1:(\d+)", out)
                if m:
                    self.ops_port = int(m.group(1))
                break
            check(self.proc.poll() is None, "segue-hq serve exited: " + open(self.err_path).read())
            time.sleep(0.05)
        else:
            raise Failure("segue-hq serve did not start")

    def log(self):
        return open(self.err_path, errors="replace").read()

    def context(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        return ctx

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def raw_request(hq, data, tls=True, read_timeout=10, source=None):
    """Sends bytes, returns everything the server answered before closing (or the timeout)."""
    s = socket.create_connection(("127.0.0.1", hq.port), timeout=10,
                                 source_address=(source, 0) if source else None)
    if tls:
        s = hq.context().wrap_socket(s, server_hostname="localhost")
    s.settimeout(read_timeout)
    got = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ConnectionResetError, BrokenPipeError, ssl.SSLError):
        pass
    finally:
        s.close()
    return got


def statuses(reply):
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", reply)]


def healthz_seconds(hq, timeout=5.0):
    """Time for one GET /healthz on a new connection: the ops listener when there is one."""
    t0 = time.monotonic()
    try:
        if hq.ops_port:
            s = socket.create_connection(("127.0.0.1", hq.ops_port), timeout=timeout)
        else:
            s = socket.create_connection(("127.0.0.1", hq.port), timeout=timeout)
            s = hq.context().wrap_socket(s, server_hostname="localhost")
        s.settimeout(max(0.1, timeout - (time.monotonic() - t0)))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        s.close()
        if not got.startswith(b"HTTP/1.1 200"):
            return None
        return time.monotonic() - t0
    except (OSError, ssl.SSLError):
        return None


# ---- slow clients ---------------------------------------------------------------------------------

class Attack:
    """The attackers: TLS ClientHello drippers, after-TLS header drippers and idle TLS
    connections, each reconnecting when the server closes it, until stop()."""

    def __init__(self, hq, drip_every):
        self.hq = hq
        self.drip_every = drip_every
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.held = {"hello": 0, "headers": 0, "idle": 0}
        self.closed_by_server = 0
        self.refused = 0
        self.threads = []
        # The ClientHello's bytes, as a real client sends them.
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ssl.create_default_context().wrap_bio(inc, out, server_hostname="localhost")
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        self.client_hello = out.read()

    def start(self, kind, count):
        for i in range(count):
            t = threading.Thread(target=self.run, args=(kind, ATTACK_ADDRESSES[i % len(ATTACK_ADDRESSES)]), daemon=True)
            t.start()
            self.threads.append(t)

    def count(self, kind, delta):
        with self.lock:
            self.held[kind] += delta

    def run(self, kind, source):
        while not self.stop_event.is_set():
            s = None
            counted = False
            try:
                s = socket.create_connection(("127.0.0.1", self.hq.port), timeout=10, source_address=(source, 0))
                if kind == "hello":
                    self.count(kind, 1)
                    counted = True
                    for b in self.client_hello:
                        if self.stop_event.wait(self.drip_every):
                            break
                        s.sendall(bytes([b]))
                    else:
                        self.stop_event.wait(self.drip_every)
                else:
                    s = self.hq.context().wrap_socket(s, server_hostname="localhost")
                    self.count(kind, 1)
                    counted = True
                    if kind == "headers":
                        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                        while not self.stop_event.wait(self.drip_every):
                            s.sendall(b"X")
                    else:
                        s.settimeout(1)
                        while not self.stop_event.is_set():
                            try:
                                if s.recv(1) == b"":
                                    break
                            except socket.timeout:
                                continue
                if not self.stop_event.is_set():
                    with self.lock:
                        self.closed_by_server += 1
            except (OSError, ssl.SSLError):
                with self.lock:
                    if counted:
                        self.closed_by_server += 1
                    else:
                        self.refused += 1
            finally:
                if counted:
                    self.count(kind, -1)
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass
            self.stop_event.wait(0.5)   # an attacker reconnects, but not in a tight loop

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=15)

    def snapshot(self):
        with self.lock:
            return dict(self.held), self.closed_by_server, self.refused


def server_connections(port):
    """Established TCP connections on segue-hq's side of `port`, as the kernel counts them."""
    r = subprocess.run(["ss", "-tnH", "state", "established", "( sport = :%d )" % port],
                       capture_output=True, text=True, timeout=30)
    return len([l for l in r.stdout.splitlines() if l.strip()])


def kiosk_config(hq, tmp):
    """kiosk.toml from init-demo, pointed at 127.0.0.1 (the certificate names the IP too)."""
    with open(os.path.join(hq.dir, "kiosk.toml")) as f:
        toml = f.read()
    toml = re.sub(r'server_url = "[^"]*"', 'server_url = "https://127.0.0.1:%d"' % hq.port, toml)
    path = os.path.join(tmp, "kiosk.toml")
    with open(path, "w") as f:
        f.write(toml)
    os.chmod(path, 0o600)
    return path


def case_slow_clients(args, tmp):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    hq = Hq(args.hq, tmp, extra=args.serve_arg)
    try:
        config = kiosk_config(hq, tmp)
        data = os.path.join(tmp, "kiosk-data")
        r = subprocess.run([args.kiosk, "demo-data", "--config", config, "--data-dir", data, "--count", "5000",
                            "--days", "7"], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "demo-data: " + r.stderr)
        rss0 = rss_kb(hq.proc.pid)

        attack = Attack(hq, drip_every=args.drip_every)
        attack.start("hello", 150)
        attack.start("headers", 150)
        attack.start("idle", 300)
        time.sleep(args.settle)
        held_before, _, _ = attack.snapshot()
        server_held_before = server_connections(hq.port)

        # Meanwhile: /healthz every half second, and one real sync of the 5 000 responses.
        latencies = []
        stop_probe = threading.Event()

        def probe():
            while not stop_probe.is_set():
                latencies.append(healthz_seconds(hq, timeout=5.0))
                stop_probe.wait(0.5)

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        t0 = time.monotonic()
        try:
            sync = subprocess.run([args.kiosk, "sync", "--once", "--config", config, "--data-dir", data],
                                  capture_output=True, text=True, timeout=120)
            sync_code, sync_err = sync.returncode, sync.stderr
        except subprocess.TimeoutExpired:
            sync_code, sync_err = "timeout after 120 s", ""
        sync_s = time.monotonic() - t0
        time.sleep(max(0.0, 3.0 - sync_s))   # at least a few probes under attack
        stop_probe.set()
        prober.join(timeout=10)
        held_after, closed, refused = attack.snapshot()
        server_held_after = server_connections(hq.port)
        rss1 = rss_kb(hq.proc.pid)
        connection_metrics = {}
        if hq.ops_port:
            text = http_get(hq.ops_port, b"/metrics").decode(errors="replace")
            connection_metrics = {m.group(1): int(m.group(2)) for m in
                                  re.finditer(r'segue_hq_connections_total\{outcome="(\w+)"\} (\d+)', text)}
            m = re.search(r"segue_hq_connections_open (\d+)", text)
            connection_metrics["open"] = int(m.group(1)) if m else None
        attack.stop()

        answered = [x for x in latencies if x is not None]
        worst = max(answered) if answered else None
        report = {
            "server": "ops listener" if hq.ops_port else "main listener (no ops listener)",
            "connections_open_at_server_before_sync": server_held_before,
            "connections_open_at_server_after_sync": server_held_after,
            "attackers_connected_before_sync": held_before,
            "attackers_connected_after_sync": held_after,
            "attacker_connections_closed_by_server": closed,
            "attacker_connects_refused": refused,
            "sync_exit": sync_code,
            "sync_seconds": round(sync_s, 2),
            "healthz_probes": len(latencies),
            "healthz_unanswered": len(latencies) - len(answered),
            "healthz_worst_s": round(worst, 3) if worst is not None else None,
            "rss_kb_before": rss0,
            "rss_kb_under_attack": rss1,
            "server_metrics_connections": connection_metrics,
        }
        print(json.dumps(report, indent=1))
        check(sync_code == 0, "segue-kiosk sync --once under attack: exit %s\n%s" % (sync_code, sync_err[-2000:]))
        check(len(answered) == len(latencies) and latencies, "/healthz did not always answer under attack")
        check(worst < 1.0, "/healthz took %.2f s under attack" % worst)
        check(connection_metrics.get("header_deadline", 0) > 0 and
              (args.serve_arg or connection_metrics.get("refused_per_address", 0) > 0),
              "the deadline and the per-address cap do not show in /metrics: %r" % connection_metrics)
        stored = subprocess.run(["sqlite3", os.path.join(hq.dir, "hq.sqlite"), "SELECT COUNT(*) FROM responses"],
                                capture_output=True, text=True, timeout=30).stdout.strip()
        check(stored == "5000", "HQ holds %s responses, expected 5000" % stored)
    finally:
        hq.stop()


# ---- limits and framing ---------------------------------------------------------------------------

def case_limits(args, tmp):
    hq = Hq(args.hq, tmp)
    try:
        ok = raw_request(hq, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        check(statuses(ok) == [200], "plain GET /healthz: %r" % ok[:200])

        many = b"".join(b"X-H%d: v\r\n" % i for i in range(101))
        reply = raw_request(hq, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        check(statuses(reply)[:1] == [431], "101 headers: %r" % reply[:300])
        check(b'"error":"headers_too_large"' in reply, "431 body: %r" % reply[-300:])
        hundred = b"".join(b"X-H%d: v\r\n" % i for i in range(98))
        reply = raw_request(hq, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + hundred + b"\r\n")
        check(statuses(reply) == [200], "100 headers must pass: %r" % reply[:300])
        big = b"X-Big: " + b"a" * (17 * 1024) + b"\r\n"
        reply = raw_request(hq, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
        check(statuses(reply)[:1] == [431], "17 KiB header: %r" % reply[:300])

        # Framing: both Content-Length and Transfer-Encoding, in either order, and two
        # Content-Lengths that differ: 400, and the connection is closed.
        for head in (b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                     b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                     b"Content-Length: 5\r\nContent-Length: 6\r\n",
                     b"Content-Length: 5, 6\r\n"):
            reply = raw_request(hq, b"POST /api/v1/batches HTTP/1.1\r\nHost: x\r\n" + head +
                                b"\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            check(statuses(reply) == [400], "framing %r: %r" % (head, reply[:300]))

        # Pipelined: three requests in one write, answered in order on one connection.
        reply = raw_request(hq, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n"
                                b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        check(statuses(reply) == [200, 404, 200], "pipelined: %r" % reply)

        # A body slower than the minimum rate is cut (10 KiB per 10 s): 1 byte a second.
        s = socket.create_connection(("127.0.0.1", hq.port), timeout=10)
        s = hq.context().wrap_socket(s, server_hostname="localhost")
        s.sendall(b"POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        t0 = time.monotonic()
        cut = None
        s.settimeout(1)
        while time.monotonic() - t0 < 25:
            try:
                s.sendall(b"x")
                if s.recv(1) == b"":
                    cut = time.monotonic() - t0
                    break
            except socket.timeout:
                continue
            except (OSError, ssl.SSLError):
                cut = time.monotonic() - t0
                break
        s.close()
        print(json.dumps({"slow_body_cut_after_s": cut}))
        check(cut is not None and cut < 15, "a body at 1 byte/s was not cut: %r" % cut)

        # The header deadline is for the whole handshake + headers, not per read.
        s = socket.create_connection(("127.0.0.1", hq.port), timeout=10)
        s = hq.context().wrap_socket(s, server_hostname="localhost")
        t0 = time.monotonic()
        cut = None
        s.settimeout(1)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\n")
            while time.monotonic() - t0 < 25:
                s.sendall(b"X-Slow: 1\r\n")
                try:
                    if s.recv(1) == b"":
                        cut = time.monotonic() - t0
                        break
                except socket.timeout:
                    continue
        except (OSError, ssl.SSLError):
            cut = time.monotonic() - t0
        s.close()
        print(json.dumps({"header_drip_cut_after_s": cut}))
        check(cut is not None and cut < 13, "headers dripped for %r s" % cut)
    finally:
        hq.stop()


def case_flood(args, tmp):
    hq = Hq(args.hq, tmp)
    try:
        # A 40 MB header stream from four connections is cut off; RSS hardly moves.
        rss0 = rss_kb(hq.proc.pid)
        sent = [0] * 4

        def flood(i):
            try:
                s = socket.create_connection(("127.0.0.1", hq.port), timeout=10)
                s = hq.context().wrap_socket(s, server_hostname="localhost")
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                line = b"X-Flood: " + b"f" * 1000 + b"\r\n"
                while sent[i] < 40 * 1000 * 1000:
                    s.sendall(line)
                    sent[i] += len(line)
            except (OSError, ssl.SSLError):
                pass

        floods = [threading.Thread(target=flood, args=(i,)) for i in range(4)]
        for t in floods:
            t.start()
        for t in floods:
            t.join(timeout=60)
        rss1 = rss_kb(hq.proc.pid)
        print(json.dumps({"header_flood_bytes_sent_before_cut": sent, "rss_kb_before": rss0, "rss_kb_after": rss1,
                          "rss_kb_peak": rss_kb(hq.proc.pid, "VmHWM")}))
        check(all(n < 40 * 1000 * 1000 for n in sent), "a 40 MB header stream was read to the end: %r" % sent)
        check(rss1 - rss0 < 8 * 1024, "RSS grew by %d KiB under the header flood" % (rss1 - rss0))
        ok = raw_request(hq, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        check(statuses(ok) == [200], "after the flood: %r" % ok[:200])

    finally:
        hq.stop()


def case_connection_caps(args, tmp):
    hq = Hq(args.hq, tmp, extra=["--max-connections", "16", "--max-connections-per-address", "4"])
    try:
        # Per address: the 5th connection from 127.0.0.2 is closed at once, 127.0.0.3 still gets in.
        held = []
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", hq.port), timeout=5, source_address=("127.0.0.2", 0))
            held.append(s)
        t0 = time.monotonic()
        fifth = socket.create_connection(("127.0.0.1", hq.port), timeout=5, source_address=("127.0.0.2", 0))
        fifth.settimeout(5)
        try:
            closed = fifth.recv(1) == b""
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
        check(closed and time.monotonic() - t0 < 2, "a 5th connection from one address was not refused at once")
        other = raw_request(hq, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", source="127.0.0.3")
        check(statuses(other) == [200], "another address was refused: %r" % other[:200])
        for s in held:
            s.close()
        time.sleep(0.3)

        # In all: 16 kept-alive idle connections, then a 17th: an idle one is closed for it.
        idle = []
        for i in range(16):
            s = socket.create_connection(("127.0.0.1", hq.port), timeout=5, source_address=(ATTACK_ADDRESSES[i % 10], 0))
            s = hq.context().wrap_socket(s, server_hostname="localhost")
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            while b'{"status":"ok"}' not in got:
                got += s.recv(4096)
            idle.append(s)
        fresh = raw_request(hq, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", source="127.0.0.1")
        check(statuses(fresh) == [200], "a new connection starved by idle ones: %r" % fresh[:200])
        closed = 0
        for s in idle:
            s.settimeout(0.5)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except (OSError, ssl.SSLError):
                closed += 1
            s.close()
        check(closed >= 1, "no idle connection was closed for the new one")
        text = http_get(hq.ops_port, b"/metrics").decode(errors="replace")
        check('segue_hq_connections_total{outcome="closed_idle_for_new"} ' in text and
              not 'segue_hq_connections_total{outcome="closed_idle_for_new"} 0\n' in text,
              "/metrics does not count the idle connection closed")
        check(not 'segue_hq_connections_total{outcome="refused_per_address"} 0\n' in text,
              "/metrics does not count the refusal per address")
    finally:
        hq.stop()


# ---- log --------------------------------------------------------------------------------------------

def case_logs(args, tmp):
    hq = Hq(args.hq, tmp)
    try:
        forged = b"/api/v1/batches%20200%20device=kiosk-X%0a2026-01-01%20FORGED%1b[31mRED%1b[0m"
        reply = raw_request(hq, b"GET " + forged + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        check(statuses(reply) == [404], "forged path: %r" % reply[:200])
        long_path = b"/" + b"L" * 5000
        raw_request(hq, b"GET " + long_path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        # A 4xx flood from one address: 200 requests on one kept-alive connection.
        s = socket.create_connection(("127.0.0.1", hq.port), timeout=10, source_address=("127.0.0.5", 0))
        s = hq.context().wrap_socket(s, server_hostname="localhost")
        s.sendall(b"".join(b"GET /flood-%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(199)) +
                  b"GET /flood-last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        s.settimeout(20)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        s.close()
        check(len(statuses(got)) == 200, "flood replies: %d" % len(statuses(got)))
        time.sleep(7)   # the 5 s window ends; the next flush writes the count
        log = hq.log()
        lines = log.splitlines()
        forged_lines = [l for l in lines if "FORGED" in l]
        print("\n".join(forged_lines))
        check(len(forged_lines) == 1, "the forged request made %d lines" % len(forged_lines))
        check("\\n2026-01-01 FORGED\\x1b[31mRED\\x1b[0m" in forged_lines[0], "escapes not visible: " + forged_lines[0])
        check("\x1b" not in log, "a raw ESC reached the log")
        long_lines = [l for l in lines if "LLLLL" in l]
        check(len(long_lines) == 1, "long path lines: %d" % len(long_lines))
        check(long_lines[0].count("L") <= 210 and "(5001 bytes)" in long_lines[0], "long path: " + long_lines[0][:400])
        flood_lines = [l for l in lines if "/flood-" in l]
        suppressed = [l for l in lines if "more suppressed" in l and "127.0.0.5" in l]
        print("flood lines written: %d; %s" % (len(flood_lines), suppressed))
        check(len(flood_lines) < 50, "%d flood lines written" % len(flood_lines))
        check(len(suppressed) == 1 and re.search(r"\b%d more suppressed" % (200 - len(flood_lines)), suppressed[0]),
              "suppressed line: %r" % suppressed)
    finally:
        hq.stop()


# ---- TLS ----------------------------------------------------------------------------------------------

def s_client(hq, *options):
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % hq.port, "-CAfile", hq.cert,
                        "-servername", "localhost"] + list(options),
                       input=b"", capture_output=True, timeout=30)
    text = (r.stdout + r.stderr).decode(errors="replace")
    m = re.search(r"Cipher is (\S+)", text)
    cipher = m.group(1) if m else None
    return r.returncode, cipher if cipher and cipher != "(NONE)" else None, text


def tls_suites(hq, refused, accepted):
    for suite in refused:
        code, cipher, text = s_client(hq, "-tls1_2", "-cipher", suite)
        print("TLS 1.2 %s: exit %d, cipher %s" % (suite, code, cipher))
        check(code != 0 and cipher is None, "TLS 1.2 with %s was accepted:\n%s" % (suite, text[-1500:]))
    for suite in accepted:
        code, cipher, text = s_client(hq, "-tls1_2", "-cipher", suite)
        print("TLS 1.2 %s: exit %d, cipher %s" % (suite, code, cipher))
        check(code == 0 and cipher == suite, "TLS 1.2 with %s refused:\n%s" % (suite, text[-1500:]))
    code, cipher, text = s_client(hq, "-tls1_3")
    print("TLS 1.3: exit %d, cipher %s" % (code, cipher))
    check(code == 0 and cipher and cipher.startswith("TLS_"), "TLS 1.3 refused:\n" + text[-1500:])
    code, cipher, text = s_client(hq, "-tls1_1")
    check(cipher is None, "TLS 1.1 accepted")


def case_tls(args, tmp):
    # init-demo's certificate has an EC (P-256) key: the ECDSA suites.
    hq = Hq(args.hq, tmp)
    try:
        tls_suites(hq, refused=("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256",
                                "ECDHE-ECDSA-AES256-SHA384"),
                   accepted=("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                             "ECDHE-ECDSA-CHACHA20-POLY1305"))
        for path in (b"/", b"/api/v1/fleet", b"/healthz"):
            reply = raw_request(hq, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            head = reply.split(b"\r\n\r\n")[0].decode()
            check(re.search(r"(?im)^strict-transport-security: max-age=63072000\r?$", head), "no HSTS on %s:\n%s" % (path, head))
        head = raw_request(hq, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").split(b"\r\n\r\n")[0].decode()
        print(head)
        for header in ("Content-Security-Policy", "X-Frame-Options: DENY", "X-Content-Type-Options: nosniff",
                       "Referrer-Policy: no-referrer"):
            check(header.lower() in head.lower(), "the page lost " + header)
    finally:
        hq.stop()
    # An RSA certificate (as an operator may bring): AES128-SHA (RSA key exchange, CBC) and the
    # ECDHE-RSA CBC suites refused, ECDHE-RSA with AES-GCM or ChaCha20-Poly1305 accepted.
    rsa = os.path.join(tmp, "rsa")
    os.mkdir(rsa)
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
                        "-keyout", os.path.join(rsa, "key.pem"), "-out", os.path.join(rsa, "cert.pem"),
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       capture_output=True, timeout=60)
    check(r.returncode == 0, "openssl req: %r" % r.stderr)
    hq = Hq(args.hq, rsa, cert=os.path.join(rsa, "cert.pem"), key=os.path.join(rsa, "key.pem"))
    try:
        tls_suites(hq, refused=("AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384",
                                "DHE-RSA-AES128-GCM-SHA256"),
                   accepted=("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"))
    finally:
        hq.stop()


# ---- /metrics ----------------------------------------------------------------------------------------

def http_get(port, path, tls_hq=None, token=None):
    headers = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    if token:
        headers += b"Authorization: Bearer " + token.encode() + b"\r\n"
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls_hq:
        s = tls_hq.context().wrap_socket(s, server_hostname="localhost")
    s.sendall(headers + b"\r\n")
    got = b""
    s.settimeout(10)
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    return got


def case_metrics(args, tmp):
    hq = Hq(args.hq, tmp)
    try:
        check(hq.ops_port, "no ops listener")
        ops = http_get(hq.ops_port, b"/metrics")
        check(statuses(ops) == [200] and b"segue_hq_requests_total" in ops, "ops /metrics: %r" % ops[:300])
        check(statuses(http_get(hq.ops_port, b"/healthz")) == [200], "ops /healthz")
        check(statuses(http_get(hq.ops_port, b"/api/v1/fleet", token=hq.read_token)) == [404], "ops serves the API")
        main = http_get(hq.port, b"/metrics", tls_hq=hq)
        check(statuses(main) == [404], "main /metrics without a metrics token file: %r" % main[:300])
    finally:
        hq.stop()
    token = "m" * 32
    token_file = os.path.join(tmp, "metrics-token")
    with open(token_file, "w") as f:
        f.write(token + "\n")
    os.chmod(token_file, 0o600)
    tmp2 = os.path.join(tmp, "second")
    os.mkdir(tmp2)
    hq = Hq(args.hq, tmp2, extra=["--metrics-token-file", token_file])
    try:
        check(statuses(http_get(hq.port, b"/metrics", tls_hq=hq)) == [401], "main /metrics without the token")
        check(statuses(http_get(hq.port, b"/metrics", tls_hq=hq, token="n" * 32)) == [401], "main /metrics, wrong token")
        good = http_get(hq.port, b"/metrics", tls_hq=hq, token=token)
        check(statuses(good) == [200] and b"segue_hq_requests_total{route=\"/metrics\",code=\"401\"} 2" in good,
              "main /metrics with the token: %r" % good[-600:])
    finally:
        hq.stop()


CASES = {"slow-clients": case_slow_clients, "limits": case_limits, "flood": case_flood, "caps": case_connection_caps,
         "logs": case_logs, "tls": case_tls, "metrics": case_metrics}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--hq", required=True)
    parser.add_argument("--kiosk")
    parser.add_argument("--drip-every", type=float, default=3.0)
    parser.add_argument("--settle", type=float, default=12.0)
    parser.add_argument("--serve-arg", action="append", default=[], help="passed on to segue-hq serve (slow-clients)")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="segue-hostile-")
    try:
        CASES[args.case](args, tmp)
    except Failure as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    finally:
        if os.environ.get("SEGUE_KEEP_TMP"):
            print("kept " + tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("ok: " + args.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
