#!/usr/bin/env bash
# Both programs as systemd runs them, without systemd: READY/WATCHDOG/STOPPING on a stand-in
# notification socket, journal lines when stderr is JOURNAL_STREAM; and the kiosk's refusal of a
# newer database (clear message, exit 1, the file unchanged).
# Usage: service_test.sh SEGUE_HQ SEGUE_KIOSK
set -euo pipefail
hq=$1 kiosk=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    wait_for 10 sh -c '! kill -0 "$0" 2>/dev/null' "$p" || kill -KILL "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

listen() {   # listen NAME SECONDS: a stand-in notification socket at $tmp/NAME.sock
  : >"$tmp/$1.notes"
  python3 "$here/notify_listen.py" "$tmp/$1.sock" "$tmp/$1.notes" "$2" &
  pids+=($!)
  wait_for 5 test -S "$tmp/$1.sock" || fail "the notification socket did not appear"
}

note "segue-hq: READY once listening, WATCHDOG while /healthz answers, STOPPING on SIGTERM; journal lines"
listen hq 30
: >"$tmp/hq.err"
stream=$(stat -c '%d:%i' "$tmp/hq.err")
JOURNAL_STREAM=$stream NOTIFY_SOCKET=$tmp/hq.sock WATCHDOG_USEC=900000 \
  sh -c 'export WATCHDOG_PID=$$; exec "$@"' sh "$hq" serve --listen 127.0.0.1:0 --db "sqlite:$tmp/hq.sqlite" \
  --insecure-http-for-tests --port-file "$tmp/hq.port" >"$tmp/hq.out" 2>>"$tmp/hq.err" &
hqpid=$!
pids+=($hqpid)
wait_for 20 test -s "$tmp/hq.port" || fail "segue-hq did not listen: $(cat "$tmp/hq.err")"
wait_for 10 at_least 1 "$tmp/hq.notes" "$hqpid" READY=1 || fail "no READY=1 from segue-hq"
wait_for 10 at_least 3 "$tmp/hq.notes" "$hqpid" WATCHDOG=1 || fail "fewer than 3 WATCHDOG=1 from segue-hq in 10 s"
ready=$(first_at "$tmp/hq.notes" "$hqpid" READY=1)
awk -v r="$ready" 'BEGIN { exit !(r <= '"$(first_at "$tmp/hq.notes" "$hqpid" WATCHDOG=1)"') }' ||
  fail "WATCHDOG=1 came before READY=1"
kill -TERM "$hqpid"
wait "$hqpid" || fail "segue-hq exited $? on SIGTERM"
wait_for 5 at_least 1 "$tmp/hq.notes" "$hqpid" STOPPING=1 || fail "no STOPPING=1 from segue-hq"
grep -q "^<6>listening on http://127.0.0.1:" "$tmp/hq.err" || fail "no '<6>listening on' line: $(cat "$tmp/hq.err")"
grep -q "^<6>systemd watchdog: asking /healthz every 300 ms" "$tmp/hq.err" || fail "the watchdog's interval was not logged"
if grep -v '^<[0-7]>' "$tmp/hq.err" | grep -q .; then fail "a line without a priority prefix: $(grep -v '^<[0-7]>' "$tmp/hq.err" | head -3)"; fi
if grep -qE '^<[0-7]>[0-9]{4}-[0-9]{2}-[0-9]{2}' "$tmp/hq.err"; then fail "journal lines carry our own timestamp"; fi
grep -q "^segue-hq listening on http://127.0.0.1:" "$tmp/hq.out" || fail "stdout lost its 'segue-hq listening on' line"

note "segue-hq: a JOURNAL_STREAM that is not its stderr keeps the timestamps; without WATCHDOG_USEC no watchdog"
JOURNAL_STREAM=1:1 "$hq" serve --listen 127.0.0.1:0 --db "sqlite:$tmp/hq.sqlite" --insecure-http-for-tests \
  --port-file "$tmp/hq2.port" >/dev/null 2>"$tmp/hq2.err" &
hqpid=$!
pids+=($hqpid)
wait_for 20 test -s "$tmp/hq2.port" || fail "segue-hq did not listen again: $(cat "$tmp/hq2.err")"
kill -TERM "$hqpid"
wait "$hqpid" || fail "segue-hq exited $? on SIGTERM"
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+ info listening on' "$tmp/hq2.err" || fail "no timestamped line: $(cat "$tmp/hq2.err")"
if grep -q "systemd watchdog" "$tmp/hq2.err"; then fail "a watchdog without WATCHDOG_USEC"; fi

