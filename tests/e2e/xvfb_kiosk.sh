# Shared by the Xvfb end-to-end scripts (sourced, not run): start and stop the real kiosk window,
# press keys with xdotool, and wait for the screens the kiosk captures (SEGUE_SCREENSHOT_DIR):
# it writes "<screen>-<lang>-<W>x<H>.png" each time a screen appears.
# Expects: KIOSK (the segue-kiosk binary), SHOTS (where the kiosk writes its captures); start_hq
# also HQ (the segue-hq binary) and WORK (a scratch directory).

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
# press KEY...: one xdotool key each, PRESS_DELAY (default 0.2 s) apart.
press() { for k in "$@"; do xdotool key "$k"; sleep "${PRESS_DELAY:-0.2}"; done; }
typeDigits() { local d; for d in $(grep -o '[0-9]' <<<"$1"); do press "$d"; done; }
# shot FILE: the whole X screen as a PNG (for states the kiosk does not capture itself).
shot() { sleep 0.5; xwd -root -silent | xwdtopnm 2>/dev/null | pnmtopng >"$1" 2>/dev/null || die "screenshot $1 failed"; }
# await SCREEN: until the kiosk has captured SCREEN (20 s).
await() {
    local i
    for ((i = 0; i < 200; i++)); do
        compgen -G "$SHOTS/$1*.png" >/dev/null && return 0
        sleep 0.1
    done
    die "screen '$1' did not appear within 20 s"
}
# awaitLog TEXT FILE [COUNT]: until FILE holds TEXT at least COUNT times (20 s).
awaitLog() {
    local i want=${3:-1}
    for ((i = 0; i < 200; i++)); do
        [[ $(grep -c "$1" "$2" || true) -ge $want ]] && return 0
        sleep 0.1
    done
    die "'$1' was not logged $want time(s) within 20 s: $(tail -n 20 "$2")"
}
# step SCREEN ACTION...: forget SCREEN's last capture, act, wait until SCREEN shows.
step() {
    local screen=$1; shift
    rm -f "$SHOTS/$screen"*.png
    "$@"
    await "$screen"
}

# start_hq [SERVE ARGS...]: init-demo in $WORK/hq and a segue-hq serving it over HTTPS on a free
# port of 127.0.0.1; sets HQ_PID, DB, URL and READ_TOKEN (the caller's EXIT trap stops HQ_PID).
start_hq() {
    "$HQ" init-demo --dir "$WORK/hq" --port 1 >/dev/null
    DB="sqlite:$WORK/hq/hq.sqlite"
    "$HQ" serve --listen 127.0.0.1:0 --db "$DB" --tls-cert "$WORK/hq/cert.pem" --tls-key "$WORK/hq/key.pem" \
        --port-file "$WORK/port" "$@" >"$WORK/hq.log" 2>&1 &
    HQ_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do [[ -s "$WORK/port" ]] && break; sleep 0.1; done
    [[ -s "$WORK/port" ]] || die "segue-hq did not start: $(cat "$WORK/hq.log")"
    URL="https://127.0.0.1:$(cat "$WORK/port")"
    READ_TOKEN=$(cat "$WORK/hq/read-token.txt")
}
