#!/usr/bin/env bash
# Installs the two packages on this machine (as root), checks users, modes and files, runs the
# installed segue-hq as its unit would and the installed kiosk under cage (headless, as its
# user), upgrades to a higher version over the data, refuses a newer database, removes and
# purges. Skips (77) without root, and on a machine where the packages or their users or
# directories already exist (a person's installation is never touched).
# Usage: install_test.sh BUILD_DIR   (packages from build/packages, made by package_test.sh)
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root (dpkg -i, system users)"
for p in segue-kiosk segue-hq; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in ""|"unknown ok not-installed"|"purge ok not-installed") ;;
    *) skip "package $p is on this machine ($status): left as it is" ;; esac
  getent passwd "$p" >/dev/null && skip "user $p exists on this machine: left as it is"
  getent group "$p" >/dev/null && skip "group $p exists on this machine: left as it is"
  [ -e "/var/lib/$p" ] && skip "/var/lib/$p exists on this machine: left as it is"
done
[ -e /etc/segue ] && skip "/etc/segue exists on this machine: left as it is"

version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
arch=$(dpkg --print-architecture)
upgrade=$version+deploytest1
deb() { echo "$build/packages/$1_$2_$arch.deb"; }
for f in "$(deb segue-kiosk "$version")" "$(deb segue-hq "$version")" "$(deb segue-kiosk "$upgrade")" "$(deb segue-hq "$upgrade")"; do
  [ -f "$f" ] || fail "$f is missing (package_test.sh makes it)"
done

tmp=$(mktemp -d)
chmod 0755 "$tmp"   # the services' users reach their own directories inside
pids=()
installed=0
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    wait_for 10 sh -c '! kill -0 "$0" 2>/dev/null' "$p" || kill -KILL "$p" 2>/dev/null || true
  done
  if [ "$installed" = 1 ]; then
    dpkg -P segue-kiosk segue-hq >/dev/null 2>&1 || true
    for u in segue-kiosk segue-hq; do
      getent passwd "$u" >/dev/null && userdel "$u" 2>/dev/null || true
      getent group "$u" >/dev/null && groupdel "$u" 2>/dev/null || true
    done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

mode() { stat -c '%a %U %G' "$1"; }
expect_mode() { [ "$(mode "$1")" = "$2" ] || fail "$1 is $(mode "$1"), want $2"; }
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"; }
listen() {
  : >"$tmp/$1.notes"
  python3 "$here/notify_listen.py" "$tmp/$1.sock" "$tmp/$1.notes" "$2" &
  pids+=($!)
  wait_for 5 test -S "$tmp/$1.sock" || fail "the notification socket did not appear"
}
unit_exec() { sed -n 's/^ExecStart=//p' "/lib/systemd/system/$1"; }

note "dpkg -i segue-kiosk and segue-hq $version"
installed=1
if ! dpkg -i "$(deb segue-kiosk "$version")" "$(deb segue-hq "$version")" >"$tmp/dpkg.log" 2>&1; then
  note "dpkg -i left dependencies open: apt-get -f install"
  DEBIAN_FRONTEND=noninteractive apt-get -f install -y -q >>"$tmp/dpkg.log" 2>&1 || fail "apt-get -f install: $(tail -5 "$tmp/dpkg.log")"
fi
for p in segue-kiosk segue-hq; do
  [ "$(dpkg-query -W -f='${Status} ${Version}' "$p")" = "install ok installed $version" ] || fail "$p is not installed"
done

note "users, modes, files"
for u in segue-kiosk segue-hq; do
  IFS=: read -r _ _ uid _ _ home shell < <(getent passwd "$u")
  [ "$uid" -lt 1000 ] || fail "$u is not a system user (uid $uid)"
  [ "$home" = "/var/lib/$u" ] || fail "$u's home is $home"
  [ "$shell" = /usr/sbin/nologin ] || fail "$u's shell is $shell"
  expect_mode "/var/lib/$u" "700 $u $u"
  expect_mode "/usr/bin/$u" "755 root root"
  expect_mode "/lib/systemd/system/$u.service" "644 root root"
  [ -f "/usr/share/doc/$u/copyright" ] && [ -f "/usr/share/doc/$u/changelog.gz" ] || fail "$u's doc files are missing"
