#!/usr/bin/env bash
# bench/run.sh -- the performance benchmark: `xmail_exporter report` vs mtail vs `wc -l`,
# then the live-tailing measurements (bench/live.py --quick: latency, idle, load, scrapes,
# 10 000 old files), exporter and mtail side by side in one run (~3 minutes in all).
#
# On two generated sets of XMail logs (bench/genlogs.py, fixed seed; 1.5M lines by default,
# generated once and reused): bench/out/ (7 days, one file per kind and day) and
# bench/out-hourly/ (the same number of lines in 4 hours, one file per kind and hour, as
# XMail writes them with -Mr 1), time each tool RUNS times and take the median, record peak
# RSS, check that the exporter's and mtail's counts agree with the generator's manifest (and
# so with each other), and print the CPU model, the core count, the table and the ratios.
# When the binary's `report --help` offers --threads, the exporter is timed twice per set:
# `report --threads 1` (single-threaded) and `report` (its default); otherwise once, as
# single-threaded. mtail runs on the first set only (it takes minutes).
#
# Usage: bench/run.sh [--runs N] [--mtail-runs N] [--wc-runs N] [--lines N] [--regen] [--non-utf8]
#                     [--skip-exporter] [--skip-mtail] [--no-hourly] [--no-build]
#                     [--strict-targets] [--no-live] [--live-full]
#   --runs N          runs per tool (default 5; median taken)
#   --mtail-runs N    runs for mtail (default 3: each takes ~25 s)
#   --wc-runs N       runs for wc -l (default 15: it takes ~50 ms, so it needs more samples)
#   --lines N         lines to generate (default 1500000)
#   --regen           regenerate bench/out even if a matching set exists
#   --non-utf8        generate EUC-KR/invalid UTF-8 lines too (mtail 3.0.0-rc50 stops reading
#                     a file at the first one, google/mtail#698: its counts will then differ)
#   --skip-exporter   only mtail and wc -l (exit 0 if mtail's counts match)
#   --skip-mtail      no mtail (the exporter and wc -l only: a run of a minute or so)
#   --no-hourly       only the first set
#   --no-build        do not run `cargo build --release`
#   --strict-targets  exit 3 when a target of issue 16 (>= 150x mtail; <= 5x wc -l on one thread,
#                     <= 3x on two; RSS < 20 MB on one thread, + 4 MB per extra thread) is missed
#   --no-live         skip bench/live.py
#   --live-full       bench/live.py with its full windows and samples (~3 min more)
# Environment: XMAIL_EXPORTER=/path/to/binary overrides target/release/xmail_exporter.
#
# Exit status: 0 all counts agree; 1 counts disagree; 2 a tool could not run (e.g. the
# exporter has no `report` subcommand yet); 3 counts agree but --strict-targets missed;
# 4 a live measurement failed.
# With perf installed, a profile of `report` per thread and function follows each table
# (bench/out/results/perf.data): where the time goes when a target is missed.
# Results: bench/out/results/{summary.txt,*.json,*.prom,*.stderr} (and the same under
# bench/out-hourly/results/), bench/out/live/latest.*.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=$ROOT/bench
OUT=$BENCH/out
RES=$OUT/results
RUNS=5
MTAIL_RUNS=3
LIVE=1
LIVE_MODE=--quick
WC_RUNS=15
LINES=1500000
REGEN=0
NONUTF8=
SKIP_EXPORTER=0
SKIP_MTAIL=0
HOURLY=1
BUILD=1
STRICT=

while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --mtail-runs) MTAIL_RUNS=$2; shift 2 ;;
    --wc-runs) WC_RUNS=$2; shift 2 ;;
    --lines) LINES=$2; shift 2 ;;
    --regen) REGEN=1; shift ;;
    --non-utf8) NONUTF8=--non-utf8; REGEN=1; shift ;;
    --skip-exporter) SKIP_EXPORTER=1; shift ;;
    --skip-mtail) SKIP_MTAIL=1; shift ;;
    --no-hourly) HOURLY=0; shift ;;
    --no-build) BUILD=0; shift ;;
    --strict-targets) STRICT=--targets; shift ;;
    --no-live) LIVE=0; shift ;;
    --live-full) LIVE_MODE=; shift ;;
    -h|--help) sed -n '2,46p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)

need() { command -v "$1" >/dev/null 2>&1 || { echo "run.sh: $1 not found ($2)" >&2; exit 2; }; }
need python3 "apt-get install python3"
[ "$SKIP_MTAIL" = 1 ] || need mtail "apt-get install mtail"
need wc "coreutils"

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"

