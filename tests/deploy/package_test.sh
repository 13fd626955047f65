#!/usr/bin/env bash
# scripts/package from the built tree: both .debs, their control fields and contents, lintian
# without errors, both units verified by systemd-analyze and rated by `security --offline`.
# Also makes the higher-version pair the install test upgrades to.
# Usage: package_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
arch=$(dpkg --print-architecture)
upgrade=$version+deploytest1
note "scripts/package (version $version) and scripts/package --version $upgrade"
rm -f "$build"/packages/segue-*.deb
SEGUE_BUILD_DIR=$build "$src/scripts/package" >"$tmp/made" || fail "scripts/package failed"
SEGUE_BUILD_DIR=$build "$src/scripts/package" --version "$upgrade" >>"$tmp/made" || fail "scripts/package --version failed"
kiosk=$build/packages/segue-kiosk_${version}_$arch.deb
hq=$build/packages/segue-hq_${version}_$arch.deb
for f in "$kiosk" "$hq" "$build/packages/segue-kiosk_${upgrade}_$arch.deb" "$build/packages/segue-hq_${upgrade}_$arch.deb"; do
  [ -f "$f" ] || fail "$f was not made"
  grep -qxF "$f" "$tmp/made" || fail "scripts/package did not print $f"
done

field() { dpkg-deb -f "$1" "$2"; }
note "control fields"
for pair in "segue-kiosk:$kiosk" "segue-hq:$hq"; do
  name=${pair%%:*} deb=${pair#*:}
  dpkg-deb --info "$deb" >"$tmp/info-$name" || fail "dpkg-deb --info $deb"
  [ "$(field "$deb" Package)" = "$name" ] || fail "$deb: Package $(field "$deb" Package)"
  [ "$(field "$deb" Version)" = "$version" ] || fail "$deb: Version $(field "$deb" Version)"
  [ "$(field "$deb" Architecture)" = "$arch" ] || fail "$deb: Architecture $(field "$deb" Architecture)"
  [[ "$(field "$deb" Maintainer)" == *"<"*"@"*">" ]] || fail "$deb: Maintainer $(field "$deb" Maintainer)"
  [ -n "$(field "$deb" Description | sed -n 2p)" ] || fail "$deb: no long description"
  [ "$(field "$deb" Installed-Size)" -gt 100 ] || fail "$deb: Installed-Size $(field "$deb" Installed-Size)"
  for ctl in conffiles postinst prerm postrm md5sums; do
    grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\*? *$ctl" "$tmp/info-$name" || fail "$deb has no $ctl"
  done
  # dpkg-shlibdeps's part: the libraries the binary links, with versions.
  for lib in "libc6 (>= " "libsystemd0" "libsqlite3-0 (>= " "libstdc++6 (>= "; do
    field "$deb" Depends | grep -qF "$lib" || fail "$deb: Depends lacks $lib: $(field "$deb" Depends)"
  done
done
for lib in "cage" "xwayland" "fonts-noto-cjk" "adduser" "libsdl2-2.0-0 (>= "; do
  field "$kiosk" Depends | grep -qF "$lib" || fail "segue-kiosk: Depends lacks $lib"
done
for lib in "adduser" "openssl" "libpq5 (>= " "libssl3 (>= "; do
  field "$hq" Depends | grep -qF "$lib" || fail "segue-hq: Depends lacks $lib"
done
[ "$(dpkg-deb -I "$kiosk" conffiles | sort | tr '\n' ' ')" = "/etc/pam.d/segue-kiosk /etc/segue/kiosk.toml " ] ||
  fail "segue-kiosk conffiles: $(dpkg-deb -I "$kiosk" conffiles)"
[ "$(dpkg-deb -I "$hq" conffiles | sort | tr '\n' ' ')" = "/etc/segue/hq.env /etc/segue/hq.toml " ] ||
  fail "segue-hq conffiles: $(dpkg-deb -I "$hq" conffiles)"

note "contents and modes"
contents() { dpkg-deb -c "$1" | awk '{print $1, $2, $6}'; }
contents "$kiosk" >"$tmp/c-kiosk"
contents "$hq" >"$tmp/c-hq"
for want in "-rwxr-xr-x root/root ./usr/bin/segue-kiosk" "-rw-r--r-- root/root ./lib/systemd/system/segue-kiosk.service" \
            "-rw-r--r-- root/root ./etc/segue/kiosk.toml" "-rw-r--r-- root/root ./etc/pam.d/segue-kiosk" \
            "-rw-r--r-- root/root ./usr/share/doc/segue-kiosk/copyright" "-rw-r--r-- root/root ./usr/share/doc/segue-kiosk/changelog.gz"; do
  grep -qxF -- "$want" "$tmp/c-kiosk" || fail "segue-kiosk lacks $want"
done
for want in "-rwxr-xr-x root/root ./usr/bin/segue-hq" "-rw-r--r-- root/root ./lib/systemd/system/segue-hq.service" \
            "-rw-r--r-- root/root ./etc/segue/hq.env" "-rw-r--r-- root/root ./etc/segue/hq.toml" \
            "-rw-r--r-- root/root ./usr/share/doc/segue-hq/copyright"; do
  grep -qxF -- "$want" "$tmp/c-hq" || fail "segue-hq lacks $want"
done
files() { awk '$1 !~ /^d/ {print $3}' "$1" | sort | tr '\n' ' '; }
[ "$(files "$tmp/c-kiosk")" = "./etc/pam.d/segue-kiosk ./etc/segue/kiosk.toml ./lib/systemd/system/segue-kiosk.service ./usr/bin/segue-kiosk ./usr/share/doc/segue-kiosk/README.Debian ./usr/share/doc/segue-kiosk/changelog.gz ./usr/share/doc/segue-kiosk/copyright " ] ||
  fail "segue-kiosk's files: $(files "$tmp/c-kiosk")"
[ "$(files "$tmp/c-hq")" = "./etc/segue/hq.env ./etc/segue/hq.toml ./lib/systemd/system/segue-hq.service ./usr/bin/segue-hq ./usr/share/doc/segue-hq/README.Debian ./usr/share/doc/segue-hq/changelog.gz ./usr/share/doc/segue-hq/copyright " ] ||
  fail "segue-hq's files: $(files "$tmp/c-hq")"
dpkg-deb -x "$kiosk" "$tmp/root"
dpkg-deb -x "$hq" "$tmp/root"
for bin in segue-kiosk segue-hq; do
  file "$tmp/root/usr/bin/$bin" | grep -q ", stripped" || fail "$bin is not stripped"
done

note "lintian"
for deb in "$kiosk" "$hq"; do
  lintian --tag-display-limit 0 "$deb" >"$tmp/lintian" 2>"$tmp/lintian.err" || true
  sed 's/^/   /' "$tmp/lintian"
  if grep -q '^E: ' "$tmp/lintian"; then fail "lintian reports errors on $deb"; fi
  if grep -v "running with root privileges is not recommended" "$tmp/lintian.err" | grep -q .; then
    fail "lintian failed on $deb: $(cat "$tmp/lintian.err")"
  fi
done

note "systemd-analyze verify and security --offline=true"
# The packages' files in a root of their own, beside this machine's units (the targets they
# name) and cage (the kiosk unit's ExecStart): verify checks the units load and their commands
# exist there.
cp -rn /lib/systemd/system "$tmp/root/lib/systemd/"
cp /usr/bin/cage "$tmp/root/usr/bin/cage"
for u in segue-hq segue-kiosk; do
  systemd-analyze verify --root="$tmp/root" "/lib/systemd/system/$u.service" >"$tmp/verify" 2>&1 ||
    fail "systemd-analyze verify $u: $(cat "$tmp/verify")"
  if grep -v "^$" "$tmp/verify" | grep -q .; then fail "systemd-analyze verify $u complained: $(cat "$tmp/verify")"; fi
  systemd-analyze security --offline=true --root="$tmp/root" "/lib/systemd/system/$u.service" >"$tmp/security" 2>&1 ||
    true   # exits non-zero when the rating is above its own threshold
  level=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' "$tmp/security")
  [ -n "$level" ] || fail "no exposure level for $u: $(tail -3 "$tmp/security")"
  echo "   $u.service: exposure $level"
  if [ "$u" = segue-hq ]; then
    awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "segue-hq.service is rated $level, above 2.0"
  fi
done
echo "PASS"
