#!/usr/bin/env bash
# The segue-kiosk verbs as other programs use them: exit codes, JSON keys, CSV header, and
# stats agreeing with the exported rows. Real binary, real SQLite file.
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
grep -q "segue-kiosk stats" "$tmp/out" || fail "--help does not list stats"
expect_exit 0 "$kiosk" --version
grep -Eq '^segue-kiosk [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || fail "--version: $(cat "$tmp/out")"
expect_exit 0 "$kiosk" --print-default-config
cp "$tmp/out" "$tmp/default.toml"
expect_exit 0 "$kiosk" stats --config "$tmp/default.toml" --data-dir "$tmp/d0" --json

# Usage and config errors: exit 2 with a one-line reason.
expect_exit 2 "$kiosk" --bogus
expect_exit 2 "$kiosk" frobnicate
expect_exit 2 "$kiosk" stats --date 2026-02-30 --data-dir "$tmp/d0"
expect_exit 2 "$kiosk" export --data-dir "$tmp/d0"
expect_exit 2 "$kiosk" export --format xml --data-dir "$tmp/d0"
expect_exit 2 "$kiosk" demo-data --count abc --data-dir "$tmp/d0"
expect_exit 2 "$kiosk" demo-data --data-dir "$tmp/d0"
printf '[kiosk]\nlanguage = "fr"\n' > "$tmp/bad.toml"
expect_exit 2 "$kiosk" stats --config "$tmp/bad.toml" --data-dir "$tmp/d0"
grep -q "bad.toml:2:" "$tmp/err" || fail "config error lacks file:line: $(cat "$tmp/err")"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "config error is not one line"
expect_exit 2 "$kiosk" --config "$tmp/missing.toml" stats

# demo-data, then stats and export must agree.
data="$tmp/data"
expect_exit 0 "$kiosk" demo-data --data-dir "$data" --count 3000 --days 7
expect_exit 0 "$kiosk" export --data-dir "$data" --format jsonl
[ "$(wc -l < "$tmp/out")" -eq 3000 ] || fail "jsonl export has $(wc -l < "$tmp/out") lines, want 3000"
cp "$tmp/out" "$tmp/all.jsonl"
jq -e 'select(.synthetic != true)' "$tmp/all.jsonl" >/dev/null && fail "demo-data rows not marked synthetic"
day=$(jq -r .local_date "$tmp/all.jsonl" | sort | uniq -c | sort -rn | head -1 | awk '{print $2}')
expect_exit 0 "$kiosk" stats --data-dir "$data" --date "$day" --json
stats="$tmp/out"
for key in date responses mean_stars csat segue partial misuse pending_sync by_hour tags; do
  jq -e "has(\"$key\")" "$stats" >/dev/null || fail "stats --json lacks $key"
done
for key in satisfactory efficient genuine understanding effective; do
  jq -e ".segue | has(\"$key\")" "$stats" >/dev/null || fail "stats segue lacks $key"
done
want_responses=$(jq -s --arg d "$day" '[.[] | select(.local_date == $d and (.misuse | not))] | length' "$tmp/all.jsonl")
want_misuse=$(jq -s --arg d "$day" '[.[] | select(.local_date == $d and .misuse)] | length' "$tmp/all.jsonl")
want_happy=$(jq -s --arg d "$day" '[.[] | select(.local_date == $d and (.misuse | not) and .stars >= 4)] | length' "$tmp/all.jsonl")
[ "$(jq .responses "$stats")" -eq "$want_responses" ] || fail "responses $(jq .responses "$stats") != $want_responses"
[ "$(jq .misuse "$stats")" -eq "$want_misuse" ] || fail "misuse mismatch"
[ "$(jq '.by_hour | add' "$stats")" -eq "$want_responses" ] || fail "by_hour does not add up"
[ "$(jq .pending_sync "$stats")" -eq 3000 ] || fail "pending_sync $(jq .pending_sync "$stats") != 3000"
jq -e --argjson h "$want_happy" --argjson n "$want_responses" '(.csat - ($h / $n)) | fabs < 1e-9' "$stats" >/dev/null \
  || fail "csat $(jq .csat "$stats") != $want_happy/$want_responses"
