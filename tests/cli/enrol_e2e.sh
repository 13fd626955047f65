#!/usr/bin/env bash
# Enrolment and the terminal's configuration end to end: a real segue-hq over HTTPS on 127.0.0.1,
# a real segue-kiosk. A code enrols a new data directory once (the same code again, or a wrong one:
# exit 4), the enrolled terminal delivers with sync --once, /api/v1/terminal/config answers with an
# ETag and 304, a published version 2 changes it, and /api/v1/enrol limits guesses per address.
#   usage: enrol_e2e.sh SEGUE_HQ SEGUE_KIOSK
set -euo pipefail
hq=${1:?usage: enrol_e2e.sh SEGUE_HQ SEGUE_KIOSK} kiosk=${2:?usage: enrol_e2e.sh SEGUE_HQ SEGUE_KIOSK}
tmp=$(mktemp -d /tmp/segue-enrol.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$tmp/hq.log" ] && tail -n 20 "$tmp/hq.log" >&2; exit 1; }
expect_exit() {  # expect_exit CODE cmd...
  local want=$1; shift
  set +e; "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?; set -e
  [ "$got" -eq "$want" ] || { cat "$tmp/out" "$tmp/err" >&2; fail "exit $got, expected $want: $*"; }
}
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }

"$hq" init-demo --dir "$tmp/hq" --port 1 >/dev/null
db="sqlite:$tmp/hq/hq.sqlite"
"$hq" serve --listen 127.0.0.1:0 --db "$db" --tls-cert "$tmp/hq/cert.pem" --tls-key "$tmp/hq/key.pem" \
  --port-file "$tmp/port" >"$tmp/hq.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "segue-hq did not start"
port=$(cat "$tmp/port")
url="https://127.0.0.1:$port"
curlq() { curl -sS --max-time 10 --cacert "$tmp/hq/cert.pem" "$@"; }

"$hq" device add --db "$db" --store store-enrol --name "Counter 1" --enrolment-code --json >"$tmp/device.json"
code=$(jq -r .enrolment_code "$tmp/device.json")
[[ $code =~ ^[0-9]{4}-[0-9]{4}-[0-9]{4}$ ]] || fail "enrolment code looks like '$code'"
printf '[sync]\nenabled = true\nserver_url = "%s"\nca_file = "%s"\n' "$url" "$tmp/hq/cert.pem" >"$tmp/kiosk.toml"
chmod 600 "$tmp/kiosk.toml"

# A new data directory: enrol, then deliver.
expect_exit 0 "$kiosk" enrol --code "$code" --config "$tmp/kiosk.toml" --data-dir "$tmp/d1"
[ "$(stat -c %a "$tmp/d1/identity.json")" = 600 ] || fail "identity.json is $(stat -c %a "$tmp/d1/identity.json")"
[ "$(jq -r .device_id "$tmp/d1/identity.json")" = "$(jq -r .device_id "$tmp/device.json")" ] || fail "identity names another device"
expect_exit 0 "$kiosk" demo-data --count 40 --days 2 --config "$tmp/kiosk.toml" --data-dir "$tmp/d1"
expect_exit 0 "$kiosk" sync --once --config "$tmp/kiosk.toml" --data-dir "$tmp/d1"
read_token=$(cat "$tmp/hq/read-token.txt")
rows=$(curlq -H "Authorization: Bearer $read_token" "$url/api/v1/responses.csv?store=store-enrol" | tail -n +2 | wc -l)
[ "$rows" -eq 40 ] || fail "HQ holds $rows responses of the enrolled terminal, not 40"
ok "a new data directory enrolled with a code delivers 40 responses with sync --once"

# The same code again, and a wrong one: refused, exit 4, nothing stored.
expect_exit 4 "$kiosk" enrol --code "$code" --config "$tmp/kiosk.toml" --data-dir "$tmp/d2"
[ ! -e "$tmp/d2/identity.json" ] || fail "a refused enrolment stored an identity"
expect_exit 4 "$kiosk" enrol --code 0000-0000-0001 --config "$tmp/kiosk.toml" --data-dir "$tmp/d2"
ok "a used code and a wrong code are refused (exit 4)"

