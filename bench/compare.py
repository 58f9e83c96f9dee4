#!/usr/bin/env python3
"""Compare Prometheus text outputs (xmail_exporter report, mtail one-shot) with the manifest
written by genlogs.py, and print the benchmark table.

  compare.py check --manifest OUT/expected.json [--exporter FILE] [--mtail FILE]
      Exit 0 when every output given agrees with the manifest (and so with each other),
      1 on any disagreement, 2 on a usage/parse error.
  compare.py table --manifest OUT/expected.json --timings T1.json [T2.json ...]
      Print lines/s, MB/s, peak RSS and the ratios against issue 16's targets (>= 150x
      mtail; <= 5x wc -l on one thread, <= 3x on two; peak RSS < 20 MB on one thread,
      + 4 MB per extra thread), each met or missed by how much; with --targets, exit 3
      when one is missed.

Metric names checked (the exporter's public contract, issue 2; bench/xmail.mtail emits the
same names):
  xmail_exporter_log_lines_total{log,result}      log in smtp|smail|webmail, parsed|malformed
  xmail_smtp_events_total{status,source}
  xmail_smtp_dnsbl_refusals_total{list}
  xmail_smtp_auth_failures_total{mechanism}
  xmail_smtp_message_size_bytes_bucket{source,le} / _sum{source} / _count{source}
  xmail_smail_records_total{type,origin}
exporter only:
  xmail_exporter_log_read_bytes_total{log}        == bytes of the files of that kind
  sum(xmail_webmail_errors_total)                 == webmail lines written
Series absent from an output count as 0, so an exporter that exports every label
combination at 0 from start-up compares fine; any non-zero series the manifest does not
expect is a mismatch.  Other labels (mtail's prog=, ...) are ignored.
"""

import argparse
import json
import math
import re
import statistics
import sys

LINE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?\s*$')
LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
IGNORED_LABELS = {"prog"}


def unescape(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "\\": "\\", '"': '"'}.get(m.group(1), m.group(0)), v)


def parse_prom(path):
    """-> {metric name: {frozenset(label items): float}}"""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            m = LINE_RE.match(line)
            if not m:
                raise ValueError(f"{path}:{n}: cannot parse: {line[:200]!r}")
            name, labels_s, val = m.groups()
            labels = {}
            if labels_s:
                pos = 0
                while pos < len(labels_s):
                    lm = LABEL_RE.match(labels_s, pos)
                    if not lm:
                        raise ValueError(f"{path}:{n}: bad labels: {labels_s[:200]!r}")
                    k, v = lm.group(1), unescape(lm.group(2))
                    if k not in IGNORED_LABELS:
                        if k == "le":
                            v = norm_le(v)
                        labels[k] = v
                    pos = lm.end()
            key = frozenset(labels.items())
            fam = out.setdefault(name, {})
            fam[key] = fam.get(key, 0.0) + float(val)
    return out


def norm_le(v):
    f = float(v)
    return "+Inf" if math.isinf(f) else repr(f)


def expected_series(man):
    """Manifest -> {metric: {frozenset(labels): value}} for the families both tools export."""
    e = {}

    def put(metric, value, **labels):
        if value:
            e.setdefault(metric, {})[frozenset(labels.items())] = float(value)

    for log, res in man["log_lines"].items():
        for r, n in res.items():
            put("xmail_exporter_log_lines_total", n, log=log, result=r)
    for status, by_src in man["smtp_events"].items():
        for src, n in by_src.items():
            put("xmail_smtp_events_total", n, status=status, source=src)
    for lst, n in man["dnsbl_rejections"].items():
        put("xmail_smtp_dnsbl_refusals_total", n, list=lst)
    for mech, n in man["auth_failures"].items():
        put("xmail_smtp_auth_failures_total", n, mechanism=mech)
    for src, h in man["message_size_bytes"].items():
        for le, n in h["buckets"].items():
            put("xmail_smtp_message_size_bytes_bucket", n, source=src, le=norm_le(le))
        put("xmail_smtp_message_size_bytes_count", h["count"], source=src)
        put("xmail_smtp_message_size_bytes_sum", h["sum"], source=src)
    for typ, by_origin in man["smail_deliveries"].items():
        for origin, n in by_origin.items():
            put("xmail_smail_records_total", n, type=typ, origin=origin)
    # make sure every family exists even when all its values are 0
    for fam in ("xmail_exporter_log_lines_total", "xmail_smtp_events_total",
                "xmail_smtp_dnsbl_refusals_total", "xmail_smtp_auth_failures_total",
                "xmail_smtp_message_size_bytes_bucket", "xmail_smtp_message_size_bytes_count",
                "xmail_smtp_message_size_bytes_sum", "xmail_smail_records_total"):
        e.setdefault(fam, {})
    return e