# ---------------------------------------------------------------- 1. the binary
EXPORTER_STATUS=skipped
THREADS=0
if [ "$SKIP_EXPORTER" = 0 ]; then
  BIN=${XMAIL_EXPORTER:-}
  if [ -z "$BIN" ]; then
    BIN=$ROOT/target/release/xmail_exporter
    if [ "$BUILD" = 1 ] && command -v cargo >/dev/null 2>&1; then
      echo "== cargo build --release"
      (cd "$ROOT" && cargo build --release --quiet) || echo "run.sh: cargo build failed" >&2
    fi
  fi
  if [ -x "$BIN" ] && "$BIN" report --help >/dev/null 2>&1; then
    EXPORTER_STATUS=ok
    # Multi-threaded reading, when this binary has it.
    if "$BIN" report --help 2>/dev/null | grep -q -- '--threads'; then THREADS=1; fi
  else
    EXPORTER_STATUS=unavailable
    echo "run.sh: $BIN missing or has no 'report' subcommand; exporter not measured" >&2
  fi
fi

# Threads `report` (its default, --format prometheus) parses on: the SMTP files on one and
# the others on another when the machine has more than one core (src/metrics/split.rs).
PARSE_THREADS=1
if [ "$THREADS" = 1 ] && [ "$(nproc)" -gt 1 ]; then PARSE_THREADS=2; fi

