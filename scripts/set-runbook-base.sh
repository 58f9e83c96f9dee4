#!/usr/bin/env bash
# Points every runbook_url in the alert rules at where you publish docs/runbook.md.
#
#   scripts/set-runbook-base.sh BASE_URL [FILE...]
#
# BASE_URL is the URL of the runbook page without the anchor, e.g.
#   https://git.example.org/mail/xmail_exporter/src/branch/main/docs/runbook.md
#   https://wiki.example.org/ops/xmail-runbook
# Each link becomes BASE_URL#<alert name in lower case>. The base lives in
# mixin/config.libsonnet (`runbookBase`); this script sets it there and regenerates
# deploy/prometheus/alerts.yml and alerts_test.yml (the unit tests compare the
# annotations) with scripts/mixin.sh. Without jsonnet it edits the two generated
# files in place as well, so `scripts/mixin.sh --check` agrees once jsonnet is there.
# FILEs (optional) are other rule files to edit in place, e.g. a copy you deployed.
# The shipped base is https://xmail-exporter.invalid/docs/runbook.md (".invalid"
# never resolves), and the script can be run again to change it.
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
config="$root/mixin/config.libsonnet"
old=$(sed -n "s/^ *runbookBase: '\([^']*\)',.*/\1/p" "$config")
[ -n "$old" ] || { echo "$0: no runbookBase in $config" >&2; exit 1; }
OLD="runbookBase: '$old'," NEW="runbookBase: '$new'," perl -pi -e 's/\Q$ENV{OLD}\E/$ENV{NEW}/' "$config"
echo "$config: $old -> $new"

# Literal replacement of OLD# after `runbook_url: ` (quoted or not) in each file.
edit() {
    OLD="$old#" NEW="$new#" perl -pi -e 's/(runbook_url: "?)\Q$ENV{OLD}\E/$1$ENV{NEW}/g' "$1"
    echo "$1: $old -> $new"
}
if [ $# -eq 0 ]; then
    if command -v jsonnet >/dev/null; then
        "$root/scripts/mixin.sh"
    else
        echo "$0: jsonnet not installed: editing the generated files in place" >&2
        edit "$root/deploy/prometheus/alerts.yml"
        edit "$root/deploy/prometheus/alerts_test.yml"
    fi
else
    for f in "$@"; do
        # The current base of that file: what precedes '#' in its first runbook_url.
        old=$(grep -o 'runbook_url: "\?[^"#]*#' "$f" | head -n 1 | sed -e 's/^runbook_url: "\{0,1\}//' -e 's/#$//')
        [ -n "$old" ] || { echo "$0: no runbook_url in $f" >&2; exit 1; }
        edit "$f"
    done
fi
