#!/usr/bin/env bash
# The Windows build, cross-compiled on Debian and tried under Wine.
#
#   scripts/windows.sh             builds target/x86_64-pc-windows-gnu/release/xmail_exporter.exe
#                                  (the release profile: fat LTO, one codegen unit)
#   scripts/windows.sh test        builds the exe and the tests once (profile windows-test),
#                                  checks that `report` on examples/logs prints what the Linux
#                                  build prints, byte for byte, then runs the tests under Wine
#   scripts/windows.sh run ARGS... runs the exe under Wine (the release build if there is one,
#                                  else the windows-test one), e.g. `run report examples/logs`
#   scripts/windows.sh win7        builds for x86_64-win7-windows-gnu (Windows 7 / Server 2008 R2
#                                  and later) and checks that it runs under Wine
#   scripts/windows.sh clippy      clippy for the Windows target, warnings as errors
#
# XMAIL_WINDOWS_TARGET=x86_64-win7-windows-gnu scripts/windows.sh test runs the tests of the
# Windows 7 build instead, in a Wine prefix without the stand-in DLL.
#
# The Rust toolchain is Debian's (rustc-web, cargo-web, rust-web-src), not rustup's: with no
# network access to rustup's servers there is no prebuilt Windows std, so std is built from
# its source (-Zbuild-std, allowed on a stable compiler by RUSTC_BOOTSTRAP) and linked by
# MinGW. Debian's Wine 8.0 lacks bcryptprimitives.dll, which Rust's std imports since 1.78;
# a stand-in built from scripts/windows/bcryptprimitives.c goes into the Wine prefix (never
# into what ships). The prefix and every Windows build live under target/. Missing Debian
# packages are installed first, as scripts/test.sh does for promtool.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=${1:-build}
[ $# -gt 0 ] && shift
case $mode in
  build | test | run | win7 | clippy) ;;
  -h | --help | help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "scripts/windows.sh: unknown command '$mode' (build, test, run, win7 or clippy; see --help)" >&2
    exit 2
    ;;
esac