# One set: bench_set DIR FIRST [genlogs arguments...]; FIRST=1 runs mtail too.
bench_set() {
  local OUT=$1 FIRST=$2
  shift 2
  local RES=$OUT/results
  # ------------------------------------------------------------ 2. data (generate once)
  # reuse the set only if it was written by this genlogs.py with the same arguments
  if [ "$REGEN" = 1 ] || ! { [ -f "$OUT/expected.json" ] && python3 - "$OUT/expected.json" "$LINES" \
      "${NONUTF8:+1}" "$BENCH/genlogs.py" <<'EOF'
import hashlib, json, sys
g = json.load(open(sys.argv[1]))["generator"]
same = (g["lines"] == int(sys.argv[2]) and bool(g.get("non_utf8")) == bool(sys.argv[3])
        and g.get("script_sha256") == hashlib.sha256(open(sys.argv[4], "rb").read()).hexdigest())
sys.exit(0 if same else 1)
EOF
  }; then
    echo "== generating $LINES lines into $OUT ($*)"
    python3 "$BENCH/genlogs.py" --lines "$LINES" --out "$OUT" $NONUTF8 "$@"
  fi
  mkdir -p "$RES"
  rm -f "$RES"/*.json "$RES"/*.prom "$RES"/*.stderr "$RES"/summary.txt "$RES"/rc
  local FILES=("$OUT"/xmail/smtp-* "$OUT"/xmail/smail-* "$OUT"/webmail/error-*.txt)

  # warm the page cache: every tool reads from memory, as in the issue's wc -l figure
  cat "${FILES[@]}" > /dev/null

  # ------------------------------------------------------------ 3. exporter
  local TIMINGS=() EXP_OK=0 v
  if [ "$EXPORTER_STATUS" = ok ]; then
    local variants=("exporter")
    [ "$THREADS" = 1 ] && variants=("exporter-1t" "exporter")
    for v in "${variants[@]}"; do
      local args=()
      [ "$v" = exporter-1t ] && args=(--threads 1)
      echo "== $v: $BIN report ${args[*]} ($RUNS runs)"
      if python3 "$BENCH/measure.py" --name "$v" --runs "$RUNS" --json "$RES/$v.json" \
           --stdout "$RES/$v.prom" --stderr "$RES/$v.stderr" -- \
           "$BIN" report "${args[@]}" "$OUT/xmail" "$OUT/webmail"; then
        TIMINGS+=("$RES/$v.json")
        [ "$v" = exporter ] && EXP_OK=1
      else
        echo "run.sh: $v exited non-zero, see $RES/$v.stderr" >&2
        EXPORTER_STATUS=failed
      fi
    done
  fi

  # ------------------------------------------------------------ 4. mtail
  local MTAIL_OK=skipped
  if [ "$FIRST" = 1 ] && [ "$SKIP_MTAIL" = 0 ]; then
    echo "== mtail $(mtail --version 2>/dev/null | head -1 | awk '{print $3}') one-shot ($MTAIL_RUNS runs)"
    MTAIL_OK=1
    python3 "$BENCH/measure.py" --name mtail --runs "$MTAIL_RUNS" --json "$RES/mtail.json" \
      --stdout "$RES/mtail.prom" --stderr "$RES/mtail.stderr" -- \
      mtail --one_shot --one_shot_format prometheus --emit_prog_label=false --logtostderr \
      --progs "$BENCH/xmail.mtail" --logs "$OUT/xmail/*" --logs "$OUT/webmail/*" || MTAIL_OK=0
    [ "$MTAIL_OK" = 1 ] && TIMINGS+=("$RES/mtail.json")
  fi

  # ------------------------------------------------------------ 5. wc -l
  echo "== wc -l ($WC_RUNS runs)"
  LC_ALL=C python3 "$BENCH/measure.py" --name "wc -l" --runs "$WC_RUNS" --json "$RES/wc.json" \
    --stdout "$RES/wc.txt" -- wc -l "${FILES[@]}"
  TIMINGS+=("$RES/wc.json")
  local WC_TOTAL
  WC_TOTAL=$(tail -1 "$RES/wc.txt" | awk '{print $1}')

  # ------------------------------------------------------------ 6. counts and table
  {
    echo
    echo "== set: $OUT"
    echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), \
$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
    local EXP_VERSION= MTAIL_VERSION=
    [ "$EXP_OK" = 1 ] && EXP_VERSION=$("$BIN" --version 2>/dev/null | head -1 || true)
    [ "$MTAIL_OK" = skipped ] || MTAIL_VERSION="$(mtail --version 2>/dev/null | head -1 | cut -d' ' -f1-3); "
    echo "tools: ${MTAIL_VERSION}coreutils $(wc --version | head -1 | awk '{print $NF}')${EXP_VERSION:+; $EXP_VERSION}"
    echo "load average (1 min) before: $LOAD_START, now: $(cut -d' ' -f1 /proc/loadavg)"
    echo "data: $OUT (genlogs.py seed $(python3 -c "import json;print(json.load(open('$OUT/expected.json'))['generator']['seed'])") $*)," \
         "wc -l total $WC_TOTAL lines"
    echo
    echo "== counts"
    local CHECK_ARGS=()
    [ "$EXP_OK" = 1 ] && CHECK_ARGS+=(--exporter "$RES/exporter.prom")
    [ "$MTAIL_OK" = 1 ] && CHECK_ARGS+=(--mtail "$RES/mtail.prom")
    local COUNTS_RC=0
    python3 "$BENCH/compare.py" check --manifest "$OUT/expected.json" "${CHECK_ARGS[@]}" || COUNTS_RC=$?
    if [ -f "$RES/exporter-1t.prom" ] && [ -f "$RES/exporter.prom" ] && \
       ! cmp -s <(grep -v '^xmail_exporter_build_info' "$RES/exporter-1t.prom") \
                <(grep -v '^xmail_exporter_build_info' "$RES/exporter.prom"); then
      echo "report --threads 1 and report differ"; COUNTS_RC=1
    fi
    if [ "$WC_TOTAL" != "$(python3 -c "import json;print(json.load(open('$OUT/expected.json'))['total_lines'])")" ]; then
      echo "wc -l total $WC_TOTAL differs from the manifest"; COUNTS_RC=1
    fi
    echo
    echo "== throughput"
    local TABLE_RC=0
    python3 "$BENCH/compare.py" table --manifest "$OUT/expected.json" --timings "${TIMINGS[@]}" \
      --threads "$PARSE_THREADS" $STRICT || TABLE_RC=$?
    # Where the time goes: a profile of `report` (its default threads), per thread and per
    # function, when perf is there (apt-get install linux-perf).
    if [ "$EXP_OK" = 1 ] && command -v perf >/dev/null 2>&1 && \
       perf record -q -g -o "$RES/perf.data" -- "$BIN" report "$OUT/xmail" "$OUT/webmail" \
         >/dev/null 2>"$RES/perf.stderr"; then
      echo
      echo "== profile: perf record of '$BIN report' ($PARSE_THREADS threads; $RES/perf.data)"
      echo "CPU samples by thread (report-smtp: the SMTP files; xmail_exporter: the others;"
      echo "read-ahead: the kernel's copies out of the page cache):"
      perf report -i "$RES/perf.data" --no-children --sort comm --stdio 2>/dev/null \
        | grep -E '^ +[0-9]' | head -6
      echo "functions over 2% of the samples:"
      perf report -i "$RES/perf.data" --no-children --sort comm,sym --percent-limit 2 --stdio \
        2>/dev/null | grep -E '^ +[0-9]' | head -20
    fi
    echo
    echo "exporter: $EXPORTER_STATUS; $(( $(date +%s) - T_START )) s since the start"
    echo "COUNTS_RC=$COUNTS_RC TABLE_RC=$TABLE_RC MTAIL_OK=$MTAIL_OK" > "$RES/rc"
  } 2>&1 | tee "$RES/summary.txt"
}

SETS=("$BENCH/out")
bench_set "$BENCH/out" 1
if [ "$HOURLY" = 1 ]; then
  SETS+=("$BENCH/out-hourly")
  bench_set "$BENCH/out-hourly" 0 --hourly --days 1 --legacy-days 0 --hours 4
fi

# ---------------------------------------------------------------- 7. live tailing
LIVE_RC=0
if [ "$LIVE" = 1 ] && [ "$EXPORTER_STATUS" = ok ]; then
  echo
  echo "== live tailing: bench/live.py $LIVE_MODE"
  python3 "$BENCH/live.py" $LIVE_MODE --exporter "$BIN" || LIVE_RC=$?
  echo "total bench time $(( $(date +%s) - T_START )) s"
fi

[ "$LIVE_RC" != 0 ] && exit 4
WORST=0
for set in "${SETS[@]}"; do
  . "$set/results/rc"
  [ "$COUNTS_RC" != 0 ] && exit 1
  [ "$MTAIL_OK" = 0 ] && WORST=2
  [ "$TABLE_RC" != 0 ] && [ "$WORST" = 0 ] && WORST=3
done
case $EXPORTER_STATUS in unavailable|failed) exit 2 ;; esac
exit $WORST
