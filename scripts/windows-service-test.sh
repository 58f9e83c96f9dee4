#!/usr/bin/env bash
# The Windows service, end to end under Wine:
#
#   scripts/windows-service-test.sh EXE WINEPREFIX
#
# EXE is a Windows build of xmail_exporter, WINEPREFIX a prepared Wine prefix (booted, with
# bcryptprimitives.dll if the Wine needs it: scripts/windows.sh prepares target/wine). The
# script runs `service run` from a console (refused in one line), checks that bad install
# flags are refused, installs the service with the exe's own `service install`, queries it
# with Wine's `sc`, starts it, scrapes /metrics from Linux (Wine's sockets are the host's),
# checks the lines of a sample SMTP log were counted and the process_* families are there,
# stops it (the log must show the graceful shutdown, the state file must be written),
# uninstalls it, and fails loudly at the first step that does not do what it should.
#
# Wine's wineserver is made persistent for the run (so the service outlives each `wine sc`
# call) and ended at the end with `wineserver -k`: use a prefix nothing else runs in.
# WINE and WINESERVER override the binaries.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 EXE WINEPREFIX" >&2
  exit 2
fi
exe=$(realpath "$1")
export WINEPREFIX=$(realpath "$2")
root=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$exe" ] || { echo "$0: no exe at $1" >&2; exit 2; }
[ -f "$WINEPREFIX/system.reg" ] || { echo "$0: $2 is not a prepared Wine prefix (no system.reg)" >&2; exit 2; }
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
wine=${WINE:-/usr/lib/wine/wine64}
[ -x "$wine" ] || wine=$(command -v wine)
wineserver=${WINESERVER:-/usr/lib/wine/wineserver}
[ -x "$wineserver" ] || wineserver=$(command -v wineserver)

step=0
started=$SECONDS
say() { step=$((step + 1)); echo "== $step. $*"; }
fail() {
  echo "== FAILED at step $step: $*" >&2
  exit 1
}

work=$(mktemp -d)
cleanup() {
  local status=$?
  "$wine" "$exe" service uninstall >/dev/null 2>&1 || true
  "$wineserver" -k 2>/dev/null || true
  rm -rf "$work"
  [ $status = 0 ] || echo "== the service test failed (exit $status)" >&2
}
trap cleanup EXIT

# One Wine session for the whole test: wait for one that is ending, then start a persistent
# server.
"$wineserver" -w
"$wineserver" -p || fail "cannot start a persistent wineserver for $WINEPREFIX"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/logs"
cp "$root/examples/logs/xmail/smtp-202611270000" "$work/logs/"
smtp_lines=$(wc -l <"$work/logs/smtp-202611270000")
logs_win=$("$wine" winepath -w "$work/logs" 2>/dev/null | tr -d '\r')
svc_log_win='C:\xmail_exporter-test\xmail_exporter.log'
svc_log=$WINEPREFIX/drive_c/xmail_exporter-test/xmail_exporter.log
state_win='C:\xmail_exporter-test\state.json'
state=$WINEPREFIX/drive_c/xmail_exporter-test/state.json
rm -f "$svc_log" "$state"

# A service left by an earlier run would start with the SCM (automatic start).
"$wine" "$exe" service uninstall >/dev/null 2>&1 || true

say "service run outside the SCM is refused in one line"
if out=$("$wine" "$exe" service run 2>&1); then fail "service run from a console succeeded: $out"; fi
out=$(echo "$out" | tr -d '\r')
echo "   $out"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "more than one line"
echo "$out" | grep -q "is for the Service Control Manager" || fail "unexpected message"

say "install with a bad flag or a relative path is refused"
if out=$("$wine" "$exe" service install -- --no-such-flag 2>&1); then fail "accepted --no-such-flag"; fi
echo "   $out" | tr -d '\r'
echo "$out" | grep -q -- "--no-such-flag" || fail "the message does not name the flag"
if out=$("$wine" "$exe" service install -- --xmail.log-dir=logs 2>&1); then fail "accepted a relative --xmail.log-dir"; fi
echo "   $out" | tr -d '\r'
if "$wine" "$exe" service install --log.level=debug -- "--xmail.log-dir=$logs_win" >/dev/null 2>&1; then
  fail "accepted --log.level before --"
fi
if "$wine" sc query xmail_exporter >/dev/null 2>&1; then fail "a refused install left a service"; fi

say "service install"
"$wine" "$exe" service install -- "--xmail.log-dir=$logs_win" --xmail.spool-dir= --webmail.log-dir= \
  "--web.listen-address=127.0.0.1:$port" --tail.from-beginning "--log.file=$svc_log_win" "--tail.state-file=$state_win" | tr -d '\r' | sed 's/^/   /'
if out=$("$wine" "$exe" service install -- "--xmail.log-dir=$logs_win" 2>&1); then fail "a second install succeeded"; fi
echo "   $out" | tr -d '\r'
echo "$out" | grep -q "installed already" || fail "the second install does not say it is installed already"

