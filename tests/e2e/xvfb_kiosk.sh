# Shared by the Xvfb end-to-end scripts (sourced, not run): start and stop the real kiosk window,
# press keys with xdotool, and wait for the screens the kiosk captures (SEGUE_SCREENSHOT_DIR):
# it writes "<screen>-<lang>-<W>x<H>.png" each time a screen appears.
# Expects: KIOSK (the segue-kiosk binary), SHOTS (where the kiosk writes its captures).

die() {
    echo "FAIL: $*" >&2
    [[ -n ${KIOSK_LOG:-} && -f $KIOSK_LOG ]] && { echo "-- the kiosk's log:" >&2; tail -n 25 "$KIOSK_LOG" >&2; }
    exit 1
}
note() { echo "-- $*" >&2; }

# start_kiosk LOG ARGS...: sets KIOSK_PID and KIOSK_WID.
start_kiosk() {
    local log=$1; shift
    KIOSK_LOG=$log
    SEGUE_SCREENSHOT_DIR="$SHOTS" "$KIOSK" "$@" 2>"$log" &
    KIOSK_PID=$!
    KIOSK_WID=$(timeout 20 xdotool search --sync --onlyvisible --name "SEGUE Kiosk" | head -1) ||
        die "no window titled 'SEGUE Kiosk' appeared"
    xdotool windowfocus --sync "$KIOSK_WID" 2>/dev/null || true
    xdotool mousemove --sync 5 5
}
stop_kiosk() {
    kill -TERM "$KIOSK_PID"
    local rc=0
    wait "$KIOSK_PID" || rc=$?
    [[ $rc -eq 0 ]] || die "segue-kiosk exited with $rc after SIGTERM (want a clean 0)"
}
press() { for k in "$@"; do xdotool key "$k"; sleep 0.2; done; }
# await SCREEN: until the kiosk has captured SCREEN (20 s).
await() {
    local i
    for ((i = 0; i < 200; i++)); do
        compgen -G "$SHOTS/$1*.png" >/dev/null && return 0
        sleep 0.1
    done
    die "screen '$1' did not appear within 20 s"
}
# step SCREEN ACTION...: forget SCREEN's last capture, act, wait until SCREEN shows.
step() {
    local screen=$1; shift
    rm -f "$SHOTS/$screen"*.png
    "$@"
    await "$screen"
}
