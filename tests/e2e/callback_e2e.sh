#!/usr/bin/env bash
# End to end (issue 17, terminal side): the real segue-kiosk under Xvfb with HQ's public key in
# its database (as the config fetch keeps it), driven by xdotool keys through one star, the
# items, the reasons, the callback offer and the phone keypad to the thank-you screen, at
# 1280x800, 800x480 and 1080x1920 in both languages. Checks `export` (callback_requested, no
# contact), the sealed row, and that the typed number is in neither the database file nor its
# WAL. Screenshots of the offer and number screens (empty and typed) go to SCREENSHOT_DIR.
#
#   callback_e2e.sh BUILD/bin/segue-kiosk SCREENSHOT_DIR
#
# Exit 77 (skipped) only when xvfb-run, xdotool or sqlite3 is missing.
set -euo pipefail

PRESS_DELAY=0.3
source "$(dirname "$0")/xvfb_kiosk.sh"

# ---------------------------------------------------------------- inside the X server ----

inside_tour() {
    local size=$1 data=$WORK/data-$1 lang n=0
    # The database as the sync worker leaves it after HQ's config reply with a key.
    "$KIOSK" demo-data --data-dir "$data" --count 1 --days 1 >/dev/null 2>&1 || die "demo-data failed"
    sqlite3 "$data/kiosk.sqlite" "INSERT INTO meta (key, value) VALUES ('survey_config', json_object('contact_public_key', '$KEY'))" ||
        die "cannot store the key"
    rm -f "$SHOTS"/*-"$size".png
    start_kiosk "$WORK/kiosk-$size.log" --data-dir "$data" --window "$size"
    await "attract-zh-CN-$size"
    for lang in zh-CN en; do
        [[ $lang == en ]] && step "attract-en-$size" press l
        step "item1-$lang-$size" press 1        # one star
        step "item2-$lang-$size" press 2
        step "item3-$lang-$size" press 2
        step "item4-$lang-$size" press 2
        step "item5-$lang-$size" press 2
        step "reasons-$lang-$size" press 1
        press 1                                 # a reason
        step "callback-offer-$lang-$size" press Return
        step "callback-number-$lang-$size" press 1
        press 1 3 9 1 2 3 4 5 6 7 8 8 BackSpace # one too many, deleted
        shot "$SHOTS/callback-number-typed-$lang-$size.png"
        press Escape                            # back to the offer, and in again
        step "callback-number-$lang-$size" press 1
        step "thankyou-$lang-$size" press Return
        n=$((n + 1))
        step "attract-zh-CN-$size" press Return
    done
    stop_kiosk

    local csv json
    json=$("$KIOSK" export --data-dir "$data" --format jsonl) || die "export failed"
    [[ $(grep -c '"callback_requested":true' <<<"$json") -eq 2 ]] || die "export: want 2 callback requests: $json"
    grep -q callback_contact <<<"$json" && die "export shows the sealed contact"
    csv=$("$KIOSK" export --data-dir "$data" --format csv) || die "export failed"
    head -1 <<<"$csv" | grep -q callback_requested || die "csv has no callback_requested column"
    [[ $(sqlite3 "$data/kiosk.sqlite" "SELECT COUNT(*) FROM callback_contacts") -eq 2 ]] || die "want 2 sealed contacts"
    [[ $(sqlite3 "$data/kiosk.sqlite" "SELECT MIN(length(sealed)) FROM callback_contacts") -eq 80 ]] ||
        die "a sealed contact is not base64 of 48 + 11 bytes"
    for f in "$data"/kiosk.sqlite*; do
        if grep -a -q -e 13912345678 -e "139 1234 5678" -e 1234567 "$f"; then die "the typed number is in $f"; fi
    done
    grep -a -q -e 13912345678 -e 1234567 <<<"$json$csv" && die "the typed number is in the export"
    note "$size: 2 callbacks sealed; the number is in no file"
}

if [[ "${1:-}" == "--inside" ]]; then
    shift
    "inside_$1" "${@:2}"
    exit 0
fi

# ---------------------------------------------------------------------------- driver ----

[[ $# -eq 2 ]] || { echo "usage: $0 PATH/segue-kiosk SCREENSHOT_DIR" >&2; exit 2; }
for tool in xvfb-run xdotool sqlite3; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
KIOSK=$(realpath "$1")
SHOTS=$(realpath -m "$2")
[[ -x "$KIOSK" ]] || die "$KIOSK is not an executable"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/segue-callback-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$SHOTS"
# Any 32 bytes make a public key to seal with; the terminal never needs the secret half.
KEY=$(head -c 32 /dev/urandom | base64)
export KIOSK SHOTS WORK KEY

for size in 1280x800 800x480 1080x1920; do
    note "callback flow at $size"
    xvfb-run -a -s "-screen 0 ${size}x24" "$0" --inside tour "$size"
done
missing=0
for size in 1280x800 800x480 1080x1920; do
    for lang in zh-CN en; do
        for screen in callback-offer callback-number callback-number-typed; do
            f="$SHOTS/$screen-$lang-$size.png"
            [[ -s "$f" ]] || { echo "missing screenshot $f" >&2; missing=1; }
        done
    done
done
[[ $missing -eq 0 ]] || die "screenshots missing"
echo "callback e2e: ok"
