#!/usr/bin/env python3
"""Run a command N times; record wall time (perf_counter) and the command's peak RSS.
stdout of the last run goes to --stdout; stderr of every run to --stderr.  Writes a JSON
summary with the median.

Peak RSS comes from GNU time (/usr/bin/time, Debian package `time`), which runs the command
as its own child: ru_maxrss from wait4() on a child forked straight from Python would be
wrong, because Linux carries the high-water mark of the pre-exec address space (the forked
or vforked Python, ~15 MB) across exec.  Without /usr/bin/time that inflated number is
reported and flagged "rss_upper_bound".

  measure.py --name NAME --runs N --json OUT.json [--stdout F] [--stderr F] -- CMD ARGS...

Exit status: 0, or the first non-zero exit status of the command (then the JSON says so).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def cpu_busy_s():
    """System-wide busy CPU seconds so far (all CPUs), from /proc/stat; None if unavailable."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    return busy / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", required=True)
    ap.add_argument("--stdout", default=os.devnull)
    ap.add_argument("--stderr", default=os.devnull)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")
    gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    # machine activity just before the batch: CPU cores busy during one idle second
    b0 = cpu_busy_s()
    time.sleep(1.0)
    idle_others = None if b0 is None else cpu_busy_s() - b0
    runs = []
    with open(a.stderr, "ab") as err, tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        for i in range(a.runs):
            argv = ([gnu_time, "-q", "-f", "%M %U %S", "-o", tf.name] + cmd) if gnu_time else cmd
            with open(a.stdout, "wb") as out:
                b0 = cpu_busy_s()
                t0 = time.perf_counter()
                p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
                _, status, ru = os.wait4(p.pid, 0)
                wall = time.perf_counter() - t0
                b1 = cpu_busy_s()
                rc = os.waitstatus_to_exitcode(status)
            rss, user, sys_ = ru.ru_maxrss, ru.ru_utime, ru.ru_stime
            if gnu_time:
                tf.seek(0)
                last = [ln for ln in tf.read().splitlines() if ln.strip()][-1].split()
                rss, user, sys_ = int(last[0]), float(last[1]), float(last[2])
            # CPU time other processes used during the run, in cores (0 on a quiet machine;
            # /proc/stat ticks are 10 ms, so this is coarse for runs of a few ten ms)
            others_s = None if b0 is None else max(0.0, (b1 - b0) - (user + sys_))
            others = None if others_s is None else others_s / wall
            runs.append({"wall_s": wall, "max_rss_kb": rss, "user_s": user, "sys_s": sys_,
                         "other_cores": others, "other_cpu_s": others_s, "exit": rc})
            print(f"  {a.name} run {i + 1}/{a.runs}: {wall:.3f} s, "
                  f"peak RSS {rss / 1024:.1f} MB, exit {rc}", file=sys.stderr)
            if rc != 0:
                break
    walls = [r["wall_s"] for r in runs]
    res = {"name": a.name, "cmd": cmd, "runs": runs, "wall_s": walls,
           "median_s": statistics.median(walls), "max_rss_kb": max(r["max_rss_kb"] for r in runs),
           "cpu_s_median": statistics.median(r["user_s"] + r["sys_s"] for r in runs),
           "rss_upper_bound": gnu_time is None,
           "other_cores_max": max((r["other_cores"] or 0.0) for r in runs),
           # CPU used by other processes over all runs / total wall time of the runs
           "other_cores": sum((r["other_cpu_s"] or 0.0) for r in runs) / sum(walls),
           # runs shorter than ~1 s in total are too short for 10 ms ticks: use the idle second
           "other_cores_idle_before": idle_others,
           "exit": next((r["exit"] for r in runs if r["exit"] != 0), 0)}
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    return res["exit"]


if __name__ == "__main__":
    sys.exit(main())
