#!/usr/bin/env bash
# segue-kiosk enrol and config status as scripts use them: exit codes, JSON keys, and a TOML file
# that disagrees with the enrolled identity refused by name. Real binary, real files; the only
# network use is a connection to a closed port on 127.0.0.1.
set -euo pipefail
kiosk=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_exit() {  # expect_exit CODE cmd...
  local want=$1; shift
  set +e; "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?; set -e
  [ "$got" -eq "$want" ] || { cat "$tmp/err" >&2; fail "exit $got, expected $want: $*"; }
}

expect_exit 0 "$kiosk" --help
grep -q "segue-kiosk enrol --code" "$tmp/out" || fail "--help does not list enrol"
grep -q "segue-kiosk config status" "$tmp/out" || fail "--help does not list config status"

# A terminal that never had a definition from HQ runs the built-in one.
expect_exit 0 "$kiosk" config status --json --data-dir "$tmp/d0"
for key in survey_id survey_version source fetched_at applied_at last_error; do
  jq -e "has(\"$key\")" "$tmp/out" >/dev/null || fail "config status --json lacks $key"
done
[ "$(jq -r .source "$tmp/out")" = built-in ] || fail "source: $(cat "$tmp/out")"
[ "$(jq -r .survey_version "$tmp/out")" = 1 ] || fail "version: $(cat "$tmp/out")"
expect_exit 0 "$kiosk" config status --data-dir "$tmp/d0"
grep -q "segue-default version 1 (built-in)" "$tmp/out" || fail "config status: $(cat "$tmp/out")"
expect_exit 2 "$kiosk" config --data-dir "$tmp/d0"
expect_exit 2 "$kiosk" config status --once --data-dir "$tmp/d0"

# enrol: usage errors are 2, an unreachable HQ is 3; nothing is stored either way.
expect_exit 2 "$kiosk" enrol --data-dir "$tmp/d1"
expect_exit 2 "$kiosk" enrol --code 1234-5678 --data-dir "$tmp/d1"
expect_exit 2 "$kiosk" enrol --code 1234-5678-9012 --data-dir "$tmp/d1"      # no server_url
grep -q "server_url" "$tmp/err" || fail "enrol without server_url: $(cat "$tmp/err")"
printf '[sync]\nenabled = true\nserver_url = "https://127.0.0.1:9"\n' > "$tmp/sync.toml"
expect_exit 3 "$kiosk" enrol --code 1234-5678-9012 --config "$tmp/sync.toml" --data-dir "$tmp/d1"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "enrol failure is not one line"
[ ! -e "$tmp/d1/identity.json" ] || fail "a failed enrolment stored an identity"

# Sync enabled with neither a token nor an identity: `sync --once` says to enrol. (The window
# shows the enrolment screen instead: tests/e2e/fleet_e2e.sh.)
expect_exit 2 "$kiosk" sync --once --config "$tmp/sync.toml" --data-dir "$tmp/d1"
grep -q "segue-kiosk enrol" "$tmp/err" || fail "unenrolled sync: $(cat "$tmp/err")"

# An enrolled identity fills the TOML's gaps and refuses a TOML that names another store.
mkdir -p "$tmp/d2"
printf '{"device_id":"kiosk-e2","store_id":"store-e2","token":"tok","server_url":"https://127.0.0.1:9"}\n' \
  > "$tmp/d2/identity.json"
expect_exit 0 "$kiosk" stats --json --config "$tmp/sync.toml" --data-dir "$tmp/d2"
printf '[kiosk]\nstore_id = "store-other"\n' > "$tmp/other.toml"
expect_exit 2 "$kiosk" stats --config "$tmp/other.toml" --data-dir "$tmp/d2"
grep -q 'store_id' "$tmp/err" && grep -q 'store-e2' "$tmp/err" || fail "mismatch not named: $(cat "$tmp/err")"
echo "ok"
