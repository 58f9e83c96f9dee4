#!/bin/sh
# Demo log writer for deploy/docker-compose.yml (profile "demo").
#
# Replays the sample XMail logs as a live server would write them: one SMTP and
# one SMAIL line per tick, with the timestamp rewritten to the current time,
# appended to today's time-named files (smtp-YYYYMMDD0000, smail-YYYYMMDD0000),
# so the dashboards have a steady flow to show. Sample webmail error lines
# (error-*.txt), if any, are appended every 10th tick to error-YYYYMMDD.txt.
#
# Usage: replay-logs.sh SAMPLES_DIR OUT_DIR [SECONDS_PER_TICK]
# POSIX sh + sed + date only (runs in busybox).
set -eu

src=${1:?usage: replay-logs.sh SAMPLES_DIR OUT_DIR [SECONDS_PER_TICK]}
out=${2:?usage: replay-logs.sh SAMPLES_DIR OUT_DIR [SECONDS_PER_TICK]}
pause=${3:-1}

mkdir -p "$out/xmail" "$out/webmail"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# One list per log kind, every sample file of that kind in name order.
cat "$src"/xmail/smtp-* > "$work/smtp" 2>/dev/null || : > "$work/smtp"
cat "$src"/xmail/smail-* > "$work/smail" 2>/dev/null || : > "$work/smail"
cat "$src"/webmail/error-*.txt > "$work/webmail" 2>/dev/null || : > "$work/webmail"

# XMail writes "YYYY-MM-DD HH:MM:SS" in a field of its own.
ts='"[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]"'

# Appends line number $2 (wrapping around) of list $1 to file $3, timestamp replaced.
emit() {
    n=$(wc -l < "$work/$1")
    [ "$n" -gt 0 ] || return 0
    i=$(( ($2 % n) + 1 ))
    now=$(date '+%Y-%m-%d %H:%M:%S')
    sed -n "${i}p" "$work/$1" | sed "s/$ts/\"$now\"/" >> "$3"
}

tick=0
while :; do
    day=$(date +%Y%m%d)
    emit smtp "$tick" "$out/xmail/smtp-${day}0000"
    emit smail "$tick" "$out/xmail/smail-${day}0000"
    if [ $((tick % 10)) -eq 0 ]; then
        emit webmail $((tick / 10)) "$out/webmail/error-${day}.txt"
    fi
    tick=$((tick + 1))
    sleep "$pause"
done
