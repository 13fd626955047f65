#!/usr/bin/env bash
# Issue 16 end to end under Xvfb: a real segue-hq over HTTPS on 127.0.0.1 and the real
# segue-kiosk window, driven by xdotool keys.
#  1. A terminal with [sync] server_url and no identity starts on the enrolment screen; a wrong
#     code is refused on screen and stays there to be corrected; the right one enrols and the
#     terminal moves on to the attract screen with sync running.
#  2. HQ publishes version 2 (a new tag labelled in both languages, thank_you_s = 2) while the
#     kiosk runs; within one sync cycle `config status` shows version 2, the reasons screen shows
#     the new tag (screenshots in both languages), and a response answered after it is stored
#     with survey_version 2 and reaches HQ; the fleet view shows version 2 as current.
#  3. The enrolment screen at 800x480 and 1080x1920 in both languages.
# Screenshots go to SCREENSHOT_DIR.
#   usage: fleet_e2e.sh SEGUE_HQ SEGUE_KIOSK SCREENSHOT_DIR
# Exit 77 (skipped) only when xvfb-run, xdotool or jq is missing.
set -euo pipefail

PIN=2468
PRESS_DELAY=0.15
source "$(dirname "$0")/xvfb_kiosk.sh"

# ---------------------------------------------------------------- inside the X server ----

