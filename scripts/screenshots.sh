#!/usr/bin/env bash
# Retakes the mail desk's screenshots shown in the README (docs/desk-en.png, docs/desk-ko.png,
# docs/trace-ko.png) with the browser tests, on the sample logs. Needs what scripts/test.sh
# installs (chromium, fonts-nanum, node and tests/browser's playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --quiet
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
SCREENSHOT_DIR="$PWD/docs" node --test tests/browser/
ls -l docs/desk-en.png docs/desk-ko.png docs/trace-ko.png
