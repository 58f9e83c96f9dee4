#!/usr/bin/env bash
# bench/desk.sh -- the mail desk's speed, as a person's browser sees it: on bench/genlogs.py's
# 7-day set (1.5 M lines, 256 MB; generated once into bench/out/, as bench/run.sh does), the
# release exporter serves the desk (--web.enable-console, examples/console's users), and this
# times GET /api/v1/trace for a message ID and for an address (the default range: the 7 days
# up to the newest line, so every file of the set), warm page cache, median of RUNS; the
# desk page's weight; the exporter's peak RSS while it answered; and `wc -l` over the same
# SMTP and SMAIL files in the same run, for a ratio that holds across machines.
#
# Targets: an ID within 300 ms, an address within 500 ms, the page under 50 KB, RSS under
# 30 MB.
#
# Usage: bench/desk.sh [--runs N] [--no-build]
# Exit status: 0 measured (targets are reported, not enforced); 1 a request failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out
RUNS=7
BUILD=1
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    *) echo "bench/desk.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
BIN=${XMAIL_EXPORTER:-$ROOT/target/release/xmail_exporter}
[ "$BUILD" = 1 ] && cargo build --release --locked --quiet
if [ ! -f "$OUT/expected.json" ]; then
  echo "== generating the 7-day set into $OUT"
  python3 bench/genlogs.py --lines 1500000 --out "$OUT"
fi

# A message ID from the middle of the set, and the address that sent the most messages.
read -r ID ADDR < <(python3 - "$OUT/xmail" <<'EOF'
import collections, glob, os, sys
files = sorted(glob.glob(os.path.join(sys.argv[1], "smtp-*")))
ids, senders = [], collections.Counter()
for f in files:
    with open(f, "rb") as fh:
        for line in fh:
            p = line.rstrip(b"\r\n").split(b'"\t"')
            if len(p) >= 10 and p[9] == b"RECV=OK":
                ids.append(p[8].decode())
                senders[p[6].decode().lower()] += 1
print(ids[len(ids) // 2], senders.most_common(1)[0][0])
EOF
)

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG=$(mktemp)
"$BIN" --xmail.log-dir "$OUT/xmail" --webmail.log-dir "$OUT/webmail" --xmail.spool-dir "" \
  --web.listen-address "127.0.0.1:$PORT" --web.enable-console \
  --web.config.file examples/console/web-config.yml --config examples/console/config.yml \
  2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f "$LOG"' EXIT
for _ in $(seq 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/-/healthy" && break
  sleep 0.1
done
URL="http://127.0.0.1:$PORT"
AUTH=(-u 'desk:desk demo')

# Median seconds of RUNS requests of $1 (after one warm-up, which also caches the login).
timed() {
  curl -sf "${AUTH[@]}" -o /dev/null "$URL$1" || { echo "bench/desk.sh: GET $1 failed" >&2; exit 1; }
  for _ in $(seq "$RUNS"); do
    curl -sf "${AUTH[@]}" -o /dev/null -w '%{time_total}\n' "$URL$1"
  done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
T_ID=$(timed "/api/v1/trace?q=$ID")
T_ADDR=$(timed "/api/v1/trace?q=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$ADDR")")
N_ADDR=$(curl -sf "${AUTH[@]}" "$URL/api/v1/trace?q=$ADDR" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
PAGE=$(curl -sf "${AUTH[@]}" -o /dev/null -w '%{size_download}' "$URL/")
T_PAGE=$(timed "/")
HWM=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
# wc -l over the files a search reads.
T_WC=$(for _ in $(seq "$RUNS"); do
  python3 - "$OUT/xmail" <<'EOF'
import glob, os, subprocess, sys, time
files = sorted(glob.glob(os.path.join(sys.argv[1], "smtp-*")) + glob.glob(os.path.join(sys.argv[1], "smail-*")))
t = time.perf_counter(); subprocess.run(["wc", "-l", *files], stdout=subprocess.DEVNULL, check=True)
print(f"{time.perf_counter() - t:.4f}")
EOF
done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
BYTES=$(cat "$OUT"/xmail/smtp-* "$OUT"/xmail/smail-* | wc -c)

python3 - "$T_ID" "$T_ADDR" "$PAGE" "$HWM" "$rss_before" "$T_WC" "$BYTES" "$ID" "$ADDR" "$N_ADDR" "$RUNS" "$T_PAGE" <<'EOF'
import platform, subprocess, sys
t_id, t_addr, page, hwm, rss0, t_wc, size = map(float, sys.argv[1:8])
ident, addr, n_addr, runs, t_page = sys.argv[8], sys.argv[9], sys.argv[10], sys.argv[11], float(sys.argv[12])
cpu = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines() if l.startswith("Model name")), platform.processor())
print(f"machine: {cpu}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} CPUs")
print(f"data: bench/out SMTP+SMAIL files, {size/1e6:.0f} MB; median of {runs} warm requests each")
def row(what, got, target, unit, ok):
    print(f"  {'met   ' if ok else 'MISSED'} {what:<44} {got:>10} {unit:<3} (target {target})")
print("mail desk (release build, over loopback HTTP with basic auth):")
row(f"trace by message ID ({ident})", f"{t_id*1000:.0f}", "<= 300 ms", "ms", t_id <= 0.3)
row(f"trace by address ({n_addr} messages)", f"{t_addr*1000:.0f}", "<= 500 ms", "ms", t_addr <= 0.5)
row("desk page weight", f"{page/1024:.1f}", "< 50 KB", "KB", page < 50 * 1024)
row("exporter peak RSS while answering", f"{hwm/1024:.1f}", "< 30 MB", "MB", hwm < 30 * 1024)
print(f"  desk page (with the day's summary): {t_page*1000:.0f} ms; RSS before the searches {rss0/1024:.1f} MB")
print(f"  wc -l over the same files: {t_wc*1000:.0f} ms -> ID search {t_id/t_wc:.1f}x, address search {t_addr/t_wc:.1f}x wc -l")
EOF