expect_exit 0 "$kiosk" stats --data-dir "$data" --date 2001-01-01 --json
jq -e '.responses == 0 and .csat == null and .mean_stars == null and .segue.genuine == null' "$tmp/out" >/dev/null \
  || fail "empty day: $(cat "$tmp/out")"

expect_exit 0 "$kiosk" export --data-dir "$data" --format csv --from "$day" --to "$day"
head -1 "$tmp/out" | grep -q '^id,' || fail "CSV header does not start with id"
for col in segue_satisfactory segue_efficient segue_genuine segue_understanding segue_effective tags; do
  head -1 "$tmp/out" | tr ',' '\n' | grep -qx "$col" || fail "CSV lacks column $col"
done
rows=$(( $(wc -l < "$tmp/out") - 1 ))
want_rows=$(jq -s --arg d "$day" '[.[] | select(.local_date == $d)] | length' "$tmp/all.jsonl")
[ "$rows" -eq "$want_rows" ] || fail "CSV has $rows rows for $day, want $want_rows"

# CSV injection: a text cell that begins with = + - @ tab or CR gets a leading ' (OWASP), numbers
# never (-300 stays a number). The row is written straight into SQLite, as a tampered or buggy
# terminal database could hold it.
command -v sqlite3 >/dev/null || fail "sqlite3 is needed (scripts/setup installs it)"
inject="$tmp/inject"
expect_exit 0 "$kiosk" demo-data --data-dir "$inject" --count 1
sqlite3 "$inject/kiosk.sqlite" "INSERT INTO responses (id, store_id, device_id, survey_id, survey_version,
  language, created_at_ms, local_date, local_hour, utc_offset_min, stars, segue_satisfactory, segue_efficient,
  segue_genuine, segue_understanding, segue_effective, complete, misuse, synthetic, duration_ms)
  VALUES ('=1+1', '+store', '-kiosk', '@survey', 1, char(9) || 'en', 1795000000000, char(13) || '026-11-22', 3,
  -300, 4, 5, NULL, 3, 1, 4, 1, 0, 0, 6400);
  INSERT INTO response_tags (response_id, position, tag) VALUES ('=1+1', 0, '-tag'), ('=1+1', 1, '=x');"
expect_exit 0 "$kiosk" export --data-dir "$inject" --format csv
want_row=$(printf "'=1+1,'+store,'-kiosk,'@survey,1,'\ten,2026-11-18T11:06:40.000Z,\"'\r026-11-22\",3,-300,4,5,,3,1,4,'-tag|=x,true,false,false,6400,false\r")
got_row=$(grep -a "^'=1+1," "$tmp/out") || fail "the injected row is not in the CSV export"
[ "$got_row" = "$want_row" ] || fail "CSV injection row: $(printf '%s' "$got_row" | od -c | head -5)"
[ "$(grep -ac "^'" "$tmp/out")" -eq 1 ] || fail "a demo row was prefixed"

# set-pin from standard input: only a hash is stored.
echo 123 | expect_exit 2 "$kiosk" set-pin --data-dir "$data"
echo 4321 | "$kiosk" set-pin --data-dir "$data" 2>/dev/null || fail "set-pin refused 4321"
if command -v sqlite3 >/dev/null; then
  hash=$(sqlite3 "$data/kiosk.sqlite" "select value from meta where key='staff_pin_hash'")
  case "$hash" in '$argon2id$'*) ;; *) fail "PIN is not stored as an Argon2id hash: $hash";; esac
  sqlite3 "$data/kiosk.sqlite" "select value from meta" | grep -qx 4321 && fail "PIN stored in clear"
