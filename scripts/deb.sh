#!/usr/bin/env bash
# The Debian package of xmail_exporter, built with cargo-deb from the metadata in Cargo.toml
# ([package.metadata.deb]) and the files of deploy/debian/.
#
#   scripts/deb.sh        build target/debian/xmail-exporter_<version>-1_<arch>.deb and lint it
#   scripts/deb.sh test   the same, then install, upgrade and purge it in a Debian 12 chroot
#
# Installs what it needs when missing: cargo-deb (cargo install), and the Debian packages
# lintian, help2man (the man page), dpkg-dev (dpkg-shlibdeps for Depends:), binutils (strip),
# and for `test` debootstrap. Runs as root for `test` (debootstrap, chroot, mount).
#
# The test's chroot is made once by debootstrap into target/deb-chroot/base (a few minutes,
# then cached) and copied for each run to target/deb-chroot/run, which is left for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-build}
case $mode in
  build | test) ;;
  *)
    echo "usage: scripts/deb.sh [test]  (unknown argument '$mode')" >&2
    exit 2
    ;;
esac

CARGO_DEB_VERSION=3.8.0
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
pkg=xmail-exporter
unit=xmail_exporter.service

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
die() {
  echo "deb.sh: $*" >&2
  exit 1
}

# Steps and their durations.
step_name=
step_start=0
now_ms() { date +%s%3N; }
step_end() {
  if [ -n "$step_name" ]; then
    local ms=$(($(now_ms) - step_start))
    printf -- '-- %s: %d.%01d s\n' "$step_name" $((ms / 1000)) $((ms % 1000 / 100))
  fi
  step_name=
}
step() {
  step_end
  step_name=$1
  step_start=$(now_ms)
  echo "== $1"
}
total_start=$(now_ms)

step "tools"
pkgs=()
command -v lintian >/dev/null 2>&1 || pkgs+=(lintian)
command -v help2man >/dev/null 2>&1 || pkgs+=(help2man)
command -v dpkg-shlibdeps >/dev/null 2>&1 || pkgs+=(dpkg-dev)
command -v strip >/dev/null 2>&1 || pkgs+=(binutils)
if [ "$mode" = test ]; then
  [ "$(id -u)" = 0 ] || die "'test' needs root (debootstrap, chroot, mount): run it with sudo"
  command -v debootstrap >/dev/null 2>&1 || pkgs+=(debootstrap)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "installing ${pkgs[*]} (Debian packages)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
if ! cargo deb --version >/dev/null 2>&1; then
  echo "installing cargo-deb $CARGO_DEB_VERSION (cargo install)"
  cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi
cargo deb --version

step "cargo build --release"
cargo build --release --locked
bin=target/release/xmail_exporter
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
[ -n "$version" ] || die "no version = \"...\" line in Cargo.toml"
"$bin" --version | grep -q "^xmail_exporter $version " ||
  die "$bin --version does not print version $version of Cargo.toml: $("$bin" --version)"

step "checks of deploy/debian"
# The package's version is Cargo.toml's plus the revision -1; its changelog must have an entry
# for it (a version bump without one would ship a changelog that stops at the previous release).
changelog_version=$(dpkg-parsechangelog -l deploy/debian/changelog -S Version)
[ "$changelog_version" = "$version-1" ] ||
  die "deploy/debian/changelog's last entry is $changelog_version, the package is $version-1: add an entry (dch -c deploy/debian/changelog -v $version-1)"
# The packaged unit keeps the hardening of the manual-install unit: every directive of the
# two must be the same, but the command line and where its flags come from.
directives() {
  # Join continuation lines, drop comments and blank lines.
  awk '/^[#;]/ || /^[[:space:]]*$/ { next }
       { line = line $0 }
       /\\$/ { sub(/\\$/, "", line); next }
       { gsub(/[[:space:]]+/, " ", line); print line; line = "" }' "$1" |
    grep -Ev '^(ExecStart|EnvironmentFile|Documentation)='
}
if ! diff -u <(directives deploy/systemd/xmail_exporter.service) <(directives deploy/debian/xmail_exporter.service); then
  die "deploy/debian/xmail_exporter.service differs from deploy/systemd/xmail_exporter.service in more than ExecStart=, EnvironmentFile= and Documentation= (diff above): make the same change in both"
