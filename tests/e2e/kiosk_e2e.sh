#!/usr/bin/env bash
# End to end: the real segue-kiosk under Xvfb, driven by xdotool clicks and keys, checked
# through `segue-kiosk stats --json` and `export`; then a tour of every screen, in both
# languages, at 800x480, 1280x800 and 1080x1920, written as PNGs under the build directory.
#
#   kiosk_e2e.sh BUILD/bin/segue-kiosk BUILD/screenshots
#
# Exit 77 (skipped) only when xvfb-run or xdotool is missing.
set -euo pipefail

PIN=2468

die() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*" >&2; }

# ---------------------------------------------------------------- inside the X server ----

# Starts the kiosk; sets KIOSK_PID and KIOSK_WID. Screenshots go to $KIOSK_SHOTS.
start_kiosk() {
    local log=$1; shift
    SEGUE_SCREENSHOT_DIR="$KIOSK_SHOTS" "$BIN" "$@" 2>"$log" &
    KIOSK_PID=$!
    KIOSK_WID=$(timeout 20 xdotool search --sync --onlyvisible --name "SEGUE Kiosk" | head -1) ||
        { cat "$log" >&2; die "no window titled 'SEGUE Kiosk' appeared"; }
    # No window manager: give the window the keyboard and put the pointer over it.
    xdotool windowfocus --sync "$KIOSK_WID" 2>/dev/null || true
    xdotool mousemove --sync 5 5
}

stop_kiosk() {
    kill -TERM "$KIOSK_PID"
    local rc=0
    wait "$KIOSK_PID" || rc=$?
    [[ $rc -eq 0 ]] || die "segue-kiosk exited with $rc after SIGTERM (want a clean 0)"
}

click() { xdotool mousemove --sync "$1" "$2" click 1; sleep 0.3; }
# The whole X screen as a PNG (for states the kiosk does not capture itself, e.g. a locked pad).
shot() { sleep 0.5; xwd -root -silent | xwdtopnm 2>/dev/null | pnmtopng >"$1" 2>/dev/null || die "screenshot $1 failed"; }
press() { for k in "$@"; do xdotool key "$k"; sleep 0.3; done; }

# The kiosk writes "<screen>-<lang>-<W>x<H>.png" when a screen appears: waiting for that file
# keeps the script in step with the terminal however slow the machine is.
await() {
    local i
    for ((i = 0; i < 200; i++)); do
        compgen -G "$KIOSK_SHOTS/$1*.png" >/dev/null && return 0
        sleep 0.1
    done
    die "screen '$1' did not appear within 20 s"
}
# awaitLog TEXT FILE: wait (up to 20 s) until the kiosk has logged TEXT.
awaitLog() {
    local i
    for ((i = 0; i < 200; i++)); do
        grep -q "$1" "$2" && return 0
        sleep 0.1
    done
    die "'$1' was not logged within 20 s: $(cat "$2")"
}
# step SCREEN ACTION...: forget SCREEN's last capture, act, wait until SCREEN shows.
step() {
    local screen=$1; shift
    rm -f "$KIOSK_SHOTS/$screen"*.png
    "$@"
    await "$screen"
}

# A field of the compact JSON object `stats --json` prints (numbers, null, strings).
field() { grep -o "\"$2\":[^,}]*" <<<"$1" | head -1 | cut -d: -f2-; }
expect() {
    local got
    got=$(field "$1" "$2")
    [[ "$got" == "$3" ]] || die "stats: $2 is '$got', expected '$3' in $1"
}
expect_prefix() {
    local got
    got=$(field "$1" "$2")
    [[ "$got" == "$3"* ]] || die "stats: $2 is '$got', expected it to start with '$3' in $1"
}

