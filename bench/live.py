#!/usr/bin/env python3
"""bench/live.py -- live-tailing measurements of xmail_exporter (issue 5), next to mtail.

Runs target/release/xmail_exporter (and mtail with bench/xmail.mtail where the issue compares
with it) against generated log directories, and measures:

  a  append-to-scrape latency: one line at a time appended to a followed smtp-* file, /metrics
     polled until the line count moves; p50/p99/max for the exporter and mtail, side by side
     (both follow the same file, each append is timed for both)
  b  idle: CPU used over a quiet window (utime+stime from /proc/PID/stat) as % of one core,
     RSS, open fds -- exporter and mtail, same window, no scrapes
  c  sustained load: a writer appends --rate lines/s (default 100 000) to smtp-*/smail-* for
     --load-seconds while /metrics is scraped every second; achieved write rate, exporter CPU
     during the load, whether xmail_exporter_log_lag_bytes returns to 0 and how fast
  d  /metrics scrape time with every series present (after the sample logs of examples/logs):
     median/p99 of sequential scrapes, then --concurrency threads scraping 5 times each, each
     from a loopback address of its own, then all from 127.0.0.1 (the per-address limit)
  e  years of history: --history-files old time-named files (8 kinds, old mtimes) plus a
     current smtp file; start-up time to /-/ready and to the first counted new line, then
     idle CPU, open fds, RSS -- exporter and mtail (--logs 'DIR/*')

Python 3 standard library only. Loopback only; free ports from binding port 0. Every process
started here is stopped on exit, Ctrl-C or error (and gets SIGTERM if this script dies: PDEATHSIG).
Results: a table on stdout, JSON in bench/out/live/ (git-ignored).

Usage: bench/live.py [--quick] [--parts abcde] [--no-mtail] [--build] [--keep] ...
       bench/live.py --help
"""

import argparse
import ctypes
import datetime as dt
import http.client
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
now = time.perf_counter

