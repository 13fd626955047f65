#!/usr/bin/env bash
# Measures segue-kiosk on its idle attract screen under Xvfb: CPU over a quiet interval (the
# goal is under 1% of one core) and start-to-first-frame from its log. A measurement, not a
# test: it prints figures and never fails on them.
#
#   kiosk_idle_cpu.sh BUILD/bin/segue-kiosk [SECONDS=30] [WxH=1280x800]
set -euo pipefail

if [[ "${1:-}" == "--inside" ]]; then
    bin=$2 seconds=$3 size=$4 dir=$5
    "$bin" --data-dir "$dir/data" --window "$size" 2>"$dir/kiosk.log" &
    pid=$!
    timeout 20 xdotool search --sync --onlyvisible --name "SEGUE Kiosk" >/dev/null
    sleep 2   # let start-up work finish
    tck=$(getconf CLK_TCK)
    read -r -a a <"/proc/$pid/stat"
    t0=$((a[13] + a[14])); s0=$(date +%s%N)
    sleep "$seconds"
    read -r -a b <"/proc/$pid/stat"
    t1=$((b[13] + b[14])); s1=$(date +%s%N)
    kill -TERM "$pid"
    wait "$pid"
    awk -v t="$((t1 - t0))" -v hz="$tck" -v ns="$((s1 - s0))" \
        'BEGIN { printf "idle attract screen: %.2f%% of one core (%d ticks of 1/%d s in %.1f s)\n", 100 * t / hz / (ns / 1e9), t, hz, ns / 1e9 }'
    grep -o 'first frame [0-9]* ms after start.*' "$dir/kiosk.log" || true
    exit 0
fi

bin=$(realpath "$1") seconds=${2:-30} size=${3:-1280x800}
for tool in xvfb-run xdotool; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/segue-kiosk-idle.XXXXXX")
trap 'rm -rf "$dir"' EXIT
xvfb-run -a -s "-screen 0 ${size}x24" "$0" --inside "$bin" "$seconds" "$size" "$dir"