# Customers tapping at 1280x800 (coordinates of the layout at that size), plus keys.
inside_flow() {
    local data=$WORK/flow config=$WORK/flow.toml
    KIOSK_SHOTS=$WORK/flow-shots
    printf '[kiosk]\ninactivity_timeout_s = 5\n' >"$config"
    echo "$PIN" | "$BIN" set-pin --config "$config" --data-dir "$data" 2>/dev/null || die "set-pin failed"
    start_kiosk "$WORK/flow.log" --config "$config" --data-dir "$data" --window 1280x800
    await attract-zh-CN

    # Stars at y=470, options at y=437, x = 142 391 640 889 1138; Skip/Submit/Back at y=728;
    # reason chips 2x3 at x = 328 | 952, y = 313 | 453 | 593; EN at (1203, 61).
    local -a col=(0 142 391 640 889 1138)
    note "customer 1: taps, 2 stars, four answers and a skip, two reasons"
    step item1 click "${col[2]}" 470           # ★★
    step item2 click "${col[4]}" 437           # satisfactory: 4
    step item3 click "${col[5]}" 437           # efficient: 5
    step item4 click 1024 728                  # genuine: skipped
    step item5 click "${col[3]}" 437           # understanding: 3
    step reasons click "${col[1]}" 437         # effective: 1 → reasons
    click 328 313                              # wait_time (first chip)
    click 952 453                              # unclear (fourth chip: right column, second row)
    rm -f "$KIOSK_SHOTS"/attract*.png
    step thankyou click 1184 728               # Done
    await attract                              # back by itself after 3 s
    sleep 2.5                                  # past the 5 s misuse window

    note "customer 2: keys, 5 stars, Enter"
    step item1 press 5
    step thankyou press Return
    note "customer 3: right after, flagged misuse"
    step attract press Return
    step item1 press 1
    step reasons press Return
    step thankyou press Return
    step attract press Return
    sleep 5.5                                  # past the misuse window again
    note "customer 4: English, walks away after one answer (partial)"
    step attract-en click 1203 61
    step item1-en click "${col[4]}" 470        # ★★★★
    step item2-en press 5                      # satisfactory: 5
    step attract-zh-CN sleep 0.1               # 5 s without input: kept as partial, reset
    note "staff: 3 s press on the corner, PIN"
    step pinpad xdotool mousemove --sync 30 30 mousedown 1 sleep 3.5 mouseup 1
    step staff press ${PIN//?/& } Return
    sleep 1
    step attract press Escape
    note "staff: five wrong PINs lock the pad, in both languages, and the lock outlives a restart"
    step pinpad press F10
    for _ in 1 2 3 4 5; do press 1 3 5 7 9 0 Return; done
    awaitLog "the PIN pad is locked for 60 s" "$WORK/flow.log"
    shot "$SHOTS/pinpad-locked-zh-CN.png"   # not *-SIZE.png: the tour clears those
    step attract press Escape
    step attract-en press l
    step pinpad-en press F10
    shot "$SHOTS/pinpad-locked-en.png"
    step attract-zh-CN press Escape
    stop_kiosk
    rm -f "$KIOSK_SHOTS"/attract*.png
    start_kiosk "$WORK/flow-restart.log" --config "$config" --data-dir "$data" --window 1280x800
    await attract-zh-CN
    step pinpad press F10
    awaitLog "the staff PIN pad stays locked for" "$WORK/flow-restart.log"
    press ${PIN//?/& } Return
    sleep 1
    grep -q "staff screen opened" "$WORK/flow-restart.log" && die "the right PIN was taken while locked"
    step attract press Escape
    stop_kiosk

    note "files: the data directory 0700, every file in it 0600 (its config, without a token, may be 0644)"
    [[ $(stat -c %a "$data") == 700 ]] || die "data directory mode $(stat -c %a "$data")"
    for f in "$data"/*; do [[ $(stat -c %a "$f") == 600 ]] || die "$f has mode $(stat -c %a "$f")"; done
    [[ -s "$data/kiosk.log" ]] || die "no kiosk.log in $data"

    grep -q "staff screen opened" "$WORK/flow.log" || die "the staff screen did not open: $(cat "$WORK/flow.log")"
    note "$(grep -o 'first frame.*' "$WORK/flow.log")"

    local stats
    stats=$("$BIN" stats --config "$config" --data-dir "$data" --json) || die "stats failed"
    note "stats: $stats"
    expect "$stats" responses 3
    expect "$stats" misuse 1
    expect "$stats" partial 1
    expect_prefix "$stats" mean_stars 3.66
    expect_prefix "$stats" csat 0.66
    expect "$stats" satisfactory 4.5
    expect "$stats" efficient 5.0
    expect "$stats" genuine null
    expect "$stats" understanding 3.0
    expect "$stats" effective 1.0
    expect "$stats" wait_time 1
    expect "$stats" unclear 1
    expect "$stats" pending_sync 4
    local rows
    rows=$("$BIN" export --data-dir "$data" --format jsonl) || die "export failed"
    [[ $(wc -l <<<"$rows") -eq 4 ]] || die "export: expected 4 rows, got: $rows"
    grep -q '"language":"en"' <<<"$rows" || die "export: the English response is not recorded as en"
    grep '"language":"en"' <<<"$rows" | grep -q '"complete":false' || die "export: the partial is not marked incomplete"
}

# Every screen in both languages at the current size, by keys.
inside_tour() {
    local size=$1 data=$WORK/tour-$1 config=$WORK/tour.toml lang
    KIOSK_SHOTS=$SHOTS
    # A month of synthetic history for the staff charts, and sync switched on against a
    # loopback port nobody listens on, so the sync panel shows its offline state.
    printf '[sync]\nenabled = true\nserver_url = "https://127.0.0.1:9"\ntoken = "e2e-token"\n' >"$config"
    chmod 600 "$config"   # it holds a token: the terminal refuses it readable by others
    "$BIN" demo-data --data-dir "$data" --count 3000 --days 30 >/dev/null 2>&1 || die "demo-data failed"
    echo "$PIN" | "$BIN" set-pin --data-dir "$data" 2>/dev/null || die "set-pin failed"
    rm -f "$SHOTS"/*-"$size".png
    start_kiosk "$WORK/tour-$size.log" --config "$config" --data-dir "$data" --window "$size"
    await "attract-zh-CN-$size"
    for lang in zh-CN en; do
        [[ $lang == en ]] && step "attract-en-$size" press l
        step "item1-$lang-$size" press 3        # three stars
        step "item2-$lang-$size" press 4
        step "item3-$lang-$size" press 4
        step "item4-$lang-$size" press 4
        step "item5-$lang-$size" press 4
        step "reasons-$lang-$size" press 4      # three stars ask for reasons
        press 1 3                               # two of them
        step "thankyou-$lang-$size" press Return
        step "attract-zh-CN-$size" press Return # the next customer starts in the default language
    done
    step "pinpad-zh-CN-$size" press F10
    step "staff-zh-CN-$size" press ${PIN//?/& } Return
    sleep 1
    step "staff-en-$size" press l
    sleep 1
    step "attract-zh-CN-$size" press Escape
    step "attract-en-$size" press l
    step "pinpad-en-$size" press F10
    step "attract-zh-CN-$size" press Escape
    stop_kiosk

    # The calm unavailable screen: a data directory that cannot be created.
    : >"$WORK/blocker"
    printf '[kiosk]\nlanguage = "en"\n' >"$WORK/en.toml"
    start_kiosk "$WORK/unavailable-zh-$size.log" --data-dir "$WORK/blocker/data" --window "$size"
    await "unavailable-zh-CN-$size"
    stop_kiosk
    start_kiosk "$WORK/unavailable-en-$size.log" --config "$WORK/en.toml" --data-dir "$WORK/blocker/data" --window "$size"
    await "unavailable-en-$size"
    stop_kiosk
    rm -f "$WORK/blocker"
}

if [[ "${1:-}" == "--inside" ]]; then
    shift
    "inside_$1" "${@:2}"
    exit 0
fi

# ---------------------------------------------------------------------------- driver ----

[[ $# -eq 2 ]] || { echo "usage: $0 PATH/segue-kiosk SCREENSHOT_DIR" >&2; exit 2; }
for tool in xvfb-run xdotool; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (apt-get install xvfb xdotool)"; exit 77; }
done
BIN=$(realpath "$1")
SHOTS=$(realpath -m "$2")
[[ -x "$BIN" ]] || die "$BIN is not an executable"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/segue-kiosk-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
export BIN SHOTS WORK

note "customer flow at 1280x800"
xvfb-run -a -s "-screen 0 1280x800x24" "$0" --inside flow
for size in 1280x800 800x480 1080x1920; do
    note "screen tour at $size"
    xvfb-run -a -s "-screen 0 ${size}x24" "$0" --inside tour "$size"
done

missing=0
for size in 1280x800 800x480 1080x1920; do
    for lang in zh-CN en; do
        for screen in attract item1 item2 item3 item4 item5 reasons thankyou pinpad staff unavailable; do
            f="$SHOTS/$screen-$lang-$size.png"
            [[ -s "$f" ]] || { echo "missing screenshot $f" >&2; missing=1; }
        done
    done
done
for lang in zh-CN en; do
    [[ -s "$SHOTS/pinpad-locked-$lang.png" ]] || { echo "missing screenshot $SHOTS/pinpad-locked-$lang.png" >&2; missing=1; }
done
[[ $missing -eq 0 ]] || die "screenshots missing"
echo "PASS: rows checked through stats/export; $(ls "$SHOTS" | wc -l) screenshots in $SHOTS"