def fmt_labels(key):
    return "{" + ",".join(f'{k}="{v[:-2] if k == "le" and v.endswith(".0") else v}"'
                          for k, v in sorted(key)) + "}"


def num(v):
    return str(int(v)) if float(v).is_integer() else repr(v)


def compare_family(tool, fam, want, got, problems, max_show=12):
    got = {k: v for k, v in (got or {}).items() if v != 0}
    keys = sorted(set(want) | set(got), key=lambda k: sorted(k))
    bad = []
    for k in keys:
        w, g = want.get(k, 0.0), got.get(k, 0.0)
        if w != g:
            bad.append(f"    {fam}{fmt_labels(k)}: expected {num(w)}, {tool} has {num(g)}")
    if bad:
        problems.append(f"  {tool}: {fam}: {len(bad)} of {len(keys)} series differ")
        problems.extend(bad[:max_show])
        if len(bad) > max_show:
            problems.append(f"    ... and {len(bad) - max_show} more")
        return False
    return True


def check_tool(tool, prom, man, problems):
    want = expected_series(man)
    ok = True
    nseries = 0
    for fam, series in want.items():
        ok &= compare_family(tool, fam, series, prom.get(fam), problems)
        nseries += len(series)
    if tool == "exporter":
        # bytes consumed, per log kind
        want_b = {frozenset({("log", k)}): float(v) for k, v in man["log_bytes"].items() if v}
        ok &= compare_family(tool, "xmail_exporter_log_read_bytes_total", want_b,
                             prom.get("xmail_exporter_log_read_bytes_total"), problems)
        nseries += len(want_b)
        # webmail errors: categories are the exporter's rules; only the sum is known
        got_w = sum(prom.get("xmail_webmail_errors_total", {}).values())
        if got_w != man["webmail_errors"]:
            problems.append(f"  exporter: sum(xmail_webmail_errors_total) = {num(got_w)}, "
                            f"expected {man['webmail_errors']}")
            ok = False
        nseries += 1
    return ok, nseries


def cmd_check(a):
    man = json.load(open(a.manifest))
    if not a.exporter and not a.mtail:
        print("compare.py check: give --exporter and/or --mtail", file=sys.stderr)
        return 2
    problems, all_ok = [], True
    outputs = {}
    for tool, path in (("exporter", a.exporter), ("mtail", a.mtail)):
        if not path:
            continue
        try:
            outputs[tool] = parse_prom(path)
        except (OSError, ValueError) as e:
            print(f"compare.py: {tool}: {e}", file=sys.stderr)
            return 2
        ok, n = check_tool(tool, outputs[tool], man, problems)
        all_ok &= ok
        print(f"counts {tool:8s} vs manifest: {'OK' if ok else 'MISMATCH'} "
              f"({n} expected series checked)")
    if len(outputs) == 2:
        # direct cross-check of the common families (redundant when both match the manifest,
        # but it names the disagreement between the tools if the manifest itself is off)
        fams = set(expected_series(man))
        diff = 0
        for fam in sorted(fams):
            e = {k: v for k, v in outputs["exporter"].get(fam, {}).items() if v}
            m = {k: v for k, v in outputs["mtail"].get(fam, {}).items() if v}
            diff += sum(1 for k in set(e) | set(m) if e.get(k, 0) != m.get(k, 0))
        print(f"counts exporter vs mtail   : {'OK' if diff == 0 else f'{diff} series differ'}")
        all_ok &= diff == 0
    if problems:
        print("\n".join(problems))
    ll = man["log_lines"]
    print(f"manifest: {man['total_lines']} lines, {man['total_bytes']} bytes; smtp "
          f"{ll['smtp']}, smail {ll['smail']}, webmail {ll.get('webmail', {})}")
    return 0 if all_ok else 1


