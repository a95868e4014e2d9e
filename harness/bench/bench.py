#!/usr/bin/env python3
"""make bench: vquic (vq-server / vq-client) side by side with ngtcp2 (Debian's gtlsserver /
gtlsclient, GnuTLS) in the same run.

Every case runs R repetitions per stack, alternating the stacks (vquic first on even repetitions,
ngtcp2 first on odd ones), each repetition with a fresh server. Printed: medians per stack and the
ratio vquic / ngtcp2. Written: build/bench/results.json (every repetition, medians, ratios, machine)
and build/bench/ratios.png.

A benchmark, not a test: no speed is ever judged. The run fails (exit 1) only when a transfer fails
(a client exits non-zero, or a body has the wrong size or bytes) or a tool is missing (exit 2).

Environment: BENCH_QUICK=1 (smoke mode: 50 MB, fewer connections), BENCH_R=N (repetitions),
BENCH_CASES=bulk,conns,warm,streams,idle,loss (a subset), BENCH_PIN=1 (server on CPU 0, clients on CPU 1).
"""
import argparse
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

STACKS = ("vquic", "ngtcp2")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# --------------------------------------------------------------------------------------------------
# bookkeeping


class Fail(Exception):
    """A transfer failed: recorded, the run goes on, the exit status is 1."""


FAILURES = []
CLEANUP = []  # callables, run in reverse order at exit


def cleanup():
    while CLEANUP:
        f = CLEANUP.pop()
        try:
            f()
        except Exception as e:  # keep cleaning
            print(f"bench: cleanup: {e}", file=sys.stderr)


