#!/usr/bin/env bash
# segue-kiosk built with -DSEGUE_BUILD_UI=OFF (the verbs without a display stack): configures and
# builds it in a second tree, checks that it links no SDL2, GL or ImGui (ldd, nm), that its window
# mode says in one line that it was built without a display (exit 2), and runs the verb tests
# (tests/cli/cli_test.sh) against it.
# Usage: headless_build_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
out=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
jobs=${SEGUE_JOBS:-2}
type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$out")/CMakeCache.txt" 2>/dev/null || true)
cmake -S "$src" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE="${type:-RelWithDebInfo}" -DSEGUE_BUILD_UI=OFF \
  -DSEGUE_BUILD_HQ=OFF -DSEGUE_BUILD_TESTS=OFF -DSEGUE_BUILD_BENCH=OFF -DSEGUE_WERROR=ON >"$out.configure.log" 2>&1 ||
  { cat "$out.configure.log" >&2; fail "configure"; }
grep -Eq '^(SDL2_DIR|IMGUI_[A-Z_]+|OPENGL_[A-Za-z_]+):' "$out/CMakeCache.txt" && fail "the UI-less tree looked for SDL2, OpenGL or ImGui"
cmake --build "$out" -j "$jobs" --target segue-kiosk
kiosk=$out/bin/segue-kiosk
[ -x "$kiosk" ] || fail "no $kiosk"

# No display stack: not among the shared libraries, and no SDL or ImGui code linked in statically.
libs=$(ldd "$kiosk")
grep -Eiq 'libsqlite3' <<<"$libs" || fail "ldd does not list libsqlite3 (is ldd working?): $libs"
if grep -Ei 'sdl|libGL|libEGL|libOpenGL|imgui|libX11|wayland' <<<"$libs"; then fail "links a display library"; fi
syms=$(nm -C "$kiosk")
grep -q 'segue::app::runCli' <<<"$syms" || fail "nm does not see segue::app::runCli (stripped?)"
if grep -E '\bSDL_|ImGui::|ImGui_Impl|\bgl[A-Z][a-zA-Z]+\b' <<<"$syms" >"$out.display-symbols"; then
  head -5 "$out.display-symbols" >&2
  fail "SDL, ImGui or GL symbols in the binary"
fi

# The window mode: one line on stderr, exit 2.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$kiosk" --print-default-config >"$tmp/kiosk.toml"
set +e; "$kiosk" --config "$tmp/kiosk.toml" --data-dir "$tmp/data" --window 640x480 >"$tmp/out" 2>"$tmp/err"; code=$?; set -e
[ "$code" -eq 2 ] || fail "window mode: exit $code, expected 2: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "window mode: not one line: $(cat "$tmp/err")"
grep -q "built without a display" "$tmp/err" || fail "window mode: $(cat "$tmp/err")"

# Every verb test.
"$src/tests/cli/cli_test.sh" "$kiosk"
echo "headless segue-kiosk: no SDL/GL/ImGui, verbs pass"