done
expect_mode /etc/segue/kiosk.toml "600 segue-kiosk segue-kiosk"
expect_mode /etc/segue/hq.env "640 root segue-hq"
expect_mode /etc/segue/hq.toml "640 root segue-hq"
expect_mode /etc/segue/hq-tls "750 root segue-hq"
expect_mode /etc/segue/hq-tls/key.pem "640 root segue-hq"
expect_mode /etc/segue/hq-tls/cert.pem "644 root segue-hq"
expect_mode /etc/pam.d/segue-kiosk "644 root root"
id -nG segue-kiosk | grep -qw video || fail "segue-kiosk is not in the video group"
[ "$(dpkg-query -W -f='${Conffiles}' segue-kiosk | awk 'NF {print $1}' | sort | tr '\n' ' ')" = "/etc/pam.d/segue-kiosk /etc/segue/kiosk.toml " ] ||
  fail "segue-kiosk's conffiles: $(dpkg-query -W -f='${Conffiles}' segue-kiosk)"
[ "$(dpkg-query -W -f='${Conffiles}' segue-hq | awk 'NF {print $1}' | sort | tr '\n' ' ')" = "/etc/segue/hq.env /etc/segue/hq.toml " ] ||
  fail "segue-hq's conffiles: $(dpkg-query -W -f='${Conffiles}' segue-hq)"
[ "$(readlink /etc/systemd/system/multi-user.target.wants/segue-hq.service)" = /lib/systemd/system/segue-hq.service ] ||
  fail "segue-hq.service is not enabled"
[ "$(readlink /etc/systemd/system/graphical.target.wants/segue-kiosk.service)" = /lib/systemd/system/segue-kiosk.service ] ||
  fail "segue-kiosk.service is not enabled"
openssl x509 -in /etc/segue/hq-tls/cert.pem -noout -ext subjectAltName | grep -q "IP Address:127.0.0.1" ||
  fail "the generated certificate does not name 127.0.0.1"

note "the installed units: systemd-analyze verify and security"
for u in segue-hq segue-kiosk; do
  systemd-analyze verify "/lib/systemd/system/$u.service" >"$tmp/verify-$u.log" 2>&1 || fail "verify $u: $(cat "$tmp/verify-$u.log")"
  if grep -v "^$" "$tmp/verify-$u.log" | grep -q .; then fail "verify $u complained: $(cat "$tmp/verify-$u.log")"; fi
done

note "segue-hq as segue-hq.service runs it (its user, environment file, working directory, umask)"
hq_start() {   # hq_start NAME: runs the unit's ExecStart; sets $hq_pid and $hq_port
  local name=$1
  listen "$name" 120
  rm -f /var/lib/segue-hq/port
  local cmd
  cmd=$(unit_exec segue-hq.service)
  (
    set -a; . /etc/segue/hq.env; set +a
    # Port 8443 may be taken on a test machine: a free loopback port, reported in a file.
    SEGUE_HQ_LISTEN=127.0.0.1:0
    SEGUE_HQ_ARGS="--port-file /var/lib/segue-hq/port"
    eval "set -- $cmd"
    cd /var/lib/segue-hq
    umask 0077
    exec env -i PATH=/usr/bin:/bin LANG=C.UTF-8 NOTIFY_SOCKET="$tmp/$name.sock" WATCHDOG_USEC=3000000 \
      sh -c 'export WATCHDOG_PID=$$; exec setpriv --reuid=segue-hq --regid=segue-hq --init-groups -- "$@"' sh "$@"
  ) >"$tmp/$name.out" 2>"$tmp/$name.err" &
  hq_pid=$!
  pids+=($hq_pid)
  wait_for 30 test -s /var/lib/segue-hq/port || fail "the installed segue-hq did not listen: $(cat "$tmp/$name.err")"
  hq_port=$(cat /var/lib/segue-hq/port)
  wait_for 10 at_least 1 "$tmp/$name.notes" "$hq_pid" READY=1 || fail "no READY=1 from the installed segue-hq"
}
hq_start hq1
[ "$(ps -o user= -p "$hq_pid")" = segue-hq ] || fail "segue-hq runs as $(ps -o user= -p "$hq_pid")"
health=$(curl -sS --max-time 10 --cacert /etc/segue/hq-tls/cert.pem "https://127.0.0.1:$hq_port/healthz")
[ "$health" = '{"status":"ok"}' ] || fail "/healthz answered $health"
wait_for 10 at_least 1 "$tmp/hq1.notes" "$hq_pid" WATCHDOG=1 || fail "no WATCHDOG=1 from the installed segue-hq"
expect_mode /var/lib/segue-hq/hq.sqlite "600 segue-hq segue-hq"
as segue-hq segue-hq device add --db sqlite:/var/lib/segue-hq/hq.sqlite --store store-upgrade --name counter-1 \
  --json >"$tmp/device.json" 2>/dev/null || fail "device add as segue-hq failed"