fi
sh -n deploy/debian/postinst
sh -n deploy/debian/postrm

step "man page (help2man)"
mkdir -p target/debian-man
help2man --no-info --section=1 --version-string="$version" --include=deploy/debian/xmail_exporter.h2m \
  --name="Prometheus exporter for XMail mail-server and Nmail webmail logs" \
  --output=target/debian-man/xmail_exporter.1 "$bin"
gzip -9nf target/debian-man/xmail_exporter.1

arch=$(dpkg --print-architecture)
if [ "$mode" = test ]; then
  step "older package for the upgrade test"
  # The same build, packaged as version 0.1.0-1 and without stripping the binary, so that
  # the binary the upgrade must replace differs from the new one. Made first: cargo deb
  # deletes the other versions' packages in target/debian/.
  old_deb=target/debian-old/${pkg}_0.1.0-1_${arch}.deb
  rm -rf target/debian-old
  mkdir -p target/debian-old
  cargo deb --no-build --no-strip --deb-version 0.1.0-1 -o "$old_deb"
fi

step "cargo deb"
cargo deb --no-build
deb=target/debian/${pkg}_${version}-1_${arch}.deb
[ -f "$deb" ] || die "cargo deb did not write $deb (see its output above)"
dpkg-deb --info "$deb" | sed -n '/Package:/,/Description:/p'

step "lintian"
# Fails on errors and warnings; the tags this package keeps are in deploy/debian/lintian-overrides,
# each with the reason, and shown as O: lines. (Lintian 2.116 counts shown overrides in
# --fail-on, hence the grep.)
lintian --fail-on none --display-info --pedantic --show-overrides "$deb" 2>&1 | tee target/debian/lintian.log ||
  die "lintian failed to run on $deb (output above)"
if grep -Eq '^[EW]: ' target/debian/lintian.log; then
  die "lintian found errors or warnings in $deb (E: and W: lines above): fix them, or override a tag in deploy/debian/lintian-overrides with the reason"
fi

if [ "$mode" = build ]; then
  step_end
  echo "== $deb built and lint-clean in $((($(now_ms) - total_start) / 1000)) s"
  exit 0
fi

# ---- test: install, upgrade, purge in a Debian chroot --------------------------------------

step "compare the packages"
sha_of_bin_in() { dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/bin/xmail_exporter | sha256sum | cut -d' ' -f1; }
new_sha=$(sha_of_bin_in "$deb")
old_sha=$(sha_of_bin_in "$old_deb")
[ "$new_sha" != "$old_sha" ] || die "the old and new packages hold the same binary: the upgrade check would prove nothing"

base=target/deb-chroot/base
run=target/deb-chroot/run
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || true
  done
  mounted=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Never delete a tree with something mounted in it (a bind-mounted /dev would go with it).
remove_tree() {
  if findmnt -rn -o TARGET | grep -q "^$(realpath -m "$1")\(/\|$\)"; then
    die "$1 has file systems mounted in it (findmnt): unmount them, then run again"
  fi
  rm -rf --one-file-system "$1"
}

step "debootstrap $SUITE (cached in $base)"
if [ -f "$base.ok" ] && [ -x "$base/usr/bin/systemd-analyze" ]; then
  echo "reusing $base (delete $base.ok to make it again)"
else
  remove_tree "$base"
  rm -f "$base.ok"
  mkdir -p target/deb-chroot
  debootstrap --variant=minbase --include=systemd "$SUITE" "$base" "$MIRROR" >target/deb-chroot/debootstrap.log 2>&1 ||
    die "debootstrap $SUITE into $base failed: see target/deb-chroot/debootstrap.log"
  # Package lists, should the package ever depend on something the base lacks.
  chroot "$base" apt-get update -qq </dev/null
  touch "$base.ok"
