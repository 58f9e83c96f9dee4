#!/usr/bin/env bash
# Points every runbook_url in the alert rules at where you publish docs/runbook.md.
#
#   scripts/set-runbook-base.sh BASE_URL [FILE...]
#
# BASE_URL is the URL of the runbook page without the anchor, e.g.
#   https://git.example.org/mail/xmail_exporter/src/branch/main/docs/runbook.md
#   https://wiki.example.org/ops/xmail-runbook
# Each link becomes BASE_URL#<alert name in lower case>. FILEs default to
# deploy/prometheus/alerts.yml and deploy/prometheus/alerts_test.yml (the unit
# tests compare the annotations, so both must change together); they are
# edited in place. The shipped base is https://xmail-exporter.invalid/docs/runbook.md
# (".invalid" never resolves), and the script can be run again to change it.
set -euo pipefail

usage() { echo "usage: $0 BASE_URL [FILE...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
new=$1; shift
case $new in
    http://*|https://*|file://*) ;;
    *) echo "$0: BASE_URL must be an absolute http(s):// or file:// URL" >&2; exit 2 ;;
esac
case $new in
    *'#'*|*'"'*|*' '*) echo "$0: BASE_URL must not contain '#', '\"' or spaces" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -eq 0 ]; then
    set -- "$root/deploy/prometheus/alerts.yml" "$root/deploy/prometheus/alerts_test.yml"
fi

for f in "$@"; do
    # The current base: what precedes '#' in the first runbook_url of the file.
    old=$(grep -o 'runbook_url: "[^"#]*#' "$f" | head -n 1 | sed -e 's/^runbook_url: "//' -e 's/#$//')
    if [ -z "$old" ]; then
        echo "$0: no runbook_url in $f" >&2
        exit 1
    fi
    # Literal replacement of `runbook_url: "OLD#` (no regex, no sed escaping).
    OLD="runbook_url: \"$old#" NEW="runbook_url: \"$new#" \
        perl -pi -e 's/\Q$ENV{OLD}\E/$ENV{NEW}/g' "$f"
    echo "$f: $old -> $new"
done
