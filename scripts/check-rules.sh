#!/usr/bin/env bash
# Checks the Prometheus rules and every deploy/dashboard file:
#   - scripts/mixin.sh --check: the committed alerts.yml, rules.yml, alerts_test.yml (and
#     dashboards, once the mixin has them) are exactly what mixin/ generates,
#   - promtool check rules / test rules (alerts.yml, rules.yml, alerts_test.yml), and the
#     no-alert scenarios against the `large` threshold profile (rendered to a temp dir),
#   - promtool check config (prometheus.yml, which loads alerts.yml and rules.yml),
#   - every *.json under dashboards/ and deploy/ parses, and every *.yml/*.yaml
#     under deploy/ parses,
#   - every alert has a firing and a not-firing unit test and a runbook section
#     matching its runbook_url anchor,
#   - amtool check-config on alertmanager.yml when amtool is installed.
# Needs promtool (Debian: `apt-get install prometheus`), jsonnet (`apt-get install jsonnet`)
# and python3 with PyYAML (Debian: `apt-get install python3-yaml`). Run from anywhere.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

fail() { echo "check-rules: $*" >&2; exit 1; }

command -v promtool >/dev/null || fail "promtool not found: install it (Debian: apt-get install prometheus)"
# The first Python 3 that has PyYAML: the one on PATH (maybe pyenv's), else Debian's,
# where `apt-get install python3-yaml` puts it.
python=
for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import yaml' 2>/dev/null; then
        python=$candidate
        break
    fi
done
[ -n "$python" ] || fail "no python3 with PyYAML: install it (Debian: apt-get install python3-yaml)"

echo "== scripts/mixin.sh --check"
scripts/mixin.sh --check

echo "== promtool check rules"
promtool check rules deploy/prometheus/alerts.yml deploy/prometheus/rules.yml

echo "== promtool test rules"
# Run from the test file's directory: its rule_files are relative to it.
start=$(date +%s)
(cd deploy/prometheus && promtool test rules alerts_test.yml)
echo "(promtool test rules: $(( $(date +%s) - start ))s)"

echo "== promtool test rules, profile large (no-alert scenarios)"
large=$(mktemp -d)
trap 'rm -rf "$large"' EXIT
scripts/mixin.sh --profile large "$large"
promtool check rules "$large/alerts.yml" "$large/rules.yml" >/dev/null
(cd "$large" && promtool test rules alerts_test.yml)

echo "== promtool check config"
promtool check config deploy/prometheus/prometheus.yml

if command -v amtool >/dev/null; then
    echo "== amtool check-config"
    amtool check-config deploy/alertmanager/alertmanager.yml
else
    echo "== amtool not installed: alertmanager.yml only checked for YAML syntax"
fi

echo "== JSON/YAML syntax, alert tests and runbook sections"
"$python" - <<'PY'
import json, pathlib, re, sys, yaml

errors = []
files = sorted(pathlib.Path("dashboards").rglob("*.json")) + sorted(pathlib.Path("deploy").rglob("*.json"))
for f in files:
    try:
        json.loads(f.read_text(encoding="utf-8"))
    except Exception as e:
        errors.append(f"{f}: invalid JSON: {e}")
yml = sorted(p for p in pathlib.Path("deploy").rglob("*") if p.suffix in (".yml", ".yaml"))
for f in yml:
    try:
        list(yaml.safe_load_all(f.read_text(encoding="utf-8")))
    except Exception as e:
        errors.append(f"{f}: invalid YAML: {e}")
print(f"parsed {len(files)} JSON and {len(yml)} YAML files")

rules = yaml.safe_load(open("deploy/prometheus/alerts.yml", encoding="utf-8"))
tests = yaml.safe_load(open("deploy/prometheus/alerts_test.yml", encoding="utf-8"))
runbook = open("docs/runbook.md", encoding="utf-8").read()
# GitHub-style anchors of the runbook's headings.
anchors = {re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-")
           for h in re.findall(r"^#+ (.+)$", runbook, re.M)}
firing, silent = set(), set()
for t in tests["tests"]:
    for a in t.get("alert_rule_test", []):
        (firing if a.get("exp_alerts") else silent).add(a["alertname"])
bases = set()
alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
for r in alerts:
    name = r["alert"]
    ann, labels = r.get("annotations", {}), r.get("labels", {})
    for key in ("summary", "description", "runbook_url"):
        if not ann.get(key):
            errors.append(f"{name}: no {key} annotation")
    if labels.get("severity") not in ("critical", "warning", "info"):
        errors.append(f"{name}: severity label must be critical, warning or info")
    url = ann.get("runbook_url", "")
    base, _, anchor = url.partition("#")
    bases.add(base)
    if anchor != name.lower():
        errors.append(f"{name}: runbook_url anchor must be #{name.lower()}, is {url!r}")
    if name.lower() not in anchors:
        errors.append(f"{name}: docs/runbook.md has no '## {name}' section")
    if name not in firing:
        errors.append(f"{name}: alerts_test.yml never shows it firing")
    if name not in silent:
        errors.append(f"{name}: alerts_test.yml never shows it not firing")
if len(bases) > 1:
    errors.append(f"runbook_url bases differ: {sorted(bases)}")
print(f"{len(alerts)} alerts: each tested firing and not firing, each with a runbook section")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
PY

echo "check-rules: OK"
