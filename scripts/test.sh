#!/usr/bin/env bash
# The whole test suite, as CI runs it. On a machine with only the Rust toolchain it first
# installs what the tests need: promtool and prometheus (Debian package `prometheus`),
# jsonnet (`jsonnet`, renders the mixin), PyYAML (`python3-yaml`), and for the mail desk's
# browser tests `chromium`, `fonts-nanum`, node (`nodejs`, `npm`) and playwright-core (npm).
# scripts/deb.sh and scripts/windows.sh install what the Debian package and the Windows
# legs need (cargo-deb, lintian, debootstrap; Debian's Rust, MinGW and Wine).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pkgs=()
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || pkgs+=(prometheus)
command -v jsonnet >/dev/null 2>&1 || pkgs+=(jsonnet)
# scripts/check-rules.sh parses the YAML files with Debian's python3 and PyYAML.
{ python3 -c 'import yaml' || /usr/bin/python3 -c 'import yaml'; } >/dev/null 2>&1 || pkgs+=(python3-yaml)
# The mail desk's browser tests: Debian's headless Chromium, Hangul fonts for the Korean page,
# and node to drive it with playwright-core (from npm, below).
[ -x /usr/bin/chromium ] || pkgs+=(chromium)
fc-list 2>/dev/null | grep -qi nanum || pkgs+=(fonts-nanum)
{ command -v node && command -v npm; } >/dev/null 2>&1 || pkgs+=(nodejs npm)
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "== installing ${pkgs[*]} (Debian packages)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    rustup component add "$component"
  fi
done

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
# Module documentation: every intra-doc link resolves (a moved or renamed module breaks one).
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --quiet
echo "== cargo test"
XMAIL_REQUIRE_PROMTOOL=1 XMAIL_REQUIRE_JSONNET=1 cargo test --locked --lib --bins --test it
cargo test --locked --doc
echo "== browser tests (headless Chromium)"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
node --test tests/browser/
# Hostile clients and odd files, with latency bounds: alone on the machine, one at a time.
echo "== abuse tests"
cargo test --locked --release --test abuse -- --test-threads=1
if [ -x scripts/check-rules.sh ]; then
  echo "== alert rules"
  scripts/check-rules.sh
fi
# The Debian package: lintian, then install, upgrade and purge in a Debian 12 chroot (root).
echo "== Debian package"
if [ "$(id -u)" = 0 ]; then scripts/deb.sh test; else scripts/deb.sh; fi
# The Windows build, cross-compiled with Debian's Rust and MinGW and tested under Wine
# (installs rustc-web, cargo-web, rust-web-src, gcc-mingw-w64-x86-64, wine64, wine when
# missing): the Windows 10+ build with its tests and the service end to end, then the
# Windows 7 / Server 2008 R2 build with the same tests, in a prefix without the stand-in DLL.
echo "== Windows build under Wine"
scripts/windows.sh test
scripts/windows-service-test.sh target/x86_64-pc-windows-gnu/windows-test/xmail_exporter.exe target/wine
echo "== Windows 7 build under Wine"
XMAIL_WINDOWS_TARGET=x86_64-win7-windows-gnu scripts/windows.sh test
echo "== all tests passed"