# The terminal's configuration: ETag, 304, and a published version 2.
token=$(jq -r .token "$tmp/d1/identity.json")
curlq -D "$tmp/h1" -o "$tmp/c1" -H "Authorization: Bearer $token" "$url/api/v1/terminal/config"
grep -q "^HTTP/1.1 200" "$tmp/h1" || fail "config: $(head -n1 "$tmp/h1")"
etag=$(grep -i '^etag:' "$tmp/h1" | cut -d' ' -f2- | tr -d '\r')
[ -n "$etag" ] || fail "config without an ETag"
[ "$(jq -r .survey_version "$tmp/c1")" = 1 ] || fail "config version: $(cat "$tmp/c1")"
status=$(curlq -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" -H "If-None-Match: $etag" \
  "$url/api/v1/terminal/config")
[ "$status" = 304 ] || fail "If-None-Match with the current ETag: $status"
status=$(curlq -o /dev/null -w '%{http_code}' "$url/api/v1/terminal/config")
[ "$status" = 401 ] || fail "config without a token: $status"
jq -n '{id: "segue-default", version: 1, languages: ["zh-CN", "en"], items: ["satisfactory", "effective"],
        reasons_max_stars: 3,
        tags: [{id: "wait_time", labels: {"zh-CN": "等待时间", en: "Wait time"}},
               {id: "queue_too_long", labels: {"zh-CN": "排队太久", en: "Queue too long"}}],
        settings: {thank_you_s: 2, inactivity_timeout_s: 30, misuse_window_s: 5, target_csat: 0.9}}' >"$tmp/v2.json"
"$hq" survey publish --db "$db" --file "$tmp/v2.json" --store store-enrol >/dev/null
curlq -D "$tmp/h2" -o "$tmp/c2" -H "Authorization: Bearer $token" -H "If-None-Match: $etag" "$url/api/v1/terminal/config"
grep -q "^HTTP/1.1 200" "$tmp/h2" || fail "config after publishing: $(head -n1 "$tmp/h2")"
[ "$(jq -r .survey_version "$tmp/c2")" = 2 ] || fail "config after publishing: $(cat "$tmp/c2")"
jq -e '.survey.tags | map(.id) | index("queue_too_long")' "$tmp/c2" >/dev/null || fail "v2 lacks its new tag"
ok "terminal config: 200 with an ETag, 304 while unchanged, 401 without a token, version 2 once published"

# The terminal's batches say which survey it runs: sync --once applies nothing (only the window
# applies, between customers), so it still runs the built-in version 1 while its store is assigned 2.
expect_exit 0 "$kiosk" demo-data --count 3 --days 1 --config "$tmp/kiosk.toml" --data-dir "$tmp/d1"
expect_exit 0 "$kiosk" sync --once --config "$tmp/kiosk.toml" --data-dir "$tmp/d1"
device_id=$(jq -r .device_id "$tmp/device.json")
curlq -H "Authorization: Bearer $read_token" "$url/api/v1/fleet" >"$tmp/fleet.json"
jq -e --arg d "$device_id" '.devices[] | select(.id == $d) |
  .applied_survey == {id: "segue-default", version: 1} and .assigned_survey.version == 2 and
  .survey_current == false and .config_error == null' "$tmp/fleet.json" >/dev/null ||
  fail "fleet view of the enrolled terminal: $(jq -c --arg d "$device_id" '.devices[] | select(.id == $d)' "$tmp/fleet.json")"
jq -e '.summary.survey_outdated >= 1' "$tmp/fleet.json" >/dev/null || fail "fleet summary: $(jq -c .summary "$tmp/fleet.json")"
ok "the fleet view shows the survey version the terminal's batches report and that it is not the assigned one"

# Guessing codes: at most 10 attempts a minute per address (3 were made above).
limited=0
for _ in $(seq 1 12); do
  status=$(curlq -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"code":"0000-0000-0002","app_version":"test"}' "$url/api/v1/enrol")
  case $status in
    401) ;;
    429) limited=1; break ;;
    *) fail "enrol attempt answered $status" ;;
  esac
done
[ "$limited" = 1 ] || fail "12 more enrolment attempts from one address were never limited"
ok "enrolment attempts from one address are limited (429)"
echo "$passed passed, 0 failed"