fi

step "chroot: copy, mount /proc"
remove_tree "$run"
cp -a "$base" "$run"
mount -t proc proc "$run/proc"
mounted+=("$run/proc")
# A minbase /dev has the few nodes apt and dpkg use; bind the host's only if they are missing.
if [ ! -c "$run/dev/null" ] || [ ! -c "$run/dev/urandom" ]; then
  mount --bind /dev "$run/dev"
  mounted+=("$run/dev")
fi
# apt logs the maintainer scripts' output through a pseudo-terminal.
mount --bind /dev/pts "$run/dev/pts"
mounted+=("$run/dev/pts")
# Services are not started in the chroot (invoke-rc.d and deb-systemd-invoke ask policy-rc.d).
printf '#!/bin/sh\nexit 101\n' >"$run/usr/sbin/policy-rc.d"
chmod 755 "$run/usr/sbin/policy-rc.d"
mkdir -p "$run/tmp/debs"
cp "$deb" "$old_deb" "$run/tmp/debs/"
in_chroot() { chroot "$run" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@" </dev/null; }
fail() {
  echo "deb.sh test: $*" >&2
  exit 1
}
installed_version() { in_chroot dpkg-query -W -f '${db:Status-Status} ${Version}' "$pkg" 2>/dev/null || true; }
conffile=$run/etc/default/xmail_exporter
wants=$run/etc/systemd/system/multi-user.target.wants/$unit

step "install 0.1.0-1"
in_chroot apt-get install -y -q --no-install-recommends "/tmp/debs/$(basename "$old_deb")"
[ "$(installed_version)" = "installed 0.1.0-1" ] || fail "after installing 0.1.0-1, dpkg says: $(installed_version)"
user=$(in_chroot getent passwd xmail_exporter) || fail "postinst did not create the user xmail_exporter"
in_chroot getent group xmail_exporter >/dev/null || fail "postinst did not create the group xmail_exporter"
echo "user: $user"
uid=$(echo "$user" | cut -d: -f3)
[ "$uid" -lt 1000 ] || fail "xmail_exporter is not a system user (uid $uid)"
[ "$(echo "$user" | cut -d: -f7)" = /usr/sbin/nologin ] || fail "xmail_exporter has a login shell: $user"
[ "$(in_chroot stat -c '%U:%G %a' /var/lib/xmail_exporter)" = "xmail_exporter:xmail_exporter 700" ] ||
  fail "/var/lib/xmail_exporter is not xmail_exporter:xmail_exporter 0700: $(in_chroot stat -c '%U:%G %a' /var/lib/xmail_exporter)"
[ -L "$wants" ] || fail "the unit is not enabled: no $wants"
[ "$(sha256sum <"$run/usr/bin/xmail_exporter" | cut -d' ' -f1)" = "$old_sha" ] || fail "/usr/bin/xmail_exporter is not the binary of 0.1.0-1"
in_chroot xmail_exporter --version

step "local edit of /etc/default/xmail_exporter"
sed -i 's/--web.listen-address=:10587/--web.listen-address=127.0.0.1:10587/' "$conffile"
echo "# local edit kept across upgrades" >>"$conffile"
grep -q 'listen-address=127.0.0.1:10587' "$conffile" || fail "the edit of $conffile did not take"

step "upgrade to $version-1 (apt-get install, no prompt)"
in_chroot apt-get install -y -q --no-install-recommends "/tmp/debs/$(basename "$deb")"
[ "$(installed_version)" = "installed $version-1" ] || fail "after the upgrade, dpkg says: $(installed_version)"
grep -q 'listen-address=127.0.0.1:10587' "$conffile" && grep -q '^# local edit kept across upgrades$' "$conffile" ||
  fail "the upgrade did not keep the local edit of /etc/default/xmail_exporter"
leftovers=$(find "$run/etc/default" -name 'xmail_exporter.dpkg-*')
[ -z "$leftovers" ] || fail "the upgrade left $leftovers"
[ "$(sha256sum <"$run/usr/bin/xmail_exporter" | cut -d' ' -f1)" = "$new_sha" ] ||
  fail "/usr/bin/xmail_exporter is not the binary of $version-1 after the upgrade"
out=$(in_chroot xmail_exporter --version)
echo "$out"
[[ $out == "xmail_exporter $version "* ]] || fail "xmail_exporter --version in the chroot does not print $version"
[ -L "$wants" ] || fail "the unit is no longer enabled after the upgrade"
for f in /usr/share/man/man1/xmail_exporter.1.gz /usr/share/xmail-exporter/prometheus/rules.yml \
  /usr/share/xmail-exporter/prometheus/alerts.yml /usr/share/doc/$pkg/debian.md; do
  [ -f "$run$f" ] || fail "$f is not installed"
done
ls "$run/usr/share/xmail-exporter/dashboards/"*.json >/dev/null || fail "no dashboard under /usr/share/xmail-exporter/dashboards"

step "systemd-analyze verify and security"
# --man=no: minbase has no man; the man page's presence is checked above.
out=$(in_chroot systemd-analyze verify --man=no "/usr/lib/systemd/system/$unit" 2>&1) ||
  fail "systemd-analyze verify rejects the unit: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns about the unit: $out"
echo "systemd-analyze verify: no error, no warning"
# The sandbox's score, 0 (tight) to 10 (none); this unit scores 1.3. Fails above 2.0, so that a
# loosened sandbox is a deliberate change of this line.
in_chroot systemd-analyze security --offline=yes "/usr/lib/systemd/system/$unit" | grep 'Overall exposure' || true
in_chroot systemd-analyze security --offline=yes --threshold=20 "/usr/lib/systemd/system/$unit" >/dev/null ||
  fail "systemd-analyze security rates the unit's sandbox above 2.0 (output above)"

step "remove, then purge"
in_chroot apt-get remove -y -q "$pkg"
[ -f "$conffile" ] || fail "apt-get remove deleted the conffile (only purge may)"
in_chroot apt-get purge -y -q "$pkg"
status=$(installed_version)
case $status in
  "" | "not-installed "*) ;;
  *) fail "after the purge, dpkg says: $status" ;;