# ----------------------------------------------------------------------------- targets
TARGETS = {
    "latency_p99_ms": 50.0,
    "idle_cpu_pct": 1.0,
    "load_cpu_pct": 100.0,
    "scrape_median_ms": 2.0,
    "history_startup_s": 1.0,
    "history_fds": 20,
    "history_cpu_pct": 1.0,
    "history_rss_mb": 20.0,
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def pct(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def summary_ms(values_s):
    if not values_s:
        return None
    ms = [v * 1000 for v in values_s]
    return {"n": len(ms), "p50": statistics.median(ms), "p90": pct(ms, 90), "p99": pct(ms, 99),
            "max": max(ms), "min": min(ms), "mean": statistics.fmean(ms)}


# ----------------------------------------------------------------------------- processes
class Procs:
    """Every child started here; stopped (TERM, then KILL) by stop_all()."""

    def __init__(self):
        self.procs = []
        self.lock = threading.Lock()

    @staticmethod
    def _pdeathsig():
        try:  # the child gets SIGTERM if this script dies without cleaning up
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except Exception:
            pass

    def start(self, cmd, stderr_path, name):
        err = open(stderr_path, "wb")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                             preexec_fn=self._pdeathsig, cwd=ROOT)
        err.close()
        p.name = name
        p.stderr_path = stderr_path
        with self.lock:
            self.procs.append(p)
        return p

    def stop(self, p, timeout=5.0):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            except ProcessLookupError:
                pass
        with self.lock:
            if p in self.procs:
                self.procs.remove(p)

    def stop_all(self):
        with self.lock:
            procs = list(self.procs)
        for p in procs:
            try:
                self.stop(p)
            except Exception as e:  # keep going: every child must be stopped
                log(f"could not stop {p.name} (pid {p.pid}): {e}")


PROCS = Procs()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stat(pid):
    """CPU seconds (utime+stime, all threads), RSS MB, peak RSS MB, open fds, threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
    rss = hwm = 0.0
    threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return {"cpu_s": cpu, "rss_mb": rss, "hwm_mb": hwm, "fds": fds, "threads": threads}


# ----------------------------------------------------------------------------- HTTP
class Client:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1:port; reconnects on error."""

    def __init__(self, port, timeout=10.0):
        self.port, self.timeout, self.conn = port, timeout, None

    def get(self, path):
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                self.conn.request("GET", path)
                r = self.conn.getresponse()
                body = r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.close()
                return r.status, body
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_sum(body, name, **labels):
    """Sum of the samples of `name` whose labels include `labels` (None: no such sample)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    total, seen = 0.0, False
    start = 0
    needle = "\n" + name
    text = "\n" + text
    while True:
        i = text.find(needle, start)
        if i < 0:
            break
        j = text.find("\n", i + 1)
        line = text[i + 1: j if j >= 0 else len(text)]
        start = i + 1
        rest = line[len(name):]
        if not rest or rest[0] not in "{ ":
            continue  # a longer name (e.g. _bucket)
        if rest[0] == "{":
            close = rest.rfind("}")
            got = dict(LABEL_RE.findall(rest[1:close]))
            value = rest[close + 1:].split()[0]
        else:
            got, value = {}, rest.split()[0]
        if all(got.get(k) == v for k, v in labels.items()):
            total += float(value)
            seen = True
    return total if seen else None


def lines_counted(body, log_kind):
    """xmail_exporter_log_lines_total{log=...} summed over results (exporter and mtail)."""
    return metric_sum(body, "xmail_exporter_log_lines_total", log=log_kind) or 0.0


# ----------------------------------------------------------------------------- tools
class Exporter:
    def __init__(self, binary, logdir, run_dir, name="exporter", extra=(), webmail=""):
        self.binary, self.logdir, self.run_dir, self.name = binary, logdir, run_dir, name
        self.extra, self.webmail = list(extra), webmail

    def start(self):
        for _ in range(3):
            self.port = free_port()
            cmd = [self.binary, "--xmail.log-dir", self.logdir, "--webmail.log-dir", self.webmail,
                   "--xmail.spool-dir", "", "--web.listen-address", f"127.0.0.1:{self.port}",
                   *self.extra]
            self.t_spawn = now()
            self.proc = PROCS.start(cmd, os.path.join(self.run_dir, f"{self.name}.stderr"), self.name)
            self.client = Client(self.port)
            time.sleep(0.002)
            if self.proc.poll() is None:
                return self
            PROCS.stop(self.proc)  # port taken in between? try another
        raise RuntimeError(f"{self.name} exits at start-up: see {self.proc.stderr_path}")

    def wait_ready(self, timeout=30.0, path="/-/ready"):
        """Seconds from spawn until `path` answers 200."""
        deadline = now() + timeout
        while now() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}): see {self.proc.stderr_path}")
            try:
                st, _ = Client(self.port, timeout=2).get(path)
                if st == 200:
                    return now() - self.t_spawn
            except OSError:
                pass
            time.sleep(0.002)
        raise RuntimeError(f"{self.name}: {path} not 200 after {timeout}s")

    def scrape(self):
        st, body = self.client.get("/metrics")
        if st != 200:
            raise RuntimeError(f"{self.name} /metrics answered {st}")
        return body

    def stat(self):
        return proc_stat(self.proc.pid)

    def stop(self):
        self.client.close()
        PROCS.stop(self.proc)


class Mtail(Exporter):
    def __init__(self, mtail, progs_dir, logdir, run_dir, name="mtail"):
        super().__init__(mtail, logdir, run_dir, name)
        self.progs_dir = progs_dir

    def start(self):
        self.port = free_port()
        cmd = [self.binary, "--progs", self.progs_dir, "--logs", os.path.join(self.logdir, "*"),
               "--address", "127.0.0.1", "--port", str(self.port), "--logtostderr",
               "--emit_prog_label=false"]
        self.t_spawn = now()
        self.proc = PROCS.start(cmd, os.path.join(self.run_dir, f"{self.name}.stderr"), self.name)
        self.client = Client(self.port)
        return self

    def wait_ready(self, timeout=30.0, path="/metrics"):
        return super().wait_ready(timeout, path)


def append(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def wait_counted(tool, fd, line, log_kind, base, timeout=15.0, every=0.3):
    """Appends `line` every `every` s until tool's count of log_kind exceeds `base`.
    Returns (perf_counter time of the response showing it, lines appended)."""
    t0 = now()
    deadline = t0 + timeout
    appended, next_append = 0, t0
    while now() < deadline:
        if now() >= next_append:
            append(fd, line)
            appended += 1
            next_append = now() + every
        try:
            if lines_counted(tool.scrape(), log_kind) > base:
                return now(), appended
        except (OSError, RuntimeError, http.client.HTTPException):
            pass
        time.sleep(0.002)
    raise RuntimeError(f"{tool.name} did not count an appended {log_kind} line within {timeout}s")


def sample_idle(tools, seconds):
    """CPU % of one core, RSS and fds of each tool over a quiet window (no scrapes)."""
    first = {t.name: t.stat() for t in tools}
    t0 = now()
    fds = {t.name: [first[t.name]["fds"]] for t in tools}
    while now() - t0 < seconds:
        time.sleep(max(0.0, min(1.0, seconds - (now() - t0))))
        for t in tools:
            fds[t.name].append(t.stat()["fds"])
    wall = now() - t0
    out = {}
    for t in tools:
        last = t.stat()
        out[t.name] = {
            "window_s": round(wall, 2),
            "cpu_s": round(last["cpu_s"] - first[t.name]["cpu_s"], 3),
            "cpu_pct": round(100 * (last["cpu_s"] - first[t.name]["cpu_s"]) / wall, 3),
            "rss_mb": round(last["rss_mb"], 1),
            "peak_rss_mb": round(last["hwm_mb"], 1),
            "fds": last["fds"],
            "fds_max": max(fds[t.name]),
            "fds_start": fds[t.name][0],
            "threads": last["threads"],
        }
    return out


# ----------------------------------------------------------------------------- data
class Pool:
    """Realistic lines from bench/genlogs.py (one 1.27-format day), split per log kind."""

    def __init__(self, gen_dir):
        self.data, self.offsets = {}, {}
        for kind in ("smtp", "smail"):
            name = next(f for f in sorted(os.listdir(os.path.join(gen_dir, "xmail")))
                        if f.startswith(kind + "-"))
            with open(os.path.join(gen_dir, "xmail", name), "rb") as f:
                data = f.read()
            offs = [0]
            i = data.find(b"\n")
            while i >= 0:
                offs.append(i + 1)
                i = data.find(b"\n", i + 1)
            self.data[kind], self.offsets[kind] = data, offs
        with open(os.path.join(ROOT, "examples/logs/xmail/pop3-202611270000"), "rb") as f:
            self.pop3 = [l + b"\n" for l in f.read().split(b"\n") if l]
        self.cursor = {"smtp": 0, "smail": 0}

    def nlines(self, kind):
        return len(self.offsets[kind]) - 1

    def line(self, kind, i):
        offs = self.offsets[kind]
        i %= len(offs) - 1
        return self.data[kind][offs[i]:offs[i + 1]]

    def next_line(self, kind):
        line = self.line(kind, self.cursor[kind])
        self.cursor[kind] += 1
        return line

    def chunk(self, kind, start, n):
        """n consecutive lines from line `start` (cyclic), as a list of memoryviews."""
        total = self.nlines(kind)
        offs, data = self.offsets[kind], memoryview(self.data[kind])
        out = []
        start %= total
        while n > 0:
            k = min(n, total - start)
            out.append(data[offs[start]:offs[start + k]])
            n -= k
            start = 0
        return out


def today_name(kind, day=None):
    day = day or dt.date.today()
    return f"{kind}-{day:%Y%m%d}0000"


def write_file(path, chunks, mtime=None):
    with open(path, "wb") as f:
        for c in chunks:
            f.write(c)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


# ----------------------------------------------------------------------------- parts
def part_ab(cfg, pool, work, res):
    """b (idle) then a (latency), exporter and mtail following the same directory."""
    d = os.path.join(work, "ab")
    os.makedirs(d)
    smtp = os.path.join(d, today_name("smtp"))
    write_file(smtp, pool.chunk("smtp", 0, 50))
    write_file(os.path.join(d, today_name("smail")), pool.chunk("smail", 0, 30))
    pool.cursor["smtp"] = 50
    tools = [Exporter(cfg.exporter, d, cfg.run_dir, "exporter").start()]
    if cfg.mtail:
        tools.append(Mtail(cfg.mtail, cfg.progs_dir, d, cfg.run_dir, "mtail").start())
    fd = os.open(smtp, os.O_WRONLY | os.O_APPEND)
    try:
        for t in tools:
            t.wait_ready()
        # each tool follows the file: a line appended now is counted
        for t in tools:
            base = lines_counted(t.scrape(), "smtp")
            wait_counted(t, fd, pool.next_line("smtp"), "smtp", base)
        if cfg.idle_b:
            time.sleep(cfg.settle)
            la = loadavg()
            log(f"b: idle window {cfg.idle_s:.0f}s ({', '.join(t.name for t in tools)})")
            idle = sample_idle(tools, cfg.idle_s)
            res["b_idle"] = {"loadavg_before": la, "loadavg_after": loadavg(), **idle}
        if not cfg.appends:
            return

        log(f"a: {cfg.appends} appends, polling /metrics until the count moves")
        rng = random.Random(5)
        last = {t.name: lines_counted(t.scrape(), "smtp") for t in tools}
        lat = {t.name: [] for t in tools}
        timeouts = {t.name: 0 for t in tools}
        rounds, round_time = 0, 0.0
        la = loadavg()
        t_part = now()
        for _ in range(cfg.appends):
            line = pool.next_line("smtp")
            pending = list(tools)
            t0 = now()
            append(fd, line)
            while pending and now() - t0 < cfg.append_timeout:
                r0 = now()
                for t in list(pending):
                    c = lines_counted(t.scrape(), "smtp")
                    if c > last[t.name]:
                        lat[t.name].append(now() - t0)
                        last[t.name] = c
                        pending.remove(t)
                rounds += 1
                round_time += now() - r0
                if pending:
                    time.sleep(cfg.poll_gap)
            for t in pending:
                timeouts[t.name] += 1
                last[t.name] = lines_counted(t.scrape(), "smtp")
            time.sleep(rng.uniform(0, cfg.append_gap))  # decorrelate from the tools' timers
        res["a_latency"] = {
            "appends": cfg.appends, "loadavg_before": la, "loadavg_after": loadavg(),
            "elapsed_s": round(now() - t_part, 1),
            "poll_round_ms": round(1000 * round_time / max(rounds, 1), 3),
            "poll_gap_ms": cfg.poll_gap * 1000,
            **{t.name: {**(summary_ms(lat[t.name]) or {}), "timeouts": timeouts[t.name]} for t in tools},
        }
    finally:
        os.close(fd)
        for t in tools:
            t.stop()


def part_d(cfg, res):
    """Scrape time with every series present, then concurrent scrapers."""
    exp = Exporter(cfg.exporter, os.path.join(ROOT, "examples/logs/xmail"), cfg.run_dir, "exporter-scrape",
                   extra=["--tail.from-beginning"], webmail=os.path.join(ROOT, "examples/logs/webmail")).start()
    try:
        exp.wait_ready()
        deadline = now() + 10
        while now() < deadline:  # the sample logs are read
            body = exp.scrape()
            if all(lines_counted(body, k) > 0 for k in ("smtp", "smail", "webmail", "pop3")):
                break
            time.sleep(0.05)
        body = exp.scrape()
        series = sum(1 for l in body.split(b"\n") if l and not l.startswith(b"#"))
        la = loadavg()
        log(f"d: {cfg.scrapes} sequential scrapes ({len(body)} bytes, {series} series)")
        for _ in range(20):  # warm-up
            exp.scrape()
        seq = []
        for _ in range(cfg.scrapes):
            t0 = now()
            exp.scrape()
            seq.append(now() - t0)
        fresh = []  # a new TCP connection for each scrape
        for _ in range(min(100, cfg.scrapes)):
            c = Client(exp.port)
            t0 = now()
            st, _ = c.get("/metrics")
            if st != 200:
                raise RuntimeError(f"/metrics answered {st}")
            fresh.append(now() - t0)
            c.close()
        # Each scraper from an address of its own (127.0.0.2 ...: Linux routes all of
        # 127.0.0.0/8 to loopback), as many Prometheus servers would be; then all from
        # 127.0.0.1, where the limit of 32 connections per client address refuses the rest.
        spread = platform.system() == "Linux"
        log(f"d: {cfg.concurrency} concurrent scrapers x {cfg.per_scraper}"
            + (", each from its own loopback address" if spread else ""))
        concurrent = concurrent_scrapers(exp.port, cfg, spread)
        log(f"d: {cfg.concurrency} concurrent scrapers x {cfg.per_scraper}, all from 127.0.0.1")
        one_address = concurrent_scrapers(exp.port, cfg, False) if spread else None
        st = exp.stat()
        res["d_scrape"] = {
            "loadavg_before": la, "loadavg_after": loadavg(),
            "body_bytes": len(body), "series": series,
            "sequential_keepalive": summary_ms(seq),
            "sequential_new_connection": summary_ms(fresh),
            "concurrent": concurrent,
            "concurrent_one_address": one_address,
            "exporter_after": {"rss_mb": st["rss_mb"], "fds": st["fds"], "threads": st["threads"]},
        }
    finally:
        exp.stop()


def concurrent_scrapers(port, cfg, spread):
    """cfg.concurrency threads start together and scrape cfg.per_scraper times each, a new
    connection each time; with `spread`, scraper i connects from 127.0.0.(2 + i % 250)."""
    errors, lat, lock = [], [], threading.Lock()
    barrier = threading.Barrier(cfg.concurrency)

    def scraper(i):
        source = (f"127.0.0.{2 + i % 250}", 0) if spread else None
        try:
            barrier.wait(30)
        except threading.BrokenBarrierError:
            pass
        for _ in range(cfg.per_scraper):
            t0 = now()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=source)
                conn.request("GET", "/metrics")
                r = conn.getresponse()
                b = r.read()
                conn.close()
                ok = r.status == 200 and b.endswith(b"\n") and b"xmail_exporter_build_info" in b
                with lock:
                    if ok:
                        lat.append(now() - t0)
                    else:
                        errors.append(f"status {r.status}, {len(b)} bytes")
            except Exception as e:  # every failure counts
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=scraper, args=(i,), daemon=True) for i in range(cfg.concurrency)]
    old_stack = threading.stack_size(256 * 1024)
    try:
        for th in threads:
            th.start()
    finally:
        threading.stack_size(old_stack)
    t0 = now()
    for th in threads:
        th.join(60)
    wall = now() - t0
    return {"scrapers": cfg.concurrency, "each": cfg.per_scraper, "own_addresses": spread,
            "requests": cfg.concurrency * cfg.per_scraper, "ok": len(lat),
            "errors": len(errors), "error_samples": sorted(set(errors))[:5],
            "hung_threads": sum(th.is_alive() for th in threads), "wall_s": round(wall, 2),
            "latency": summary_ms(lat)}


def part_c(cfg, pool, work, res):
    """Sustained append load while scraping every second."""
    d = os.path.join(work, "load")
    os.makedirs(d)
    paths = {k: os.path.join(d, today_name(k)) for k in ("smtp", "smail")}
    for p in paths.values():
        open(p, "wb").close()
    exp = Exporter(cfg.exporter, d, cfg.run_dir, "exporter-load").start()
    fds = {}
    try:
        exp.wait_ready()
        time.sleep(0.5)
        fds = {k: os.open(p, os.O_WRONLY | os.O_APPEND) for k, p in paths.items()}
        n_smtp, n_smail = pool.nlines("smtp"), pool.nlines("smail")
        share = n_smtp / (n_smtp + n_smail)
        written = {"smtp": 0, "smail": 0}
        wbytes = [0]
        series = []
        stop_scraper = threading.Event()
        scraper_client = Client(exp.port)

        def scrape_row(t_ref):
            t0 = now()
            body = scraper_client.get("/metrics")[1]
            st = exp.stat()
            return {"t": round(t0 - t_ref, 3), "scrape_ms": round(1000 * (now() - t0), 2),
                    "counted": sum(lines_counted(body, k) for k in ("smtp", "smail")),
                    "written": written["smtp"] + written["smail"],
                    "lag_bytes": sum(metric_sum(body, "xmail_exporter_log_lag_bytes", log=k) or 0
                                     for k in ("smtp", "smail")),
                    "cpu_s": st["cpu_s"], "rss_mb": st["rss_mb"]}

        def scraper(t_ref):
            nxt = now()
            while not stop_scraper.is_set():
                try:
                    series.append(scrape_row(t_ref))
                except Exception as e:
                    series.append({"t": round(now() - t_ref, 3), "error": str(e)})
                nxt += 1.0
                stop_scraper.wait(max(0.0, nxt - now()))

        la = loadavg()
        log(f"c: writing {cfg.rate} lines/s for {cfg.load_s:.0f}s, scraping every second")
        cpu0 = exp.stat()["cpu_s"]
        t_start = now()
        th = threading.Thread(target=scraper, args=(t_start,), daemon=True)
        th.start()
        tick = 0.01
        while True:
            el = now() - t_start
            if el >= cfg.load_s:
                break
            due = int(cfg.rate * el)
            todo = due - written["smtp"] - written["smail"]
            if todo > 0:
                k_smtp = int(round((written["smtp"] + written["smail"] + todo) * share)) - written["smtp"]
                k_smtp = max(0, min(todo, k_smtp))
                for kind, k in (("smtp", k_smtp), ("smail", todo - k_smtp)):
                    if k:
                        for part in pool.chunk(kind, written[kind], k):
                            append(fds[kind], part)
                            wbytes[0] += len(part)
                        written[kind] += k
            time.sleep(max(0.0, tick - ((now() - t_start) % tick)))
        t_stop = now()
        cpu1 = exp.stat()["cpu_s"]
        total = written["smtp"] + written["smail"]
        # after the writer stops: poll until the lag is 0 and every line is counted
        drained_at, last_row = None, None
        deadline = t_stop + cfg.drain_timeout
        poll = Client(exp.port)
        while now() < deadline:
            body = poll.get("/metrics")[1]
            lag = sum(metric_sum(body, "xmail_exporter_log_lag_bytes", log=k) or 0 for k in ("smtp", "smail"))
            counted = sum(lines_counted(body, k) for k in ("smtp", "smail"))
            last_row = {"lag_bytes": lag, "counted": counted}
            if lag == 0 and counted >= total:
                drained_at = now()
                break
            time.sleep(0.02)
        cpu2 = exp.stat()["cpu_s"]
        t_end = now()
        stop_scraper.set()
        th.join(5)
        poll.close()
        scraper_client.close()
        ok_rows = [r for r in series if "error" not in r]
        during = [r for r in ok_rows if r["t"] <= cfg.load_s]
        wall = t_stop - t_start
        res["c_load"] = {
            "loadavg_before": la, "loadavg_after": loadavg(),
            "target_rate": cfg.rate, "seconds": round(wall, 2),
            "lines_written": total, "bytes_written": wbytes[0],
            "achieved_rate": round(total / wall),
            "achieved_mb_s": round(wbytes[0] / wall / 1e6, 1),
            "exporter_cpu_pct_during_load": round(100 * (cpu1 - cpu0) / wall, 1),
            "exporter_cpu_pct_load_plus_drain": round(100 * (cpu2 - cpu0) / (t_end - t_start), 1),
            "lag_back_to_zero": drained_at is not None,
            "drain_s_after_writer_stopped": round(drained_at - t_stop, 3) if drained_at else None,
            "final": last_row,
            "max_lag_bytes_during_load": max((r["lag_bytes"] for r in during), default=None),
            "max_lines_behind_during_load": max((r["written"] - r["counted"] for r in during), default=None),
            "scrape_errors": sum(1 for r in series if "error" in r),
            "scrapes": len(series),
            "max_scrape_ms_during_load": max((r["scrape_ms"] for r in during), default=None),
            "peak_rss_mb": exp.stat()["hwm_mb"],
            "series": series,
        }
    finally:
        for fd in fds.values():
            os.close(fd)
        exp.stop()
        shutil.rmtree(d, ignore_errors=True)


HISTORY_KINDS = ["smtp", "smail", "pop3", "ctrl", "finger", "lmail", "psync", "filters"]


def make_history(d, pool, n_files, rng):
    """n_files old time-named files (8 kinds, one per kind and day, going back from
    yesterday), a few lines each, mtime at the end of their day."""
    days = (n_files + len(HISTORY_KINDS) - 1) // len(HISTORY_KINDS)
    today = dt.date.today()
    made = 0
    other = (b'"mail.example.kr"\t"127.0.0.1"\t"admin"\t"uservars"\t"kim@example.kr"\n')
    for back in range(days, 0, -1):
        day = today - dt.timedelta(days=back)
        mtime = time.mktime((day + dt.timedelta(days=1)).timetuple()) - rng.randint(1, 600)
        for kind in HISTORY_KINDS:
            if made >= n_files:
                return made
            k = rng.randint(2, 6)
            if kind in ("smtp", "smail"):
                chunks = pool.chunk(kind, rng.randrange(pool.nlines(kind)), k)
            elif kind == "pop3":
                chunks = [pool.pop3[rng.randrange(len(pool.pop3))] for _ in range(k)]
            else:
                chunks = [other] * k
            write_file(os.path.join(d, today_name(kind, day)), chunks, mtime)
            made += 1
    return made


def part_e(cfg, pool, work, res):
    d = os.path.join(work, "history")
    os.makedirs(d)
    t0 = now()
    made = make_history(d, pool, cfg.history_files, random.Random(10000))
    cur = os.path.join(d, today_name("smtp"))
    write_file(cur, pool.chunk("smtp", 1000, 5))
    log(f"e: {made} old files + {os.path.basename(cur)} written in {now() - t0:.1f}s")
    out = {"old_files": made, "current_file": os.path.basename(cur)}
    fd = os.open(cur, os.O_WRONLY | os.O_APPEND)
    tools = []
    try:
        la = loadavg()
        exp = Exporter(cfg.exporter, d, cfg.run_dir, "exporter-history").start()
        tools.append(exp)
        ready = exp.wait_ready()
        st_ready = exp.stat()
        counted_at, appended = wait_counted(exp, fd, pool.next_line("smtp"), "smtp", 0, every=0.2)
        out["exporter"] = {"ready_s": round(ready, 3), "first_line_counted_s": round(counted_at - exp.t_spawn, 3),
                           "lines_appended_until_counted": appended, "fds_at_ready": st_ready["fds"],
                           "loadavg_before": la}
        if cfg.mtail:
            la = loadavg()
            mt = Mtail(cfg.mtail, cfg.progs_dir, d, cfg.run_dir, "mtail-history").start()
            tools.append(mt)
            http_up = mt.wait_ready()
            base = lines_counted(mt.scrape(), "smtp")
            counted_at, appended = wait_counted(mt, fd, pool.next_line("smtp"), "smtp", base, timeout=60, every=0.25)
            out["mtail"] = {"http_up_s": round(http_up, 3), "first_line_counted_s": round(counted_at - mt.t_spawn, 3),
                            "lines_appended_until_counted": appended, "loadavg_before": la}
        time.sleep(cfg.settle)
        la = loadavg()
        log(f"e: idle window {cfg.idle_s:.0f}s")
        idle = sample_idle(tools, cfg.idle_s)
        for t in tools:
            # lines counted by the end: only the appended ones when old files were not re-read
            out[t.name.split("-")[0]].update(idle[t.name], smtp_lines_counted=lines_counted(t.scrape(), "smtp"))
        out["smtp_lines_appended"] = sum(out[k]["lines_appended_until_counted"] for k in ("exporter", "mtail") if k in out)
        out["idle_loadavg"] = [la, loadavg()]
        res["e_history"] = out
    finally:
        os.close(fd)
        for t in tools:
            t.stop()
        shutil.rmtree(d, ignore_errors=True)


# ----------------------------------------------------------------------------- report
def fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def verdicts(res):
    """[(target, measured, met)] for the issue-5 targets this script measures."""
    v = []
    a = res.get("a_latency", {}).get("exporter")
    if a:
        v.append(("append-to-count p99 < 50 ms", f"{a['p99']:.1f} ms (timeouts {a['timeouts']})",
                  a["p99"] < TARGETS["latency_p99_ms"] and a["timeouts"] == 0))
    b = res.get("b_idle", {}).get("exporter")
    if b:
        v.append(("idle < 1% of a core", f"{b['cpu_pct']:.2f} %", b["cpu_pct"] < TARGETS["idle_cpu_pct"]))
    c = res.get("c_load")
    if c:
        ok = (c["lag_back_to_zero"] and c["exporter_cpu_pct_during_load"] < TARGETS["load_cpu_pct"]
              and c["achieved_rate"] >= 0.95 * c["target_rate"])
        v.append((f"{c['target_rate']} lines/s: lag back to 0, < 1 core",
                  f"{c['achieved_rate']} lines/s written, lag 0 after {fmt(c['drain_s_after_writer_stopped'], 3)} s, "
                  f"CPU {c['exporter_cpu_pct_during_load']} %", ok))
    d = res.get("d_scrape")
    if d:
        m = d["sequential_keepalive"]["p50"]
        v.append(("scrape median < 2 ms", f"{m:.2f} ms", m < TARGETS["scrape_median_ms"]))
        cc = d["concurrent"]
        where = " (own addresses)" if cc.get("own_addresses") else ""
        v.append((f"{cc['scrapers']} scrapers{where}: no errors", f"{cc['errors']} errors",
                  cc["errors"] == 0 and cc["hung_threads"] == 0 and cc["ok"] == cc["requests"]))
        one = d.get("concurrent_one_address")
        if one:
            # The per-address limit: some answered, the rest refused at once, nothing hangs.
            v.append((f"{one['scrapers']} scrapers (one address): none hung",
                      f"{one['ok']} ok, {one['errors']} refused, {one['hung_threads']} hung, {one['wall_s']} s",
                      one["hung_threads"] == 0 and one["ok"] > 0 and one["wall_s"] < 10))
    e = res.get("e_history", {}).get("exporter")
    if e:
        n = res["e_history"]["old_files"]
        v.append((f"{n} old files: start-up < 1 s", f"ready {e['ready_s']:.3f} s, line counted {e['first_line_counted_s']:.3f} s",
                  e["first_line_counted_s"] < TARGETS["history_startup_s"]))
        v.append((f"{n} old files: < 20 open fds", f"{e['fds']} (max {e['fds_max']})", e["fds_max"] < TARGETS["history_fds"]))
        v.append((f"{n} old files: idle < 1% CPU", f"{e['cpu_pct']:.2f} %", e["cpu_pct"] < TARGETS["history_cpu_pct"]))
        v.append((f"{n} old files: RSS < 20 MB", f"{e['rss_mb']:.1f} MB", e["rss_mb"] < TARGETS["history_rss_mb"]))
    return v


def table(res):
    out = []
    w = out.append
    m = res["machine"]
    w(f"machine: {m['cpus']} CPUs, {m['cpu']}, Linux {m['kernel']}; load average at start "
      f"{m['loadavg_start']}, at end {res.get('loadavg_end')}")
    w(f"tools: {res['exporter_version']} ({res['exporter_binary']}, built {res['exporter_built']}); "
      f"{res.get('mtail_version') or 'mtail not run'}")
    w(f"mode: {'quick' if res['quick'] else 'full'}; total {res.get('elapsed_s')} s")
    tools = ["exporter"] + (["mtail"] if res.get("mtail_version") else [])
    a = res.get("a_latency")
    if a:
        w("")
        w(f"a) append-to-scrape latency, {a['appends']} appends (ms; poll round {a['poll_round_ms']} ms + gap {a['poll_gap_ms']:.1f} ms)")
        w(f"   {'tool':<10}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}{'timeouts':>10}")
        for t in tools:
            s = a.get(t) or {}
            w(f"   {t:<10}{fmt(s.get('p50')):>9}{fmt(s.get('p90')):>9}{fmt(s.get('p99')):>9}{fmt(s.get('max')):>9}{fmt(s.get('timeouts')):>10}")
    b = res.get("b_idle")
    if b:
        w("")
        w(f"b) idle, logs quiet, no scrapes, {b['exporter']['window_s']} s window")
        w(f"   {'tool':<10}{'CPU %':>9}{'RSS MB':>9}{'fds':>6}{'threads':>9}")
        for t in tools:
            s = b.get(t)
            if s:
                w(f"   {t:<10}{s['cpu_pct']:>9.2f}{s['rss_mb']:>9.1f}{s['fds']:>6}{s['threads']:>9}")
    c = res.get("c_load")
    if c:
        w("")
        w(f"c) sustained load: target {c['target_rate']} lines/s for {c['seconds']} s, scraped every second")
        w(f"   written {c['lines_written']} lines ({c['bytes_written'] / 1e6:.0f} MB): {c['achieved_rate']} lines/s, {c['achieved_mb_s']} MB/s")
        w(f"   exporter CPU during load {c['exporter_cpu_pct_during_load']} % of a core; max lines behind at a scrape "
          f"{fmt(c['max_lines_behind_during_load'])}, max lag {fmt(c['max_lag_bytes_during_load'])} bytes")
        w(f"   lag back to 0 and every line counted: {fmt(c['lag_back_to_zero'])}, "
          f"{fmt(c['drain_s_after_writer_stopped'], 3)} s after the writer stopped; scrape errors {c['scrape_errors']}/{c['scrapes']}, "
          f"slowest scrape {fmt(c['max_scrape_ms_during_load'])} ms; peak RSS {c['peak_rss_mb']:.1f} MB")
    d = res.get("d_scrape")
    if d:
        s, f, cc = d["sequential_keepalive"], d["sequential_new_connection"], d["concurrent"]
        w("")
        w(f"d) /metrics: {d['body_bytes']} bytes, {d['series']} samples (sample logs read)")
        w(f"   {s['n']} sequential scrapes, keep-alive:    p50 {s['p50']:.2f}  p99 {s['p99']:.2f}  max {s['max']:.2f} ms")
        w(f"   {f['n']} sequential, new connection each: p50 {f['p50']:.2f}  p99 {f['p99']:.2f}  max {f['max']:.2f} ms")
        for c, where in ((cc, "each from its own address" if cc.get("own_addresses") else "one address"),
                         (d.get("concurrent_one_address"), "all from 127.0.0.1")):
            if not c:
                continue
            lat = c["latency"] or {}
            w(f"   {c['scrapers']} concurrent scrapers x {c['each']} ({where}, new connection each): {c['ok']}/{c['requests']} ok, "
              f"{c['errors']} errors, {c['hung_threads']} hung; p50 {fmt(lat.get('p50'))} p99 {fmt(lat.get('p99'))} ms, "
              f"all done in {c['wall_s']} s")
    e = res.get("e_history")
    if e:
        w("")
        w(f"e) {e['old_files']} old files + {e['current_file']}")
        w(f"   {'tool':<10}{'ready s':>9}{'counted s':>11}{'idle CPU %':>12}{'fds':>6}{'fds max':>9}{'RSS MB':>8}")
        for t in tools:
            s = e.get(t)
            if s:
                w(f"   {t:<10}{fmt(s.get('ready_s', s.get('http_up_s')), 3):>9}{fmt(s['first_line_counted_s'], 3):>11}"
                  f"{fmt(s.get('cpu_pct'), 2):>12}{fmt(s.get('fds')):>6}{fmt(s.get('fds_max')):>9}{fmt(s.get('rss_mb')):>8}")
        if "mtail" in e:
            w("   (mtail: 'ready' is its HTTP port answering; it has no readiness endpoint)")
    if res.get("errors"):
        w("")
        for k, msg in res["errors"].items():
            w("INTERRUPTED: the parts not shown did not run" if k == "interrupted" else f"part {k} FAILED: {msg}")
    w("")
    w("issue-5 targets (live):")
    for name, got, ok in verdicts(res):
        w(f"   {'met   ' if ok else 'MISSED'}  {name:<45} {got}")
    return "\n".join(out)


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description="Live-tailing measurements of xmail_exporter (issue 5).",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--quick", action="store_true", help="shorter windows and fewer samples (~1.5 min)")
    ap.add_argument("--parts", default="abcde", help="which parts to run (default abcde)")
    ap.add_argument("--exporter", default=os.environ.get("XMAIL_EXPORTER", os.path.join(ROOT, "target/release/xmail_exporter")))
    ap.add_argument("--build", action="store_true", help="run cargo build --release first (default: only when the binary is missing)")
    ap.add_argument("--mtail", default="mtail", help="mtail binary (default: mtail on PATH)")
    ap.add_argument("--no-mtail", action="store_true", help="measure the exporter only")
    ap.add_argument("--out", default=os.path.join(HERE, "out", "live"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory and stderr files")
    ap.add_argument("--appends", type=int)
    ap.add_argument("--idle-seconds", type=float)
    ap.add_argument("--rate", type=int, default=100_000)
    ap.add_argument("--load-seconds", type=float)
    ap.add_argument("--scrapes", type=int)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--history-files", type=int, default=10_000)
    cfg = ap.parse_args()
    q = cfg.quick
    cfg.appends = cfg.appends or (100 if q else 300)
    cfg.idle_s = cfg.idle_seconds or (10.0 if q else 30.0)
    cfg.load_s = cfg.load_seconds or (8.0 if q else 20.0)
    cfg.scrapes = cfg.scrapes or (200 if q else 500)
    cfg.per_scraper = 5
    cfg.settle = 2.0 if q else 5.0
    cfg.poll_gap = 0.001
    cfg.append_gap = 0.03
    cfg.append_timeout = 3.0
    cfg.drain_timeout = 30.0

    t_all = now()
    os.makedirs(cfg.out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work = tempfile.mkdtemp(prefix=f"work-{stamp}-", dir=cfg.out)
    cfg.run_dir = work

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    res = {"quick": q, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "targets": TARGETS, "errors": {}}
    try:
        if cfg.build or not os.access(cfg.exporter, os.X_OK):
            log("cargo build --release")
            subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        res["exporter_binary"] = os.path.relpath(cfg.exporter, ROOT)
        res["exporter_built"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.stat(cfg.exporter).st_mtime))
        res["exporter_version"] = subprocess.run([cfg.exporter, "--version"], capture_output=True,
                                                 text=True, check=True).stdout.strip()
        if cfg.no_mtail:
            cfg.mtail = None
        else:
            path = shutil.which(cfg.mtail)
            if not path:
                log("mtail not found (apt-get install mtail): measuring the exporter only")
                cfg.mtail = None
            else:
                cfg.mtail = path
                res["mtail_version"] = subprocess.run([path, "--version"], capture_output=True, text=True
                                                      ).stdout.split("\n")[0].split(" git ")[0]
                cfg.progs_dir = os.path.join(work, "progs")
                os.makedirs(cfg.progs_dir)
                shutil.copy(os.path.join(HERE, "xmail.mtail"), cfg.progs_dir)
        cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        res["machine"] = {"cpus": os.cpu_count(), "cpu": cpu_model, "kernel": platform.release(),
                          "loadavg_start": loadavg()}
        log(f"machine: {os.cpu_count()} CPUs, load average {loadavg()}")

        gen = os.path.join(work, "gen")
        subprocess.run([sys.executable, os.path.join(HERE, "genlogs.py"), "--lines", "200000", "--days", "1",
                        "--legacy-days", "0", "--webmail-share", "0", "--out", gen], check=True,
                       stderr=subprocess.DEVNULL, preexec_fn=Procs._pdeathsig)
        pool = Pool(gen)
        res["lines_from"] = (f"bench/genlogs.py --lines 200000 --days 1 --legacy-days 0: "
                             f"{pool.nlines('smtp')} smtp, {pool.nlines('smail')} smail lines, "
                             f"{(len(pool.data['smtp']) + len(pool.data['smail'])) / (pool.nlines('smtp') + pool.nlines('smail')):.0f} B/line")

        parts = [("ab", lambda: part_ab(cfg, pool, work, res)),
                 ("d", lambda: part_d(cfg, res)),
                 ("c", lambda: part_c(cfg, pool, work, res)),
                 ("e", lambda: part_e(cfg, pool, work, res))]
        for key, fn in parts:
            if not any(k in cfg.parts for k in key):
                continue
            if key == "ab":
                cfg.idle_b = "b" in cfg.parts
                if "a" not in cfg.parts:
                    cfg.appends = 0
            try:
                fn()
            except KeyboardInterrupt:
                raise
            except Exception as e:
                res["errors"][key] = f"{type(e).__name__}: {e}"
                log(f"part {key} failed: {e}")
            finally:
                PROCS.stop_all()
    except KeyboardInterrupt:
        log("interrupted: stopping the processes started here")
        res["errors"]["interrupted"] = "interrupted"
    finally:
        PROCS.stop_all()
        res["loadavg_end"] = loadavg()
        res["elapsed_s"] = round(now() - t_all, 1)
        if "machine" in res:
            res["verdicts"] = [{"target": n, "measured": g, "met": ok} for n, g, ok in verdicts(res)]
            text = table(res)
            print(text)
            with open(os.path.join(cfg.out, f"live-{stamp}.json"), "w") as f:
                json.dump(res, f, indent=1)
            with open(os.path.join(cfg.out, f"live-{stamp}.txt"), "w") as f:
                f.write(text + "\n")
            if "interrupted" not in res["errors"]:
                for ext in ("json", "txt"):
                    shutil.copy(os.path.join(cfg.out, f"live-{stamp}.{ext}"), os.path.join(cfg.out, f"latest.{ext}"))
            log(f"results: {os.path.relpath(cfg.out, ROOT)}/live-{stamp}.{{json,txt}}")
        if cfg.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