def others(t):
    """Cores used by other processes while a tool ran.  Runs totalling under 1 s are too short
    for /proc/stat's 10 ms ticks: for them, the idle second measured just before is used."""
    idle = t.get("other_cores_idle_before") or 0.0
    if sum(t["wall_s"]) < 1.0:
        return idle
    return max(idle, t.get("other_cores", 0.0))


def cmd_table(a):
    man = json.load(open(a.manifest))
    lines, nbytes = man["total_lines"], man["total_bytes"]
    rows, noisy = {}, []
    for p in a.timings:
        t = json.load(open(p))
        rows[t["name"]] = t
    print(f"input: {lines} lines, {nbytes / 1e6:.1f} MB in {len(man['files'])} files "
          f"(page cache warm); median of N runs")
    hdr = f"{'tool':<10} {'runs':>4} {'median s':>9} {'min s':>8} {'max s':>8} " \
          f"{'lines/s':>12} {'MB/s':>9} {'peak RSS MB':>12} {'cores':>6} {'others':>7}"
    print(hdr)
    print("-" * len(hdr))
    for name, t in rows.items():
        med = t["median_s"]
        print(f"{name:<10} {len(t['runs']):>4} {med:>9.3f} {min(t['wall_s']):>8.3f} "
              f"{max(t['wall_s']):>8.3f} {lines / med:>12,.0f} {nbytes / 1e6 / med:>9.1f} "
              f"{t['max_rss_kb'] / 1024:>12.1f} {t['cpu_s_median'] / med:>6.2f} "
              f"{others(t):>7.2f}")
        if others(t) > 0.15:
            noisy.append(name)
    print("cores: CPU time / wall time of the tool (median run); others: cores used by other "
          "processes while it ran,\nor in the second before for runs shorter than 1 s in all "
          "(from /proc/stat)")
    if noisy:
        print(f"WARNING: other processes used CPU while {', '.join(noisy)} ran: "
              "those timings are not reliable")
    print()
    missed = []
    one, ex, mt, wc = rows.get("exporter-1t"), rows.get("exporter"), rows.get("mtail"), \
        rows.get("wc -l")
    n = a.threads

    def target(what, value, unit, goal, ok, short):
        """One target of issue 16: met, or missed by how much (relative to the goal)."""
        off = abs(value - goal) / goal * 100
        verdict = "met" if ok else f"NOT MET (missed by {off:.0f} %)"
        print(f"{what:<34}: {value:7.2f}{unit:<9} (target {goal_text(goal, short)}) {verdict}")
        if not ok:
            missed.append(short)

    def goal_text(goal, short):
        return short.replace("{}", f"{goal:g}")

    if ex and mt:
        r = mt["median_s"] / ex["median_s"]
        target("exporter vs mtail", r, "x faster", 150, r >= 150, ">= {}x mtail")
    if one and wc:
        r = one["median_s"] / wc["median_s"]
        target("report --threads 1 vs wc -l", r, "x slower", 5, r <= 5, "<= {}x wc -l, 1 thread")
    if ex and wc:
        r = ex["median_s"] / wc["median_s"]
        goal = 3 if n > 1 else 5
        target(f"report ({n} threads) vs wc -l", r, "x slower", goal, r <= goal,
               "<= {}x wc -l, " + f"{n} threads")
    if one:
        rss = one["max_rss_kb"] / 1024
        target("report --threads 1 peak RSS", rss, " MB", 20, rss < 20, "< {} MB, 1 thread")
    if ex:
        rss = ex["max_rss_kb"] / 1024
        goal = 20 + 4 * (n - 1)
        target(f"report ({n} threads) peak RSS", rss, " MB", goal, rss < goal,
               "< {} MB, " + f"{n} threads")
    if mt and wc:
        print(f"mtail vs wc -l    : {mt['median_s'] / wc['median_s']:6.1f}x slower")
    if a.targets and missed:
        print("targets missed: " + ", ".join(missed))
        return 3
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--manifest", required=True)
    c.add_argument("--exporter")
    c.add_argument("--mtail")
    t = sub.add_parser("table")
    t.add_argument("--manifest", required=True)
    t.add_argument("--timings", nargs="+", required=True)
    t.add_argument("--targets", action="store_true", help="exit 3 if a target is missed")
    t.add_argument("--threads", type=int, default=1,
                   help="threads the 'exporter' run (report's default) parses on")
    a = ap.parse_args()
    return cmd_check(a) if a.cmd == "check" else cmd_table(a)


if __name__ == "__main__":
    sys.exit(main())