inside_flow() {
    local data=$WORK/kiosk-data config=$WORK/kiosk.toml log=$WORK/kiosk.log
    printf '[sync]\nenabled = true\nserver_url = "%s"\nca_file = "%s"\n' "$URL" "$WORK/hq/cert.pem" >"$config"
    echo "$PIN" | "$KIOSK" set-pin --config "$config" --data-dir "$data" 2>/dev/null || die "set-pin failed"
    start_kiosk "$log" --config "$config" --data-dir "$data" --window 1280x800

    note "not enrolled: the enrolment screen, not the stars"
    await enrol-zh-CN-1280x800
    [[ -e "$data/identity.json" ]] && die "an identity before enrolment"
    note "a wrong code is refused on screen, in both languages, and stays to be corrected"
    typeDigits 0000-0000-0001
    press Return
    awaitLog "enrolment on the screen: HQ refused" "$log"
    shot "$SHOTS/enrol-refused-zh-CN.png"
    step enrol-en press l
    shot "$SHOTS/enrol-refused-en.png"
    press F10 Escape 5                    # staff and customers cannot get past it
    sleep 0.5
    compgen -G "$SHOTS/attract*.png" >/dev/null && die "the attract screen showed before enrolment"
    compgen -G "$SHOTS/pinpad*.png" >/dev/null && die "the PIN pad opened before enrolment"
    note "the right code: enrolled, the attract screen, sync running"
    press BackSpace BackSpace BackSpace BackSpace BackSpace BackSpace BackSpace BackSpace BackSpace BackSpace \
        BackSpace BackSpace BackSpace
    typeDigits "$CODE"
    shot "$SHOTS/enrol-typed-en.png"
    step attract-zh-CN press Return
    awaitLog "enrolled on the screen: device $DEVICE" "$log"
    [[ $(stat -c %a "$data/identity.json") == 600 ]] || die "identity.json mode $(stat -c %a "$data/identity.json")"

    note "HQ publishes version 2 while the kiosk runs"
    "$HQ" survey publish --db "$DB" --file "$WORK/v2.json" --store "$STORE" >/dev/null
    note "one customer starts a sync cycle (5 stars, Enter): the definition is fetched and applied between customers"
    rm -f "$SHOTS"/attract*.png
    step thankyou-zh-CN press 5 Return
    local status i
    for ((i = 0; i < 200; i++)); do
        status=$("$KIOSK" config status --json --config "$config" --data-dir "$data")
        [[ $(jq -r .survey_version <<<"$status") == 2 ]] && break
        sleep 0.1
    done
    [[ $(jq -r .survey_version <<<"$status") == 2 ]] || die "config status after a sync cycle: $status"
    [[ $(jq -r .source <<<"$status") == hq ]] || die "config status source: $status"
    note "config status: $status"
    await attract-zh-CN                   # the thank-you screen ends by itself

    note "a low rating after it: the reasons screen shows the new tag (both languages)"
    rm -f "$SHOTS"/reasons*.png "$SHOTS"/thankyou*.png "$SHOTS"/attract*.png
    step item1-zh-CN press 1
    step item2-zh-CN press 3
    step reasons-zh-CN press 3            # version 2 asks two items, then reasons after 1 star
    step reasons-en press l
    press 2                               # the second tag: queue_too_long
    step thankyou-en press Return
    local shown=$SECONDS
    await attract-zh-CN
    note "thank-you screen to attract: about $((SECONDS - shown)) s (thank_you_s = 2 in version 2)"

    note "the response is stored under version 2 and reaches HQ"
    local rows
    rows=$("$KIOSK" export --data-dir "$data" --format jsonl) || die "export failed"
    jq -e 'select(.tags == ["queue_too_long"]) | .survey_version == 2 and .stars == 1' <<<"$rows" >/dev/null ||
        die "no 1-star response with queue_too_long under version 2: $rows"
    local csv=""
    for ((i = 0; i < 300; i++)); do
        csv=$(curl -sS --max-time 5 --cacert "$WORK/hq/cert.pem" -H "Authorization: Bearer $READ_TOKEN" \
            "$URL/api/v1/responses.csv?store=$STORE" || true)
        awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
                 $col["survey_version"] == 2 && $col["tags"] ~ /queue_too_long/ { found = 1 }
                 END { exit !found }' <<<"$csv" && break
        sleep 0.1
    done
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
             $col["survey_version"] == 2 && $col["tags"] ~ /queue_too_long/ { found = 1 }
             END { exit !found }' <<<"$csv" || die "HQ has no version 2 response with queue_too_long: $csv"
    local fleet
    fleet=$(curl -sS --max-time 5 --cacert "$WORK/hq/cert.pem" -H "Authorization: Bearer $READ_TOKEN" "$URL/api/v1/fleet")
    jq -e --arg d "$DEVICE" '.devices[] | select(.id == $d) | .applied_survey.version == 2 and .survey_current == true' \
        <<<"$fleet" >/dev/null || die "fleet view: $(jq -c --arg d "$DEVICE" '.devices[] | select(.id == $d)' <<<"$fleet")"

    note "the staff screen: the survey line in both languages"
    step pinpad-zh-CN press F10
    step staff-zh-CN press ${PIN//?/& } Return
    sleep 1
    step staff-en press l
    sleep 1
    stop_kiosk
    grep -q "font atlas built again for survey segue-default version 2" "$log" ||
        die "the atlas was not built again for version 2's labels: $(grep -i atlas "$log")"
}

inside_enrol_sizes() {
    local size=$1 config=$WORK/unenrolled.toml
    printf '[sync]\nenabled = true\nserver_url = "https://127.0.0.1:9"\n' >"$config"
    start_kiosk "$WORK/enrol-$size.log" --config "$config" --data-dir "$WORK/enrol-$size" --window "$size"
    await "enrol-zh-CN-$size"
    typeDigits 1234-5678
    shot "$SHOTS/enrol-typing-zh-CN-$size-full.png"
    step "enrol-en-$size" press l
    stop_kiosk
}

if [[ "${1:-}" == "--inside" ]]; then
    shift
    "inside_$1" "${@:2}"
    exit 0
fi

# -------------------------------------------------------------------------------- outside ----

[[ $# -eq 3 ]] || { echo "usage: $0 SEGUE_HQ SEGUE_KIOSK SCREENSHOT_DIR" >&2; exit 2; }
for tool in xvfb-run xdotool jq; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
HQ=$(realpath "$1")
KIOSK=$(realpath "$2")
SHOTS=$(realpath -m "$3")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/segue-fleet-e2e.XXXXXX")
HQ_PID=""
cleanup() { [[ -n $HQ_PID ]] && kill "$HQ_PID" 2>/dev/null && wait "$HQ_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
rm -rf "$SHOTS"
mkdir -p "$SHOTS"

start_hq
STORE=store-fleet
"$HQ" device add --db "$DB" --store "$STORE" --name "Counter 1" --enrolment-code --json >"$WORK/device.json"
CODE=$(jq -r .enrolment_code "$WORK/device.json")
DEVICE=$(jq -r .device_id "$WORK/device.json")
jq -n '{id: "segue-default", version: 1, languages: ["zh-CN", "en"], items: ["satisfactory", "effective"],
        reasons_max_stars: 3,
        tags: [{id: "wait_time", labels: {"zh-CN": "等待时间", en: "Wait time"}},
               {id: "queue_too_long", labels: {"zh-CN": "排队太久", en: "Queue too long"}}],
        settings: {thank_you_s: 2, inactivity_timeout_s: 30, misuse_window_s: 5, target_csat: 0.9}}' >"$WORK/v2.json"
export HQ KIOSK SHOTS WORK DB URL READ_TOKEN STORE CODE DEVICE

note "enrolment on screen, version 2 from HQ, at 1280x800"
xvfb-run -a -s "-screen 0 1280x800x24" "$0" --inside flow
for size in 800x480 1080x1920; do
    note "the enrolment screen at $size"
    xvfb-run -a -s "-screen 0 ${size}x24" "$0" --inside enrol_sizes "$size"
done
echo "PASS: enrolled on screen, version 2 applied and delivered; $(ls "$SHOTS" | wc -l) screenshots in $SHOTS"