token=$(jq -r .token "$tmp/device.json")
device=$(jq -r .device_id "$tmp/device.json")

note "the installed kiosk under cage, headless, as segue-kiosk"
run=$tmp/run
install -d -o segue-kiosk -g segue-kiosk -m 0700 "$run" "$tmp/shots"
kiosk_start() {   # kiosk_start NAME: the unit's ExecStart with `cage -r -r`; sets $cage_pid
  local name=$1
  listen "$name" 120
  local cmd
  cmd=$(unit_exec segue-kiosk.service)
  [[ "$cmd" == "/usr/bin/cage -d -- "* ]] || fail "unexpected ExecStart: $cmd"
  cmd=${cmd/\/usr\/bin\/cage -d/\/usr\/bin\/cage -d -r -r}
  local envs
  envs=$(sed -n 's/^Environment=//p' /lib/systemd/system/segue-kiosk.service)
  (
    eval "set -- $cmd"
    cd /var/lib/segue-kiosk
    umask 0077
    # shellcheck disable=SC2086
    exec env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/var/lib/segue-kiosk $envs XDG_RUNTIME_DIR="$run" \
      WLR_BACKENDS=headless WLR_RENDERER=pixman WLR_LIBINPUT_NO_DEVICES=1 SEGUE_SCREENSHOT_DIR="$tmp/shots" \
      NOTIFY_SOCKET="$tmp/$name.sock" WATCHDOG_USEC=2000000 \
      sh -c 'export WATCHDOG_PID=$$; exec setpriv --reuid=segue-kiosk --regid=segue-kiosk --init-groups -- "$@"' sh "$@"
  ) >"$tmp/$name.out" 2>"$tmp/$name.err" &
  cage_pid=$!
  pids+=($cage_pid)
}
kiosk_start cage1
wait_for 30 pgrep -P "$cage_pid" -x segue-kiosk >/dev/null || fail "no segue-kiosk under cage: $(tail -5 "$tmp/cage1.err")"
kiosk_pid=$(pgrep -P "$cage_pid" -x segue-kiosk)
wait_for 60 at_least 1 "$tmp/cage1.notes" "$kiosk_pid" READY=1 || fail "no READY=1 from the kiosk under cage: $(tail -5 "$tmp/cage1.err")"
[ "$(ps -o user= -p "$cage_pid")" = segue-kiosk ] || fail "cage runs as $(ps -o user= -p "$cage_pid")"
[ "$(ps -o user= -p "$kiosk_pid")" = segue-kiosk ] || fail "the kiosk runs as $(ps -o user= -p "$kiosk_pid")"
grep -E "first frame .*; 1280x720;" "$tmp/cage1.err" >/dev/null ||
  fail "the first frame was not at the output's size: $(grep 'first frame' "$tmp/cage1.err")"
wait_for 20 test -f "$tmp/shots/attract-zh-CN-1280x720.png" || fail "the kiosk's own attract screenshot did not appear"
sleep 1
socket=$(cd "$run" && ls wayland-* | grep -v lock | head -1)
as segue-kiosk env XDG_RUNTIME_DIR="$run" WAYLAND_DISPLAY="$socket" grim "$tmp/shots/grim.png" ||
  fail "grim failed"