esac
for f in /etc/default/xmail_exporter /var/lib/xmail_exporter /usr/bin/xmail_exporter /usr/share/xmail-exporter \
  /usr/lib/systemd/system/$unit /etc/systemd/system/multi-user.target.wants/$unit \
  /var/lib/systemd/deb-systemd-helper-enabled/$unit.dsh-also; do
  [ ! -e "$run$f" ] && [ ! -L "$run$f" ] || fail "$f is left after the purge"
done
# Kept on purpose (deploy/debian/postrm): ACLs on the mail server's files name the group.
in_chroot getent passwd xmail_exporter >/dev/null || fail "the purge removed the user xmail_exporter (postrm keeps it)"
echo "left after purge: user and group xmail_exporter (on purpose); no file of the package"

step "install again after the purge, purge again"
# The user left by the purge is taken as it is.
in_chroot apt-get install -y -q --no-install-recommends "/tmp/debs/$(basename "$deb")"
[ "$(installed_version)" = "installed $version-1" ] || fail "installing again after the purge: dpkg says: $(installed_version)"
[ "$(in_chroot getent passwd xmail_exporter | cut -d: -f3)" = "$uid" ] || fail "the user xmail_exporter changed its uid on the new install"
in_chroot apt-get purge -y -q "$pkg"

step_end
echo "== all Debian package tests passed in $((($(now_ms) - total_start) / 1000)) s"