fi
# A damaged database: the commands report it and exit 1, and none of them moves or changes the
# file (the terminal may have it open); the terminal itself moves it aside when it starts.
same_file() {  # same_file DIR SUM: the file is there, unchanged, and nothing was moved aside
  [ "$(sha256sum < "$1/kiosk.sqlite")" = "$2" ] || fail "a command changed the damaged file in $1"
  if ls "$1" | grep -q corrupt; then fail "a command moved the damaged file aside in $1"; fi
}
bad="$tmp/bad"
mkdir -p "$bad"
head -c 65536 /dev/urandom >"$bad/kiosk.sqlite"
sum=$(sha256sum < "$bad/kiosk.sqlite")
for verb in "stats" "export --format csv" "sync status" "demo-data --count 1"; do
  # shellcheck disable=SC2086
  expect_exit 1 "$kiosk" $verb --data-dir "$bad"
  grep -q "moves a damaged database aside" "$tmp/err" || fail "$verb on a damaged file: $(cat "$tmp/err")"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$verb: the error is not one line"
  same_file "$bad" "$sum"
done
echo 4321 | expect_exit 1 "$kiosk" set-pin --data-dir "$bad"
same_file "$bad" "$sum"

# Damage deep in a file whose header and schema read fine: a command that writes runs the
# whole-file check and refuses; one that reads answers or fails on the damaged page, and neither
# moves the file.
deep="$tmp/deep"
expect_exit 0 "$kiosk" demo-data --data-dir "$deep" --count 3000 --days 7
pages=$(( $(stat -c %s "$deep/kiosk.sqlite") / 4096 ))
[ "$pages" -gt 8 ] || fail "the demo database has only $pages pages"
for p in $(seq $(( pages / 2 )) $(( pages / 2 + 3 ))); do
  head -c 4096 /dev/urandom | dd of="$deep/kiosk.sqlite" bs=4096 seek="$p" conv=notrunc status=none
done
sum=$(sha256sum < "$deep/kiosk.sqlite")
expect_exit 1 "$kiosk" demo-data --data-dir "$deep" --count 1
grep -q "failed its check" "$tmp/err" || fail "demo-data on deep damage: $(cat "$tmp/err")"
same_file "$deep" "$sum"
set +e; "$kiosk" export --data-dir "$deep" --format jsonl >/dev/null 2>"$tmp/err"; got=$?; set -e
[ "$got" -eq 0 ] || [ "$got" -eq 1 ] || fail "export on deep damage exited $got"
[ "$got" -eq 0 ] || grep -q "export failed" "$tmp/err" || fail "export on deep damage: $(cat "$tmp/err")"
same_file "$deep" "$sum"
# set-pin: 4-8 digits; fewer than 6 are taken with a warning that they are weak.
pins="$tmp/pins"
echo 1234 | expect_exit 0 "$kiosk" set-pin --data-dir "$pins"
grep -q "4 digits is weak" "$tmp/err" || fail "set-pin 1234 did not warn: $(cat "$tmp/err")"
for pin in 123456 1234567 12345678; do
  echo "$pin" | expect_exit 0 "$kiosk" set-pin --data-dir "$pins"
  grep -q "weak" "$tmp/err" && fail "set-pin $pin warned: $(cat "$tmp/err")"
done
echo 123456789 | expect_exit 2 "$kiosk" set-pin --data-dir "$pins"
grep -q "4 to 8 digits" "$tmp/err" || fail "set-pin 123456789: $(cat "$tmp/err")"