cp "$tmp/shots/grim.png" "${SEGUE_DEPLOY_SHOT:-$build/deploy-cage-attract.png}"
python3 "$here/png_check.py" 1280x720 "$tmp/shots/grim.png" "$tmp/shots/attract-zh-CN-1280x720.png" ||
  fail "grim's picture is not the complete attract screen"
start=$(first_at "$tmp/cage1.notes" "$kiosk_pid" READY=1)
wait_for 10 at_least 4 "$tmp/cage1.notes" "$kiosk_pid" WATCHDOG=1 "$start" ||
  fail "fewer than 4 WATCHDOG=1 in 10 s from the idle kiosk under cage"
grep -q "^<6>" "$tmp/cage1.err" && fail "journal prefixes without JOURNAL_STREAM"
note "kill -9 of the kiosk ends cage too (so Restart=always restarts the pair)"
kill -KILL "$kiosk_pid"
wait_for 10 sh -c '! kill -0 "$0" 2>/dev/null' "$cage_pid" || fail "cage outlived its kiosk"

note "responses and a pending outbox, then an upgrade to $upgrade"
kc=(--config /etc/segue/kiosk.toml)
as segue-kiosk segue-kiosk demo-data "${kc[@]}" --count 300 --days 3 2>/dev/null || fail "demo-data as segue-kiosk failed"
# An administrator's change to the configuration, kept across the upgrade.
sed -i 's/^store_id = .*/store_id = "store-upgrade"   # set by the administrator/' /etc/segue/kiosk.toml
as segue-kiosk segue-kiosk export "${kc[@]}" --format jsonl >"$tmp/before.jsonl" 2>/dev/null
pending_before=$(as segue-kiosk segue-kiosk sync status "${kc[@]}" --json 2>/dev/null | jq .pending)
[ "$(wc -l <"$tmp/before.jsonl")" -ge 300 ] || fail "export before the upgrade has $(wc -l <"$tmp/before.jsonl") lines"
[ "$pending_before" -ge 300 ] || fail "pending before the upgrade: $pending_before"
kill -TERM "$hq_pid"; wait "$hq_pid" || fail "segue-hq exited $? on SIGTERM"
dpkg -i "$(deb segue-kiosk "$upgrade")" "$(deb segue-hq "$upgrade")" >"$tmp/dpkg-upgrade.log" 2>&1 ||
  fail "the upgrade failed: $(tail -5 "$tmp/dpkg-upgrade.log")"
for p in segue-kiosk segue-hq; do
  [ "$(dpkg-query -W -f='${Status} ${Version}' "$p")" = "install ok installed $upgrade" ] || fail "$p was not upgraded"
done
expect_mode /etc/segue/kiosk.toml "600 segue-kiosk segue-kiosk"
expect_mode /var/lib/segue-kiosk "700 segue-kiosk segue-kiosk"
expect_mode /var/lib/segue-hq/hq.sqlite "600 segue-hq segue-hq"
grep -q '^store_id = "store-upgrade"   # set by the administrator' /etc/segue/kiosk.toml || fail "the upgrade lost the administrator's change"
as segue-kiosk segue-kiosk export "${kc[@]}" --format jsonl >"$tmp/after.jsonl" 2>/dev/null
cmp -s "$tmp/before.jsonl" "$tmp/after.jsonl" || fail "the responses changed across the upgrade"
pending_after=$(as segue-kiosk segue-kiosk sync status "${kc[@]}" --json 2>/dev/null | jq .pending)
[ "$pending_after" = "$pending_before" ] || fail "pending outbox $pending_before before, $pending_after after"
as segue-hq segue-hq device list --db sqlite:/var/lib/segue-hq/hq.sqlite --json | jq -e --arg d "$device" 'any(.[]; .id == $d)' >/dev/null ||
  fail "HQ lost its enrolled device"