note "segue-kiosk: READY after the first frame, WATCHDOG from the idle loop (cage's child: WATCHDOG_PID names the parent)"
listen kiosk 40
: >"$tmp/kiosk.err"
stream=$(stat -c '%d:%i' "$tmp/kiosk.err")
JOURNAL_STREAM=$stream NOTIFY_SOCKET=$tmp/kiosk.sock WATCHDOG_USEC=1000000 \
  xvfb-run -a -s "-screen 0 1024x600x24" sh -c 'echo $$ >"$0"; WATCHDOG_PID=$$ "$@"; exit $?' "$tmp/parent.pid" \
  "$kiosk" --data-dir "$tmp/k" --fullscreen 2>>"$tmp/kiosk.err" &
pids+=($!)
wait_for 20 test -s "$tmp/parent.pid" || fail "the kiosk's parent shell did not start"
wait_for 10 pgrep -P "$(cat "$tmp/parent.pid")" >/dev/null || fail "no kiosk under its parent shell"
kpid=$(pgrep -P "$(cat "$tmp/parent.pid")")
pids+=($kpid)
# Xvfb, started beside it with the same environment, says READY=1 too: only the kiosk's count.
wait_for 30 at_least 1 "$tmp/kiosk.notes" "$kpid" READY=1 || fail "no READY=1 from the kiosk: $(tail -5 "$tmp/kiosk.err")"
grep -q "^<6>first frame .*; 1024x600;" "$tmp/kiosk.err" || fail "the first frame was not at the screen's size: $(grep 'first frame' "$tmp/kiosk.err")"
start=$(first_at "$tmp/kiosk.notes" "$kpid" READY=1)
wait_for 10 at_least 5 "$tmp/kiosk.notes" "$kpid" WATCHDOG=1 "$start" || fail "fewer than 5 WATCHDOG=1 in 10 s from the idle kiosk"
if grep -v '^<[0-7]>' "$tmp/kiosk.err" | grep -E '^[0-9]{4}-' | grep -q .; then fail "kiosk journal lines carry timestamps"; fi
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T.* info first frame' "$tmp/k/kiosk.log" || fail "kiosk.log lost its timestamps"
kill -TERM "$kpid"
wait_for 20 sh -c '! kill -0 "$0" 2>/dev/null' "$kpid" || fail "the kiosk did not end on SIGTERM"
wait_for 10 at_least 1 "$tmp/kiosk.notes" "$kpid" STOPPING=1 || fail "no STOPPING=1 from the kiosk"

note "an older segue-kiosk on a newer database: a clear refusal, exit 1, the file unchanged"
db=$tmp/k/kiosk.sqlite
program=$("$kiosk" --version | awk '{print $2}')
IFS=. read -r a b c <<<"${program%%[^0-9.]*}"
[ "$(sqlite3 "$db" 'PRAGMA application_id')" = "$((a * 1000000 + b * 1000 + c))" ] ||
  fail "the migration did not record $program (application_id $(sqlite3 "$db" 'PRAGMA application_id'))"
latest=$(sqlite3 "$db" 'PRAGMA user_version')
newer=$((latest + 1))
sqlite3 "$db" "PRAGMA user_version = $newer; PRAGMA application_id = 2003004; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
before=$(sha256sum <"$db")
want="database schema $newer is newer than this program ($latest); install segue-kiosk ≥ 2.3.4"
set +e
"$kiosk" stats --data-dir "$tmp/k" >/dev/null 2>"$tmp/stats.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "stats exited $rc on a newer database"
grep -qF "$want" "$tmp/stats.err" || fail "stats said: $(cat "$tmp/stats.err")"
set +e
timeout 60 xvfb-run -a "$kiosk" --data-dir "$tmp/k" --window 640x400 2>"$tmp/refuse.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "the kiosk exited $rc on a newer database (want 1): $(tail -3 "$tmp/refuse.err")"
grep -F "$want" "$tmp/refuse.err" | grep -q critical || fail "the kiosk said: $(tail -3 "$tmp/refuse.err")"
[ "$(sha256sum <"$db")" = "$before" ] || fail "the newer database was changed"
sqlite3 "$db" "PRAGMA application_id = 0;" >/dev/null
before=$(sha256sum <"$db")
"$kiosk" stats --data-dir "$tmp/k" >/dev/null 2>"$tmp/stats2.err" && fail "stats accepted a newer database"
grep -qF "database schema $newer is newer than this program ($latest); install segue-kiosk newer than $program" "$tmp/stats2.err" ||
  fail "without a recorded writer stats said: $(cat "$tmp/stats2.err")"
[ "$(sha256sum <"$db")" = "$before" ] || fail "the newer database was changed by stats"
echo "PASS"
