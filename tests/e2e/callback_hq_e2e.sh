#!/usr/bin/env bash
# Issue 17 end to end: a real segue-hq over HTTPS on 127.0.0.1 with a contact key, and the real
# segue-kiosk window under Xvfb, enrolled with a code and driven by xdotool keys.
#  1. The kiosk gets HQ's public key with its config (sync running), a 1-star customer asks for a
#     callback and types a number; the kiosk seals it and its sync delivers it.
#  2. HQ opens a case; a store manager logs in (session + CSRF), opens the number (equal to what
#     was typed), the audit log names them, the case moves to contacted, and the 24-hour summary
#     counts it within the SLA.
#  3. After HQ's ack the terminal's sealed copy is gone, and the typed digits are in no file of its
#     data directory.
#   usage: callback_hq_e2e.sh SEGUE_HQ SEGUE_KIOSK SCREENSHOT_DIR
# Exit 77 (skipped) only when xvfb-run, xdotool, jq or sqlite3 is missing.
set -euo pipefail

NUMBER=13800138000
source "$(dirname "$0")/xvfb_kiosk.sh"

# ---------------------------------------------------------------- inside the X server ----

inside_flow() {
    local data=$WORK/kiosk-data config=$WORK/kiosk.toml log=$WORK/kiosk.log status i
    printf '[sync]\nenabled = true\nserver_url = "%s"\nca_file = "%s"\n' "$URL" "$WORK/hq/cert.pem" >"$config"
    "$KIOSK" enrol --code "$CODE" --config "$config" --data-dir "$data" 2>"$WORK/enrol.err" ||
        die "enrol failed: $(cat "$WORK/enrol.err")"
    start_kiosk "$log" --config "$config" --data-dir "$data" --window 1280x800
    await attract-zh-CN

    note "a first customer starts a sync cycle: the config from HQ brings the contact key"
    rm -f "$SHOTS"/attract*.png
    step thankyou-zh-CN press 5 Return
    for ((i = 0; i < 200; i++)); do
        status=$("$KIOSK" config status --json --config "$config" --data-dir "$data")
        [[ $(jq -r .source <<<"$status") == hq ]] && break
        sleep 0.1
    done
    [[ $(jq -r .source <<<"$status") == hq ]] || die "no config from HQ after a sync cycle: $status"
    await attract-zh-CN                         # the thank-you screen ends by itself
    sleep 5.5                                   # past the misuse window

    note "a 1-star customer asks to be called back and types $NUMBER"
    rm -f "$SHOTS"/attract*.png
    step item1-zh-CN press 1
    step item2-zh-CN press 2
    step item3-zh-CN press 2
    step item4-zh-CN press 2
    step item5-zh-CN press 2
    step reasons-zh-CN press 1
    press 1                                     # the first reason
    step callback-offer-zh-CN press Return
    step callback-number-zh-CN press 1
    press $(grep -o . <<<"$NUMBER")
    step thankyou-zh-CN press Return
    await attract-zh-CN

    note "its sync delivers it: HQ opens one case"
    local cases=""
    for ((i = 0; i < 300; i++)); do
        cases=$(curl -sS --max-time 5 --cacert "$WORK/hq/cert.pem" -H "Authorization: Bearer $READ_TOKEN" \
            "$URL/api/v1/cases?status=open" || true)
        [[ $(jq -r '.cases | length' <<<"$cases" 2>/dev/null) == 1 ]] && break
        sleep 0.1
    done
    [[ $(jq -r '.cases | length' <<<"$cases") == 1 ]] || die "HQ has not one open case: $cases"
    grep -q "$NUMBER" <<<"$cases" && die "the case list shows the number"
    jq -r '.cases[0].id' <<<"$cases" >"$WORK/case-id"

    note "after the ack the terminal keeps no sealed copy"
    local left=1
    for ((i = 0; i < 100; i++)); do
        left=$(sqlite3 "$data/kiosk.sqlite" "SELECT COUNT(*) FROM callback_contacts")
        [[ $left == 0 ]] && break
        sleep 0.1
    done
    [[ $left == 0 ]] || die "$left sealed contact(s) left on the terminal after HQ's ack"
    stop_kiosk
    for f in "$data"/*; do
        if grep -a -q -e "$NUMBER" -e "138 0013 8000" "$f"; then die "the typed number is in $f"; fi
    done
    "$KIOSK" export --data-dir "$data" --format jsonl | grep -q "$NUMBER" && die "the export shows the number"
    "$KIOSK" export --data-dir "$data" --format jsonl | grep -q '"callback_requested":true' ||
        die "the export does not record the callback request"
    return 0
}

if [[ "${1:-}" == "--inside" ]]; then
    shift
    "inside_$1" "${@:2}"
    exit 0
fi

# -------------------------------------------------------------------------------- outside ----

[[ $# -eq 3 ]] || { echo "usage: $0 SEGUE_HQ SEGUE_KIOSK SCREENSHOT_DIR" >&2; exit 2; }
for tool in xvfb-run xdotool jq sqlite3; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
HQ=$(realpath "$1")
KIOSK=$(realpath "$2")
SHOTS=$(realpath -m "$3")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/segue-callback-hq-e2e.XXXXXX")
HQ_PID=""
cleanup() { [[ -n $HQ_PID ]] && kill "$HQ_PID" 2>/dev/null && wait "$HQ_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
rm -rf "$SHOTS"
mkdir -p "$SHOTS"

start_hq --contact-key "$WORK/hq/contact.key"
[[ -s "$WORK/hq/contact.key" ]] || die "init-demo made no contact key"
STORE=store-callback
"$HQ" device add --db "$DB" --store "$STORE" --name "Counter 1" --enrolment-code --json >"$WORK/device.json"
CODE=$(jq -r .enrolment_code "$WORK/device.json")
echo "manager-password-1" | "$HQ" user add --db "$DB" --email mgr@example.com --role store --store "$STORE" \
    --password-stdin 2>/dev/null || die "user add failed"
export HQ KIOSK SHOTS WORK DB URL READ_TOKEN STORE CODE NUMBER

note "the kiosk at 1280x800: key from HQ, a callback typed, sealed and delivered"
xvfb-run -a -s "-screen 0 1280x800x24" "$0" --inside flow
ID=$(cat "$WORK/case-id")

note "the store manager logs in, opens the number, records the call"
api() {  # api METHOD PATH [JSON]: as the logged-in manager, with the CSRF header
    curl -sS --max-time 10 --cacert "$WORK/hq/cert.pem" -b "$WORK/cookies" -c "$WORK/cookies" \
        -H "X-CSRF-Token: $CSRF" -H "Content-Type: application/json" -X "$1" "$URL$2" ${3:+--data "$3"}
}
login=$(curl -sS --max-time 10 --cacert "$WORK/hq/cert.pem" -c "$WORK/cookies" -H "Content-Type: application/json" \
    -X POST "$URL/api/v1/session" --data '{"email":"mgr@example.com","password":"manager-password-1"}')
CSRF=$(jq -r .csrf <<<"$login")
[[ -n $CSRF && $CSRF != null ]] || die "login failed: $login"
phone=$(api POST "/api/v1/cases/$ID/contact" '{}')
[[ $(jq -r .phone <<<"$phone") == "$NUMBER" ]] || die "the number HQ opened is not the one typed: $phone"
audit=$("$HQ" audit --db "$DB" --json)
jq -e --arg id "$ID" '[.entries[] | select(.action == "case_contact_view" and .actor == "mgr@example.com"
                        and .subject == $id)] | length == 1' <<<"$audit" >/dev/null ||
    die "no audit row names the manager's view of case $ID: $(jq -c '.entries[-3:]' <<<"$audit")"
moved=$(api POST "/api/v1/cases/$ID" '{"status":"contacted","note":"called back, apologised"}')
[[ $(jq -r .status <<<"$moved") == contacted ]] || die "status change refused: $moved"
from=$(date -u -d '-1 day' +%F)
to=$(date -u -d '+1 day' +%F)
summary=$(api GET "/api/v1/cases/summary?from=$from&to=$to")
jq -e '.requests == 1 and .contacted_within_sla == 1 and .open == 0' <<<"$summary" >/dev/null ||
    die "the summary does not count the case within the SLA: $summary"
note "summary: $summary"
echo "PASS: a callback typed at the kiosk was sealed, delivered, opened by the store's manager (audited) and counted within 24 hours"