note "after the upgrade: the terminal drains its outbox to the installed HQ"
hq_start hq2
# HQ's self-signed certificate as the terminal's CA (on one machine here; copied over in real life).
install -o segue-kiosk -g segue-kiosk -m 0644 /etc/segue/hq-tls/cert.pem /var/lib/segue-kiosk/hq-ca.pem
sed -i -e 's/^enabled = false/enabled = true/' \
  -e "s|^server_url = .*|server_url = \"https://127.0.0.1:$hq_port\"|" \
  -e "s|^token = .*|token = \"$token\"|" -e 's|^ca_file = .*|ca_file = "/var/lib/segue-kiosk/hq-ca.pem"|' \
  -e "s/^device_id = .*/device_id = \"$device\"/" /etc/segue/kiosk.toml
expect_mode /etc/segue/kiosk.toml "600 segue-kiosk segue-kiosk"
as segue-kiosk segue-kiosk sync --once "${kc[@]}" >"$tmp/sync.out" 2>"$tmp/sync.err" || fail "sync --once: $(cat "$tmp/sync.err")"
[ "$(as segue-kiosk segue-kiosk sync status "${kc[@]}" --json 2>/dev/null | jq .pending)" = 0 ] || fail "the outbox did not drain"
kill -TERM "$hq_pid"; wait "$hq_pid" || fail "segue-hq exited $? on SIGTERM"

note "an older program on a newer database: the kiosk under cage refuses, the file unchanged"
db=/var/lib/segue-kiosk/kiosk.sqlite
latest=$(as segue-kiosk sqlite3 "$db" 'PRAGMA user_version')
as segue-kiosk sqlite3 "$db" "PRAGMA user_version = $((latest + 1)); PRAGMA application_id = 9000000; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
before=$(sha256sum <"$db")
kiosk_start cage2
wait_for 60 sh -c '! kill -0 "$0" 2>/dev/null' "$cage_pid" || fail "cage kept running over a newer database"
grep -q "database schema $((latest + 1)) is newer than this program ($latest); install segue-kiosk ≥ 9.0.0" "$tmp/cage2.err" ||
  fail "the kiosk said: $(grep -i schema "$tmp/cage2.err" | head -3)"
[ "$(sha256sum <"$db")" = "$before" ] || fail "the newer database was changed"
as segue-kiosk sqlite3 "$db" "PRAGMA user_version = $latest;" >/dev/null

note "dpkg -r keeps configuration and data"
dpkg -r segue-kiosk segue-hq >"$tmp/dpkg-remove.log" 2>&1 || fail "dpkg -r: $(tail -5 "$tmp/dpkg-remove.log")"
for f in /etc/segue/kiosk.toml /etc/segue/hq.env /etc/segue/hq.toml /etc/segue/hq-tls/key.pem \
         /var/lib/segue-kiosk/kiosk.sqlite /var/lib/segue-hq/hq.sqlite; do
  [ -f "$f" ] || fail "dpkg -r removed $f"
done
getent passwd segue-kiosk >/dev/null && getent passwd segue-hq >/dev/null || fail "dpkg -r removed a user"
[ ! -e /usr/bin/segue-kiosk ] && [ ! -e /lib/systemd/system/segue-hq.service ] || fail "dpkg -r left the programs"

note "dpkg -P leaves nothing behind"
dpkg -P segue-kiosk segue-hq >"$tmp/dpkg-purge.log" 2>&1 || fail "dpkg -P: $(tail -5 "$tmp/dpkg-purge.log")"
installed=0
left=$(find /etc /var/lib /lib/systemd /usr/bin /usr/share/doc \( -name '*segue-kiosk*' -o -name '*segue-hq*' \) 2>/dev/null || true)
[ -z "$left" ] || fail "left behind after purge: $left"
[ ! -e /etc/segue ] || fail "/etc/segue is left: $(ls -la /etc/segue)"
for u in segue-kiosk segue-hq; do
  getent passwd "$u" >/dev/null && fail "user $u is left"
  getent group "$u" >/dev/null && fail "group $u is left"
  [ -z "$(dpkg-query -W -f='${Status}' "$u" 2>/dev/null | grep -v not-installed)" ] || fail "dpkg still knows $u"
done
echo "PASS"