# File modes: the data directory a verb makes is 0700 and every file in it 0600; a wider
# directory and files are tightened by the next verb, with a line in kiosk.log, and nothing on
# stderr (a command's stderr belongs to its caller).
mode() { stat -c %a "$1"; }
all_private() {  # all_private DIR
  [ "$(mode "$1")" = 700 ] || fail "$1 has mode $(mode "$1"), want 700"
  for f in "$1"/*; do [ "$(mode "$f")" = 600 ] || fail "$f has mode $(mode "$f"), want 600"; done
}
fresh="$tmp/fresh/data"
expect_exit 0 "$kiosk" demo-data --data-dir "$fresh" --count 10
all_private "$fresh"
[ -e "$fresh/kiosk.sqlite" ] || fail "demo-data made no kiosk.sqlite"
wide="$tmp/wide"
expect_exit 0 "$kiosk" demo-data --data-dir "$wide" --count 10
chmod 755 "$wide"
chmod 644 "$wide"/*
expect_exit 0 "$kiosk" stats --data-dir "$wide" --json
all_private "$wide"
[ ! -s "$tmp/err" ] || fail "stats wrote to stderr: $(cat "$tmp/err")"
grep -q "tightened permissions.*$wide: 0755 -> 0700" "$wide/kiosk.log" || fail "kiosk.log: $(cat "$wide/kiosk.log")"
grep -q "$wide/kiosk.sqlite: 0644 -> 0600" "$wide/kiosk.log" || fail "kiosk.log: $(cat "$wide/kiosk.log")"
chmod 750 "$wide"
echo 654321 | expect_exit 0 "$kiosk" set-pin --data-dir "$wide"
all_private "$wide"

# A config file holding the sync token must be owner-only for the commands that send it (the
# terminal and sync --once): exit 2, naming the file and the chmod to run.
tok="$tmp/token.toml"
printf '[sync]\nenabled = true\nserver_url = "https://127.0.0.1:9"\ntoken = "secret-token"\n' >"$tok"
for m in 644 640 604 660; do
  chmod "$m" "$tok"
  expect_exit 2 "$kiosk" sync --once --config "$tok" --data-dir "$fresh"
  grep -q "chmod 600 $tok" "$tmp/err" || fail "mode $m: $(cat "$tmp/err")"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "mode $m: the refusal is not one line"
done
chmod 644 "$tok"
expect_exit 2 "$kiosk" --config "$tok" --data-dir "$fresh" --window 640x480   # refused before any window
grep -q "$tok holds the sync token.*mode 0644.*chmod 600 $tok" "$tmp/err" || fail "terminal: $(cat "$tmp/err")"
# With the flag it goes on (nothing listens on port 9: HQ offline, exit 3); owner-only is fine.
expect_exit 3 "$kiosk" sync --once --allow-insecure-config-permissions --config "$tok" --data-dir "$fresh"
chmod 600 "$tok"
expect_exit 3 "$kiosk" sync --once --config "$tok" --data-dir "$fresh"
chmod 700 "$tok"
expect_exit 3 "$kiosk" sync --once --config "$tok" --data-dir "$fresh"
# Commands that do not send the token read such a file as before; so does every command a
# file without a token.
chmod 644 "$tok"
expect_exit 0 "$kiosk" stats --config "$tok" --data-dir "$fresh" --json
expect_exit 0 "$kiosk" sync status --config "$tok" --data-dir "$fresh"
printf '[kiosk]\nstore_id = "s1"\n\n[sync]\nenabled = false\nserver_url = "https://127.0.0.1:9"\n' >"$tmp/notoken.toml"
chmod 644 "$tmp/notoken.toml"
expect_exit 2 "$kiosk" sync --once --config "$tmp/notoken.toml" --data-dir "$fresh"
grep -q "sync is not configured" "$tmp/err" || fail "a file without a token: $(cat "$tmp/err")"
grep -q chmod "$tmp/err" && fail "a file without a token was refused: $(cat "$tmp/err")"
expect_exit 0 "$kiosk" --help
grep -q -- "--allow-insecure-config-permissions" "$tmp/out" || fail "--help does not mention the flag"
expect_exit 0 "$kiosk" stats --allow-insecure-config-permissions --data-dir "$fresh"
echo "cli_test: all checks passed"