say "sc query: installed, stopped; registry: automatic start, virtual account, flags"
q=$("$wine" sc query xmail_exporter | tr -d '\r') || fail "sc query failed: $q"
echo "$q" | grep STATE | sed 's/^ */   /'
echo "$q" | grep -q "STATE *: 1 *STOPPED" || fail "not STOPPED after install"
reg=$("$wine" reg query 'HKLM\System\CurrentControlSet\Services\xmail_exporter' | tr -d '\r')
echo "$reg" | grep -E "ImagePath|Start|ObjectName|DisplayName" | sed 's/^ */   /'
echo "$reg" | grep -q "Start *REG_DWORD *0x2" || fail "start type is not automatic (2)"
echo "$reg" | grep -q 'ObjectName *REG_SZ *NT SERVICE\\xmail_exporter' || fail "account is not NT SERVICE\\xmail_exporter"
echo "$reg" | grep -q "ImagePath.* service run .*--web.listen-address=127.0.0.1:$port" || fail "ImagePath lacks service run and the flags"

say "sc start; RUNNING"
"$wine" sc start xmail_exporter >/dev/null || fail "sc start failed"
for _ in $(seq 1 100); do
  "$wine" sc query xmail_exporter | grep -q "STATE *: 4 *RUNNING" && break
  sleep 0.2
done
"$wine" sc query xmail_exporter | grep -q "STATE *: 4 *RUNNING" || fail "not RUNNING 20s after sc start"
echo "   RUNNING"

say "curl /metrics from Linux"
metrics=$work/metrics.txt
ok=
for _ in $(seq 1 100); do
  if curl -fsS -m 2 "http://127.0.0.1:$port/metrics" -o "$metrics" 2>/dev/null &&
    grep -q '^xmail_exporter_log_lines_total{log="smtp",result="parsed"} [1-9]' "$metrics"; then
    ok=1
    break
  fi
  sleep 0.2
done
[ -n "$ok" ] || fail "no /metrics with counted SMTP lines on 127.0.0.1:$port within 20s"
counted=$(awk '/^xmail_exporter_log_lines_total\{log="smtp",/ { n += $2 } END { print n }' "$metrics")
echo "   $(wc -l <"$metrics") lines; SMTP lines counted $counted of $smtp_lines"
[ "$counted" = "$smtp_lines" ] || fail "counted $counted SMTP lines, the file has $smtp_lines"
for f in process_cpu_seconds_total process_resident_memory_bytes process_virtual_memory_bytes \
  process_open_fds process_max_fds process_start_time_seconds process_threads; do
  line=$(grep "^$f " "$metrics") || fail "$f missing from /metrics"
  echo "   $line"
done
start=$(awk '/^process_start_time_seconds / { printf "%d", $2 }' "$metrics")
now=$(date +%s)
[ $((now - start)) -ge 0 ] && [ $((now - start)) -lt 600 ] || fail "process_start_time_seconds $start is not within 10 minutes of now ($now)"

say "sc stop; STOPPED, graceful shutdown in the log, port closed"
"$wine" sc stop xmail_exporter >/dev/null || fail "sc stop failed"
for _ in $(seq 1 100); do
  "$wine" sc query xmail_exporter | grep -q "STATE *: 1 *STOPPED" && break
  sleep 0.2
done
q=$("$wine" sc query xmail_exporter | tr -d '\r')
echo "$q" | grep -E "STATE|EXIT_CODE" | sed 's/^ */   /'
echo "$q" | grep -q "STATE *: 1 *STOPPED" || fail "not STOPPED 20s after sc stop"
echo "$q" | grep -q "SERVICE_EXIT_CODE *: 0 " || fail "stopped with a service-specific exit code"
if curl -fsS -m 2 "http://127.0.0.1:$port/metrics" -o /dev/null 2>/dev/null; then fail "still serving after STOPPED"; fi
[ -f "$svc_log" ] || fail "no service log at $svc_log"
sed 's/^/   log: /' "$svc_log"
for m in "running as a Windows service" "listening" "the Service Control Manager asks to stop" "shutting down" "service stopped"; do
  grep -q "$m" "$svc_log" || fail "the service log lacks \"$m\""
done

[ -f "$state" ] || fail "no state file at $state after the stop"
grep -q "smtp-202611270000" "$state" || fail "the state file does not name the SMTP log"
echo "   state file: $(wc -c <"$state") bytes, names smtp-202611270000"

say "service uninstall; sc query no longer finds it"
"$wine" "$exe" service uninstall | tr -d '\r' | sed 's/^/   /'
if "$wine" sc query xmail_exporter >/dev/null 2>&1; then fail "sc query still finds the service"; fi

echo "== the Windows service test passed ($step steps, $((SECONDS - started))s)"