def on_signal(signum, _frame):
    cleanup()
    sys.exit(128 + signum)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pct(xs, p):
    """Nearest-rank percentile (p in 0..100)."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


# --------------------------------------------------------------------------------------------------
# processes


def cpu_seconds(pid):
    """utime + stime of a running process (all its threads), from /proc/PID/stat (clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def mem_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out


def udp_bound(pid, port):
    """True once the process's network namespace has a UDP socket bound on port."""
    want = f":{port:04X}"
    for fn in (f"/proc/{pid}/net/udp", f"/proc/{pid}/net/udp6"):
        try:
            with open(fn) as f:
                next(f)
                for line in f:
                    if line.split()[1].endswith(want):
                        return True
        except (OSError, StopIteration):
            pass
    return False


def affinity(cpu):
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


class Server:
    def __init__(self, argv, logfile, cpu=None):
        self.logfile = logfile
        self.log = open(logfile, "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                  start_new_session=True, preexec_fn=affinity(cpu))
        self.pid = self.p.pid
        CLEANUP.append(self.stop)

    def alive(self):
        return self.p.poll() is None

    def text(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def cpu(self):
        return cpu_seconds(self.pid)

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.p.wait()
        self.log.close()
        if self.stop in CLEANUP:
            CLEANUP.remove(self.stop)


def run_client(argv, timeout, errfile, cpu=None, stdout=subprocess.DEVNULL):
    """Runs a client to completion; returns (exit status, wall seconds, CPU seconds (user+sys)).
    Timed from outside, the same way for both stacks: from just before fork to the reaping wait4."""
    with open(errfile, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err,
                             start_new_session=True, preexec_fn=affinity(cpu))
        killed = []

        def kill():
            killed.append(1)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        t1 = time.perf_counter()
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
    rc = p.returncode if not killed else "timeout"
    return rc, t1 - t0, ru.ru_utime + ru.ru_stime


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------------
# the two stacks


class Env:
    """Paths, certificate, served files, options shared by every case."""

    def __init__(self, args):
        self.build = args.build
        self.bin = os.path.join(args.build, "bin")
        self.quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
        # BENCH_SMOKE: what make check runs -- one repetition of tiny cases, to see that the bench works
        self.smoke = os.environ.get("BENCH_SMOKE", "") not in ("", "0")
        if self.smoke:
            self.quick = True
        self.R = int(os.environ.get("BENCH_R", "1" if self.smoke else "3" if self.quick else "5"))
        pin = os.environ.get("BENCH_PIN", "") not in ("", "0") and os.cpu_count() >= 2
        self.srv_cpu, self.cli_cpu = (0, 1) if pin else (None, None)
        self.bulk_bytes = 5_000_000 if self.smoke else 50_000_000 if self.quick else 1_000_000_000
        self.n_conns = 10 if self.smoke else 100 if self.quick else 1000
        self.n_streams, self.stream_bytes = (10, 100_000) if self.smoke else (100, 1_000_000)
        self.n_idle = 50 if self.smoke else 1000
        self.n_warm = 100 if self.smoke else 2000 if self.quick else 10000
        self.small_bytes = 1000
        self.tmp = tempfile.mkdtemp(prefix="vq-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm")
                                    else None)
        CLEANUP.append(lambda: shutil.rmtree(self.tmp, ignore_errors=True))
        self.www = os.path.join(self.tmp, "www")
        os.makedirs(self.www)
        self.cert = os.path.join(self.tmp, "cert.pem")
        self.key = os.path.join(self.tmp, "key.pem")

    def path(self, *p):
        return os.path.join(self.tmp, *p)


def make_files(env):
    # An ECDSA P-256 certificate for both servers (both also accept it), valid for the names used.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", env.key, "-out", env.cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:10.201.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Random (incompressible) bodies on tmpfs; both servers serve the same files.
    def write_random(name, n):
        with open(os.path.join(env.www, name), "wb") as f:
            left = n
            while left:
                k = min(left, 1 << 22)
                f.write(os.urandom(k))
                left -= k
    write_random("bulk.bin", env.bulk_bytes)
    write_random("small.bin", env.small_bytes)
    write_random("s000.bin", env.stream_bytes)
    for i in range(1, env.n_streams):  # hard links: 100 names, one 1 MB body
        os.link(os.path.join(env.www, "s000.bin"), os.path.join(env.www, f"s{i:03d}.bin"))


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(env, stack, tag, netns=None, addr="127.0.0.1"):
    """Starts a fresh server; returns (Server, port) once it listens."""
    pre = ["ip", "netns", "exec", netns] if netns else []
    logf = env.path(f"{tag}-{stack}-server.log")
    if stack == "vquic":
        # -q: no log line per request, as gtlsserver -q
        argv = pre + [os.path.join(env.bin, "vq-server"), "-q", "--listen", f"{addr}:0", "--root", env.www,
                      "--cert", env.cert, "--key", env.key]
        srv = Server(argv, logf, env.srv_cpu)
        port = None
        for _ in range(200):
            m = re.search(r"serving .* on [0-9.]+:(\d+)", srv.text())
            if m:
                port = int(m.group(1))
                break
            if not srv.alive():
                break
            time.sleep(0.025)
    else:
        port = free_port() if not netns else random.randint(20000, 60000)
        argv = pre + ["gtlsserver", "-q", "-d", env.www, addr, str(port), env.key, env.cert]
        srv = Server(argv, logf, env.srv_cpu)
        for _ in range(200):
            if udp_bound(srv.pid, port) or not srv.alive():
                break
            time.sleep(0.025)
        if not udp_bound(srv.pid, port):
            port = None
    if port is None:
        srv.stop()
        raise Fail(f"{stack} server did not start:\n{srv.text()[-2000:]}")
    time.sleep(0.1)  # let start-up work (key generation, page faults) finish before measuring
    return srv, port


def client_argv(env, stack, port, paths, outdir, netns=None, host="127.0.0.1"):
    pre = ["ip", "netns", "exec", netns] if netns else []
    urlhost = "localhost" if host == "127.0.0.1" else host
    urls = [f"https://{urlhost}:{port}/{p}" for p in paths]
    if stack == "vquic":
        return pre + [os.path.join(env.bin, "vq-client"), "--cafile", env.cert, "-q",
                      "--output-dir", outdir] + urls
    return pre + ["gtlsclient", "-q", "--exit-on-all-streams-close", "--download", outdir, host,
                  str(port)] + urls


def check_bodies(env, outdir, names, stack, what):
    """Every downloaded body must have the served size and bytes."""
    for n in names:
        got = os.path.join(outdir, n)
        want = os.path.join(env.www, n)
        if not os.path.exists(got):
            raise Fail(f"{what}: {stack}: {n} was not downloaded")
        gs, ws = os.path.getsize(got), os.path.getsize(want)
        if gs != ws:
            raise Fail(f"{what}: {stack}: {n} has {gs} bytes, expected {ws}")
        with open(got, "rb") as a, open(want, "rb") as b:
            while True:
                x, y = a.read(1 << 22), b.read(1 << 22)
                if x != y:
                    raise Fail(f"{what}: {stack}: {n} differs from the served file")
                if not x:
                    break


def fresh_dir(env, name):
    d = env.path(name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def order(rep):
    return STACKS if rep % 2 == 0 else STACKS[::-1]


def repeat(env, name, one):
    """R repetitions, alternating the stacks; one(stack, rep) -> dict of measures, or raises Fail
    (recorded; the other runs still go on)."""
    runs = {s: [] for s in STACKS}
    fails = []
    for rep in range(env.R):
        for stack in order(rep):
            try:
                r = one(stack, rep)
                if "_fail" in r:  # measured, but something failed on the way
                    msg = f"{name}: repetition {rep + 1}: {stack}: {r.pop('_fail')}"
                    log(f"  FAILED {msg}")
                    fails.append(msg)
                runs[stack].append(r)
            except Fail as e:
                msg = f"{name}: repetition {rep + 1}: {stack}: {e}"
                log(f"  FAILED {msg}")
                fails.append(msg)
    return {"runs": runs, "failures": fails}


# --------------------------------------------------------------------------------------------------
# cases. Each returns {stack: [per-repetition dict]}; metric names end in their unit.


def transfer_case(env, name, paths, total_bytes, netns_pair=None, timeout=600):
    """One connection, the given paths in parallel; goodput from the client's wall time."""
    srv_ns, cli_ns = netns_pair if netns_pair else (None, None)
    host = "10.201.0.1" if netns_pair else "127.0.0.1"

    def one(stack, rep):
        srv, port = start_server(env, stack, name, srv_ns, host)
        errf = env.path(f"{name}-{stack}-client.err")
        try:
            out = fresh_dir(env, f"{name}-out")
            c0 = srv.cpu()
            rc, wall, ccpu = run_client(client_argv(env, stack, port, paths, out, cli_ns, host),
                                        timeout, errf, env.cli_cpu)
            time.sleep(0.2)  # the server handles the close
            scpu = srv.cpu() - c0
            if rc != 0:
                raise Fail(f"client exited {rc} after {wall:.2f} s:\n{tail(errf)}")
            check_bodies(env, out, paths, stack, name)
            shutil.rmtree(out, ignore_errors=True)
        finally:
            srv.stop()
        gb = total_bytes / 1e9
        r = {"bytes": total_bytes, "wall_s": wall, "goodput_gbit_s": total_bytes * 8 / wall / 1e9,
             "server_cpu_s": scpu, "client_cpu_s": ccpu, "server_cpu_s_per_gb": scpu / gb,
             "client_cpu_s_per_gb": ccpu / gb}
        log(f"  {name} rep {rep + 1}/{env.R} {stack:6}: {r['goodput_gbit_s']:.3f} Gbit/s, "
            f"server {scpu:.2f} s CPU, client {ccpu:.2f} s CPU")
        return r
    return repeat(env, name, one)


def case_bulk(env):
    return transfer_case(env, "bulk", ["bulk.bin"], env.bulk_bytes)


def case_streams(env):
    names = [f"s{i:03d}.bin" for i in range(env.n_streams)]
    return transfer_case(env, "streams", names, env.n_streams * env.stream_bytes)


def case_conns(env):
    """N sequential connections, each a new client process: handshake, one GET of a small body,
    close. Per connection: the client process's wall time (fork to reaping: process start-up, TLS
    set-up, handshake, request, first and last byte, close)."""
    def one(stack, rep):
        srv, port = start_server(env, stack, "conns")
        errf = env.path(f"conns-{stack}-client.err")
        times, ccpus = [], []
        try:
            out = fresh_dir(env, "conns-out")
            c0 = srv.cpu()
            for i in range(env.n_conns):
                rc, wall, ccpu = run_client(client_argv(env, stack, port, ["small.bin"], out), 30,
                                            errf, env.cli_cpu)
                if rc != 0:
                    raise Fail(f"connection {i}: client exited {rc}:\n{tail(errf)}")
                got = os.path.join(out, "small.bin")
                if not os.path.exists(got) or os.path.getsize(got) != env.small_bytes:
                    raise Fail(f"connection {i}: no body or a wrong size")
                os.unlink(got)
                times.append(wall)
                ccpus.append(ccpu)
            time.sleep(0.2)
            scpu = srv.cpu() - c0
        finally:
            srv.stop()
        total = sum(times)
        r = {"n": env.n_conns, "conn_per_s": env.n_conns / total,
             "server_cpu_ms_per_conn": scpu * 1000 / env.n_conns,
             "client_cpu_ms_per_conn": sum(ccpus) * 1000 / env.n_conns,
             "lat_p50_ms": pct(times, 50) * 1000, "lat_p99_ms": pct(times, 99) * 1000,
             "lat_p999_ms": pct(times, 99.9) * 1000, "lat_max_ms": max(times) * 1000,
             "times_ms": [round(t * 1000, 3) for t in times]}
        log(f"  conns rep {rep + 1}/{env.R} {stack:6}: {r['conn_per_s']:.1f} conn/s, server "
            f"{r['server_cpu_ms_per_conn']:.2f} ms CPU/conn, p50 {r['lat_p50_ms']:.1f} ms, "
            f"p99 {r['lat_p99_ms']:.1f} ms")
        return r
    return repeat(env, "conns", one)


def case_warm(env):
    """Small request/response latency on one warm connection: vq-client (the same client for both
    servers, so the difference is the server's) opens one connection, then fetches small.bin n_warm
    times one after the other (--sequential --repeat), each request sent when the previous response
    ended, and writes each request's time from sending it to its last byte (--timings). The first
    10 requests (handshake, congestion window, QPACK state) are left out. gtlsclient cannot send
    requests one after the other on a connection, so ngtcp2 is measured as a server only here."""
    def one(stack, rep):
        srv, port = start_server(env, stack, "warm")
        errf = env.path(f"warm-{stack}-client.err")
        tf = env.path(f"warm-{stack}-timings.txt")
        try:
            c0 = srv.cpu()
            argv = [os.path.join(env.bin, "vq-client"), "--cafile", env.cert, "-q", "--sequential",
                    "--repeat", str(env.n_warm), "--timings", tf, "-o", os.devnull,
                    f"https://localhost:{port}/small.bin"]
            rc, wall, ccpu = run_client(argv, 120, errf, env.cli_cpu)
            time.sleep(0.2)
            scpu = srv.cpu() - c0
            if rc != 0:
                raise Fail(f"client exited {rc} after {wall:.2f} s:\n{tail(errf)}")
            times = []
            with open(tf) as f:
                for line in f:
                    url, start_us, dur_us, status, nbytes = line.split()
                    if int(status) != 200 or int(nbytes) != env.small_bytes or int(dur_us) < 0:
                        raise Fail(f"request {len(times)}: status {status}, {nbytes} bytes")
                    times.append(int(dur_us) / 1000.0)
            if len(times) != env.n_warm:
                raise Fail(f"{len(times)} timings for {env.n_warm} requests")
            times = times[10:]
        finally:
            srv.stop()
        r = {"n": len(times), "req_per_s": len(times) / (sum(times) / 1000.0),
             "server_cpu_us_per_req": scpu * 1e6 / env.n_warm,
             "warm_p50_ms": pct(times, 50), "warm_p99_ms": pct(times, 99),
             "warm_p999_ms": pct(times, 99.9), "warm_max_ms": max(times)}
        log(f"  warm rep {rep + 1}/{env.R} {stack:6}: p50 {r['warm_p50_ms'] * 1000:.0f} us, p99 "
            f"{r['warm_p99_ms'] * 1000:.0f} us, p99.9 {r['warm_p999_ms'] * 1000:.0f} us, server "
            f"{r['server_cpu_us_per_req']:.0f} us CPU/request")
        return r
    return repeat(env, "warm", one)


def case_idle(env):
    """A fresh server; vq-bench-idle (vquic's client, the same for both servers) opens n_idle
    HTTP/3 connections, completes handshakes and SETTINGS, holds them idle. Server RSS before and
    with them; bytes per connection = RSS growth / connections."""
    gen = os.path.join(env.bin, "vq-bench-idle")

    def one(stack, rep):
        srv, port = start_server(env, stack, "idle")
        errf = env.path(f"idle-{stack}-gen.err")
        try:
            time.sleep(0.2)
            base = mem_status(srv.pid)["VmRSS"]
            c0 = srv.cpu()
            with open(errf, "wb") as err:
                g = subprocess.Popen([gen, "--connect", f"127.0.0.1:{port}", "-n", str(env.n_idle)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                     start_new_session=True, preexec_fn=affinity(env.cli_cpu))
            kill = lambda: g.poll() is None and os.killpg(g.pid, signal.SIGKILL)
            CLEANUP.append(kill)
            try:
                timer = threading.Timer(180, kill)
                timer.start()
                line = g.stdout.readline().decode(errors="replace")
                timer.cancel()
                m = re.match(r"established (\d+) failed (\d+) ms ([0-9.]+)", line)
                if not m:
                    raise Fail(f"the generator said {line!r}:\n{tail(errf)}")
                est, hs_ms = int(m.group(1)), float(m.group(3))
                time.sleep(1.0)  # idle: acknowledgements and timers settle
                hs_cpu = srv.cpu() - c0
                held = mem_status(srv.pid)
                g.stdin.close()  # the generator closes every connection and exits
                g.wait(timeout=60)
            finally:
                kill()
                g.wait()
                CLEANUP.remove(kill)
            time.sleep(1.0)
            after = mem_status(srv.pid)["VmRSS"]
        finally:
            srv.stop()
        if est == 0:
            raise Fail(f"no connection established:\n{tail(errf)}")
        r = {"n": est, "rss_base_bytes": base, "rss_held_bytes": held["VmRSS"],
             "peak_rss_bytes": held["VmHWM"], "rss_after_close_bytes": after,
             "bytes_per_conn": (held["VmRSS"] - base) / est,
             "peak_rss_mb": held["VmHWM"] / 1e6,
             "setup_ms_total": hs_ms, "server_cpu_ms_per_handshake": hs_cpu * 1000 / est}
        if est != env.n_idle:
            r["_fail"] = (f"only {est} of {env.n_idle} connections established (measured over "
                          f"those):\n{tail(errf)}")
        log(f"  idle rep {rep + 1}/{env.R} {stack:6}: peak RSS {r['peak_rss_mb']:.1f} MB, "
            f"{r['bytes_per_conn'] / 1024:.1f} KiB/conn, {hs_ms:.0f} ms to open {est}")
        return r
    return repeat(env, "idle", one)


class LossyPath:
    """Two network namespaces joined by a veth pair (10.201.0.1 server, 10.201.0.2 client); each
    side drops 1 % of the datagrams it receives (harness/bench/loss_drop.c on tc clsact ingress),
    with gso_max_segs 1 so that GSO trains cross the veth as single datagrams. Nothing outside
    the two namespaces is touched; they are deleted at the end."""

    def __init__(self, env):
        tag = f"{os.getpid() % 100000}"
        self.srv, self.cli = f"vqb{tag}s", f"vqb{tag}c"
        self.a, self.b = f"vqb{tag}a", f"vqb{tag}b"
        self.obj = os.path.join(env.build, "bench", "loss_drop.o")
        if not os.path.exists(self.obj):
            raise Fail(f"loss: {self.obj} is missing (built by make bench)")
        CLEANUP.append(self.close)
        sh = lambda *a: subprocess.run(list(a), check=True, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
        sh("ip", "netns", "add", self.srv)
        sh("ip", "netns", "add", self.cli)
        sh("ip", "link", "add", self.a, "type", "veth", "peer", "name", self.b)
        sh("ip", "link", "set", self.a, "netns", self.srv)
        sh("ip", "link", "set", self.b, "netns", self.cli)
        for ns, dev, ip in ((self.srv, self.a, "10.201.0.1/24"), (self.cli, self.b, "10.201.0.2/24")):
            sh("ip", "-n", ns, "addr", "add", ip, "dev", dev)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", "dev", dev, "gso_max_segs", "1", "up")
            sh("tc", "-n", ns, "qdisc", "add", "dev", dev, "clsact")
            sh("tc", "-n", ns, "filter", "add", "dev", dev, "ingress", "bpf", "da", "obj", self.obj,
               "sec", "classifier")

    def rx_packets(self):
        out = subprocess.run(["ip", "-n", self.cli, "-s", "link", "show", self.b], check=True,
                             capture_output=True, text=True).stdout.split("\n")
        return int(out[3].split()[1])

    def close(self):
        for ns in (self.srv, self.cli):
            subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if self.close in CLEANUP:
            CLEANUP.remove(self.close)


def case_loss(env):
    try:
        path = LossyPath(env)
    except subprocess.CalledProcessError as e:
        return {"skipped": f"cannot build the lossy path ({' '.join(e.cmd)}: "
                           f"{e.stderr.decode(errors='replace').strip()})"}
    try:
        return transfer_case(env, "loss", ["bulk.bin"], env.bulk_bytes, (path.srv, path.cli))
    finally:
        path.close()


CASES = {"bulk": case_bulk, "conns": case_conns, "warm": case_warm, "streams": case_streams,
         "idle": case_idle, "loss": case_loss}

# (case, metric, label, higher is better, target for the ratio vquic/ngtcp2 or None)
TABLE = [
    ("bulk", "goodput_gbit_s", "bulk goodput, Gbit/s", True, (">=", 1.5)),
    ("bulk", "server_cpu_s_per_gb", "bulk server CPU, s/GB", False, ("<=", 0.7)),
    ("bulk", "client_cpu_s_per_gb", "bulk client CPU, s/GB", False, None),
    ("conns", "conn_per_s", "sequential connections/s", True, (">=", 2.0)),
    ("conns", "server_cpu_ms_per_conn", "server CPU per connection, ms", False, None),
    ("conns", "client_cpu_ms_per_conn", "client CPU per connection, ms", False, None),
    ("conns", "lat_p50_ms", "new conn + small GET p50, ms", False, None),
    ("conns", "lat_p99_ms", "new conn + small GET p99, ms", False, None),
    ("conns", "lat_p999_ms", "new conn + small GET p99.9, ms", False, None),
    ("warm", "warm_p50_ms", "warm conn small GET p50, ms (vq-client)", False, None),
    ("warm", "warm_p99_ms", "warm conn small GET p99, ms (vq-client)", False, None),
    ("warm", "warm_p999_ms", "warm conn small GET p99.9, ms (vq-client)", False, None),
    ("warm", "server_cpu_us_per_req", "warm conn server CPU per request, us", False, None),
    ("streams", "goodput_gbit_s", "100x1MB streams goodput, Gbit/s", True, None),
    ("streams", "server_cpu_s_per_gb", "100x1MB server CPU, s/GB", False, None),
    ("streams", "client_cpu_s_per_gb", "100x1MB client CPU, s/GB", False, None),
    ("idle", "peak_rss_mb", "1000 idle conns: server peak RSS, MB", False, None),
    ("idle", "bytes_per_conn", "idle: server bytes/connection", False, ("<=", 1.0)),
    ("idle", "server_cpu_ms_per_handshake", "idle: server CPU per handshake, ms", False, None),
    ("loss", "goodput_gbit_s", "1% loss goodput, Gbit/s", True, None),
    ("loss", "server_cpu_s_per_gb", "1% loss server CPU, s/GB", False, None),
]


# --------------------------------------------------------------------------------------------------
# machine


def machine_info(env):
    def sh(*a):
        try:
            return subprocess.run(list(a), capture_output=True, text=True, timeout=30).stdout.strip()
        except Exception:
            return ""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
        "loadavg_start": os.getloadavg(),
        "mem_total_mb": os.sysconf("SC_PHYS_PAGES") * PAGE // 1_000_000,
        "vquic_rev": sh("git", "rev-parse", "--short", "HEAD") + (
            "-dirty" if sh("git", "status", "--porcelain", "--untracked-files=no") else ""),
        "ngtcp2": sh("dpkg-query", "-W", "-f=${Version}", "ngtcp2-server"),
        "gnutls": sh("dpkg-query", "-W", "-f=${Version}", "libgnutls30"),
        "openssl": sh("openssl", "version"),
        "pinned": env.srv_cpu is not None,
    }


def aead_speed():
    """AES-128-GCM (the cipher both stacks negotiate here) on one core, via openssl speed."""
    out = {}
    for size in (1200, 16384):
        txt = subprocess.run(["openssl", "speed", "-evp", "aes-128-gcm", "-seconds", "1", "-bytes",
                              str(size)], capture_output=True, text=True).stdout
        m = re.search(r"^aes-128-gcm\s+([0-9.]+)k", txt, re.M | re.I)
        if m:
            out[f"gbit_s_{size}B"] = float(m.group(1)) * 1000 * 8 / 1e9
    return out


# --------------------------------------------------------------------------------------------------
# report


def summarize(results):
    for name, c in results["cases"].items():
        runs = c.get("runs")
        if not runs:
            continue
        med = {}
        for s in STACKS:
            keys = [k for k, v in (runs[s][0].items() if runs[s] else []) if isinstance(v, (int, float))]
            med[s] = {k: median([r[k] for r in runs[s]]) for k in keys}
        c["medians"] = med
        keys = set(med["vquic"]) | set(med["ngtcp2"])
        c["ratios"] = {k: (med["vquic"][k] / med["ngtcp2"][k]
                           if med["ngtcp2"].get(k) and med["vquic"].get(k) is not None else None)
                       for k in sorted(keys)}


def fmt(x):
    if x is None:
        return "-"
    a = abs(x)
    if a >= 100000:
        return f"{x / 1000:.0f}k"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.3f}" if a < 1 else f"{x:.2f}"


def print_table(results):
    m = results["machine"]
    a = results["aead"]
    print()
    print(f"make bench{' (BENCH_QUICK)' if results['quick'] else ''}: R={results['reps']} repetitions "
          f"per stack, medians; vquic {m['vquic_rev']} vs ngtcp2 {m['ngtcp2']} (gtlsserver/gtlsclient,"
          f" GnuTLS {m['gnutls']})")
    print(f"machine: {m['cpus']} x {m['cpu_model']}, Linux {m['kernel']}, load "
          f"{m['loadavg_start'][0]:.2f} at start, {m['loadavg_end'][0]:.2f} at end"
          f"{', pinned' if m['pinned'] else ''}")
    if a:
        print(f"AEAD limit (openssl speed aes-128-gcm, one core): {a.get('gbit_s_1200B', 0):.2f} Gbit/s "
              f"at 1200 B, {a.get('gbit_s_16384B', 0):.2f} Gbit/s at 16 KiB")
    print()
    w = 40
    print(f"{'metric':{w}} {'vquic':>9} {'ngtcp2':>9} {'vq/ng':>7}  {'target':7} better")
    print("-" * (w + 46))
    for case, key, label, higher, target in TABLE:
        c = results["cases"].get(case)
        if c is None:
            continue
        if "skipped" in c:
            print(f"{label:{w}} skipped: {c['skipped']}")
            continue
        if "medians" not in c:
            print(f"{label:{w}} failed")
            continue
        v, n = c["medians"]["vquic"].get(key), c["medians"]["ngtcp2"].get(key)
        fails = {s for s in STACKS if not c["runs"][s]}
        r = c["ratios"].get(key)
        if key == "bytes_per_conn":
            v, n = (v / 1024 if v is not None else None), (n / 1024 if n is not None else None)
            label = label.replace("bytes", "KiB")
        t = f"{target[0]}{target[1]}" if target else ""
        fv = "FAILED" if "vquic" in fails else fmt(v)
        fn = "FAILED" if "ngtcp2" in fails else fmt(n)
        print(f"{label:{w}} {fv:>9} {fn:>9} {fmt(r):>7}  {t:7} {'higher' if higher else 'lower'}")
    print()
    print("Not a test: the numbers are what this machine gave during this run (CPU time is read in "
          f"1/{CLK_TCK} s ticks).")
    if results["failures"]:
        print("FAILED (medians above are over the repetitions that succeeded):")
        for f in results["failures"]:
            lines = [x for x in f.split("\n") if x.strip()]
            print("  " + lines[0] + (f" | {lines[-1].strip()}" if len(lines) > 1 else ""))


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("bench: matplotlib is missing: no ratios.png (apt-get install python3-matplotlib)")
        return False
    labels, vals, targets, colors = [], [], [], []
    for case, key, label, higher, target in TABLE:
        c = results["cases"].get(case, {})
        r = c.get("ratios", {}).get(key)
        if r is None:
            continue
        labels.append(label.replace(", ", "\n"))
        vals.append(r)
        targets.append(target)
        good = (r >= 1) if higher else (r <= 1)
        colors.append("#4c9a2a" if good else "#c0504d")
    fig, ax = plt.subplots(figsize=(max(8, 0.75 * len(vals) + 2), 6))
    x = range(len(vals))
    ax.bar(x, vals, color=colors)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    for i, t in enumerate(targets):
        if t:
            ax.hlines(t[1], i - 0.45, i + 0.45, colors="blue", linewidth=2.5)
            ax.annotate(f"target {t[0]} {t[1]}", (i, t[1]), textcoords="offset points", xytext=(0, 4),
                        ha="center", fontsize=7, color="blue")
    for i, v in enumerate(vals):
        ax.annotate(f"{v:.2f}", (i, v), textcoords="offset points", xytext=(0, -12 if v > 1 else 3),
                    ha="center", fontsize=7)
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("vquic / ngtcp2 (log scale)")
    m = results["machine"]
    ax.set_title(f"vquic / ngtcp2 medians, R={results['reps']}{' QUICK' if results['quick'] else ''}"
                 f" — green: vquic better, red: worse; blue: targets\n{m['cpus']} CPUs {m['cpu_model']}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


# --------------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    missing = [t for t in ("gtlsserver", "gtlsclient", "openssl", "ip", "tc") if not shutil.which(t)]
    missing += [p for p in ("vq-server", "vq-client", "vq-bench-idle")
                if not os.access(os.path.join(args.build, "bin", p), os.X_OK)]
    if missing:
        print(f"bench: missing: {' '.join(missing)} (ci/install-deps.sh; make bench builds the rest)")
        return 2
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        lim = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lim[1], lim[1]))
    except (ValueError, OSError):
        pass
    env = Env(args)
    outdir = os.path.join(args.build, "bench")
    os.makedirs(outdir, exist_ok=True)
    wanted = [c.strip() for c in os.environ.get("BENCH_CASES", ",".join(CASES)).split(",") if c.strip()]
    results = {"schema": 1, "quick": env.quick, "reps": env.R, "machine": machine_info(env),
               "params": {"bulk_bytes": env.bulk_bytes, "conns": env.n_conns, "streams": env.n_streams,
                          "stream_bytes": env.stream_bytes, "idle_conns": env.n_idle, "warm_requests": env.n_warm,
                          "small_bytes": env.small_bytes, "loss": 0.01},
               "targets": {"bulk.goodput_gbit_s": ">= 1.5", "bulk.server_cpu_s_per_gb": "<= 0.7",
                           "conns.conn_per_s": ">= 2", "idle.bytes_per_conn": "<= 1"},
               "cases": {}, "failures": []}
    try:
        log(f"bench: AEAD speed (openssl speed), files in {env.tmp}")
        results["aead"] = aead_speed()
        make_files(env)
        for name in wanted:
            if name not in CASES:
                print(f"bench: unknown case {name} (known: {', '.join(CASES)})")
                return 2
            log(f"bench: {name}")
            try:
                r = CASES[name](env)
            except Fail as e:
                log(f"bench: {name}: FAILED: {e}")
                r = {"failures": [f"{name}: {e}"]}
            results["cases"][name] = r
            results["failures"] += r.get("failures", [])
        results["machine"]["loadavg_end"] = os.getloadavg()
        summarize(results)
        with open(os.path.join(outdir, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        png = plot(results, os.path.join(outdir, "ratios.png"))
        print_table(results)
        print(f"written: {os.path.join(outdir, 'results.json')}"
              f"{', ' + os.path.join(outdir, 'ratios.png') if png else ''}")
    finally:
        cleanup()
    return 1 if results["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