# `run`: the program's output alone on stdout; what the script says goes to stderr.
if [ "$mode" = run ]; then
  exec 3>&1 1>&2
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Each step's time, printed at the end (also when a step fails).
timings=()
started=$SECONDS
step() {
  local name=$1 t0=$SECONDS status=0
  shift
  echo "== $name"
  "$@" || status=$?
  timings+=("$(printf '%-52s %5ds' "$name" $((SECONDS - t0)))")
  [ $status = 0 ] || echo "== FAILED: $name (exit $status)" >&2
  return $status
}
print_timings() {
  [ ${#timings[@]} -gt 0 ] || return 0
  echo "== timings"
  printf '   %s\n' "${timings[@]}"
  printf '   %-52s %5ds\n' "total" $((SECONDS - started))
}
trap print_timings EXIT

install_packages() {
  local pkgs=() p
  for p in rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64 wine64 wine; do
    installed "$p" || pkgs+=("$p")
  done
  [ "$mode" != clippy ] || installed rust-web-clippy || pkgs+=(rust-web-clippy)
  if [ ${#pkgs[@]} -gt 0 ]; then
    echo "   installing ${pkgs[*]} (Debian packages)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
}
step "packages" install_packages

# Debian's toolchain, whatever rustup puts first on PATH.
cargo=/usr/bin/cargo
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
unset RUSTUP_TOOLCHAIN RUSTC_WRAPPER CARGO_BUILD_TARGET
wine=/usr/lib/wine/wine64
[ -x "$wine" ] || wine=$(command -v wine)
for t in x86_64-pc-windows-gnu x86_64-win7-windows-gnu; do
  v=$(echo "$t" | tr 'a-z-' 'A-Z_')
  export "CARGO_TARGET_${v}_LINKER=x86_64-w64-mingw32-gcc"
  export "CARGO_TARGET_${v}_RUNNER=$wine"
  export "CC_${t//-/_}=x86_64-w64-mingw32-gcc" "AR_${t//-/_}=x86_64-w64-mingw32-ar"
done
export WINEPREFIX=$root/target/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
# Wine maps TZ=UTC to "Greenwich Standard Time"; both builds print times in the same zone.
export TZ=${TZ:-UTC}
build_std=(-Zbuild-std=std,panic_unwind)

# Both builds say the same revision in xmail_exporter_build_info (and a new commit rebuilds).
if rev=$(git rev-parse --short=12 HEAD 2>/dev/null); then
  export XMAIL_EXPORTER_REVISION=$rev
fi

# A Wine prefix of our own, with the stand-in bcryptprimitives.dll unless told `bare`.
prepare_prefix() {
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    mkdir -p "$WINEPREFIX"
    "$wine" wineboot --init >/dev/null 2>&1
    wineserver -w
  fi
  # Our own wineserver, quiet: one started by a test would print its leftovers into the log
  # when it exits, after the script.
  wineserver -p10 </dev/null >/dev/null 2>&1
  [ "${1:-}" != bare ] || return 0
  local dll=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
  local src=scripts/windows/bcryptprimitives.c
  if [ ! -f "$dll" ] || [ "$src" -nt "$dll" ]; then
    x86_64-w64-mingw32-gcc -O2 -Wall -shared -s -o "$dll" "$src" -lbcrypt
  fi
}

# The same checks as the Linux build's, for the Windows target.
exe_runs() {
  local exe=$1 out
  out=$("$wine" "$exe" --version)
  echo "   $out"
  [ -n "$out" ]
}

# The Linux build to compare with: the same compiler and revision (build_info says both),
# in the windows-test profile, which leaves rustup's target/debug alone.
linux_exe=target/windows-test/xmail_exporter
build_linux() {
  "$cargo" build --locked --profile windows-test --bin xmail_exporter
}

# `report` on the sample logs, in every format: the Windows build prints what the Linux
# build prints.
same_report() {
  local exe=$1 dir=target/windows-check format status=0
  mkdir -p "$dir"
  for format in prometheus text json; do
    "$linux_exe" report --format "$format" examples/logs >"$dir/linux.$format"
    "$wine" "$exe" report --format "$format" examples/logs >"$dir/windows.$format"
    if cmp -s "$dir/linux.$format" "$dir/windows.$format"; then
      echo "   report --format $format: same $(wc -c <"$dir/linux.$format") bytes"
    else
      echo "   report --format $format: differs (diff $dir/linux.$format $dir/windows.$format)" >&2
      diff "$dir/linux.$format" "$dir/windows.$format" | head -20 >&2 || true
      status=1
    fi
  done
  return $status
}

# The tests under Wine, all of them even when some fail; their output (with what passing
# tests printed, for the skips they announce) is kept in target/windows-check/tests.log.
tests_log=target/windows-check/tests.log
run_tests() {
  mkdir -p "$(dirname "$tests_log")"
  "$cargo" test "${t[@]}" --no-fail-fast --lib --bins --test it -- --show-output "$@" 2>&1 | tee "$tests_log"
}

# What did not run under Wine, each with its reason: the ignored tests (ignored on
# Windows, with the reason) and the checks skipped at run time ("SKIPPED: ...").
skipped_tests() {
  echo "== not run under Wine (ignored tests, skipped checks)"
  awk '/^---- .* stdout ----$/ { test = $2 }
       /^test .* \.\.\. ignored/ { print "   " substr($0, 6); n++ }
       /SKIPPED/ { print "   " test ": " $0; n++ }
       END { if (!n) print "   none" }' "$tests_log"
  # Wine's transient errors (a process start, a rename), retried by the tests' helper
  # (retry_on_windows in tests/it/util.rs).
  if grep -q 'retry [0-9]* of [0-9]*$' "$tests_log"; then
    echo "== retried under Wine"
    awk '/^---- .* stdout ----$/ { test = $2 } /retry [0-9]* of [0-9]*$/ { print "   " test ": " $0 }' "$tests_log"
  fi
}

case $mode in
  build)
    step "build exe (release, x86_64-pc-windows-gnu)" \
      "$cargo" build --locked --release --target x86_64-pc-windows-gnu "${build_std[@]}" --bin xmail_exporter
    step "prepare Wine prefix" prepare_prefix
    step "exe starts under Wine" exe_runs target/x86_64-pc-windows-gnu/release/xmail_exporter.exe
    echo "== built target/x86_64-pc-windows-gnu/release/xmail_exporter.exe"
    ;;
  test)
    target=${XMAIL_WINDOWS_TARGET:-x86_64-pc-windows-gnu}
    case $target in
      x86_64-pc-windows-gnu) step "prepare Wine prefix" prepare_prefix ;;
      x86_64-win7-windows-gnu)
        export WINEPREFIX=$root/target/wine-win7
        step "prepare Wine prefix (no stand-in DLL)" prepare_prefix bare
        ;;
      *)
        echo "scripts/windows.sh: XMAIL_WINDOWS_TARGET=$target: x86_64-pc-windows-gnu or x86_64-win7-windows-gnu" >&2
        exit 2
        ;;
    esac
    t=(--locked --profile windows-test --target "$target" "${build_std[@]}")
    # The exe the integration tests run is built with them, with the same features.
    step "build exe and tests (windows-test, $target)" "$cargo" test "${t[@]}" --no-run --lib --bins --test it
    step "build Linux exe (reference)" build_linux
    exe=target/$target/windows-test/xmail_exporter.exe
    step "exe starts under Wine" exe_runs "$exe"
    step "report: Windows = Linux, byte for byte" same_report "$exe"
    step "tests under Wine" run_tests "$@"
    skipped_tests
    ;;
  run)
    exe=target/x86_64-pc-windows-gnu/release/xmail_exporter.exe
    [ -f "$exe" ] || exe=target/x86_64-pc-windows-gnu/windows-test/xmail_exporter.exe
    if [ ! -f "$exe" ]; then
      echo "scripts/windows.sh run: no Windows build yet; run scripts/windows.sh (or scripts/windows.sh test) first" >&2
      exit 1
    fi
    prepare_prefix
    timings=()
    exec "$wine" "$exe" "$@" 1>&3 3>&-
    ;;
  win7)
    step "build exe (release, x86_64-win7-windows-gnu)" \
      "$cargo" build --locked --release --target x86_64-win7-windows-gnu "${build_std[@]}" --bin xmail_exporter
    # A prefix without the stand-in DLL: this build must not need it.
    export WINEPREFIX=$root/target/wine-win7
    step "prepare Wine prefix (no stand-in DLL)" prepare_prefix bare
    exe=target/x86_64-win7-windows-gnu/release/xmail_exporter.exe
    step "exe starts under Wine" exe_runs "$exe"
    step "build Linux exe (reference)" build_linux
    step "report: Windows 7 build = Linux, byte for byte" same_report "$exe"
    echo "== built $exe"
    ;;
  clippy)
    # Debian's cargo-clippy, not rustup's proxy that comes first on PATH.
    export PATH=/usr/bin:$PATH
    step "clippy (x86_64-pc-windows-gnu)" "$cargo" clippy --locked --profile windows-test \
      --target x86_64-pc-windows-gnu "${build_std[@]}" --all-targets -- -D warnings
    ;;
esac
