#!/usr/bin/env bash
# The suite must not depend on where the clone sits. A copy of the scripts that start PostgreSQL
# (the test suite's and the benchmarks') in a directory other users cannot enter (mode 0700, as
# root's home): PostgreSQL runs as its own user, so its files must live elsewhere (/tmp).
#   usage: private_clone_pg.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=${1:?usage: private_clone_pg.sh SOURCE_DIR BIN_DIR} bin=${2:?usage: private_clone_pg.sh SOURCE_DIR BIN_DIR}
[ -x /usr/lib/postgresql/15/bin/initdb ] || { echo "private_clone_pg.sh: PostgreSQL not installed; skipped"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "private_clone_pg.sh: needs root (PostgreSQL then runs as postgres); skipped"; exit 77; }

home=$(mktemp -d /tmp/segue-private-home.XXXXXX)
trap 'rm -rf "$home"' EXIT
chmod 700 "$home"
clone="$home/clone"
mkdir -p "$clone/tests" "$clone/bench"
cp -a "$src/tests/hq" "$clone/tests/"
cp -a "$src/bench/run" "$clone/bench/"

# 1. The suite's wrapper: a cluster it can reach, a query through the URL it hands over.
answer=$(cd "$clone" && tests/hq/run_with_pg.sh sh -c 'psql "$SEGUE_TEST_PG_URL" -Atc "select 6*7"')
[ "$answer" = 42 ] || { echo "FAIL: run_with_pg.sh from a private clone answered '$answer'"; exit 1; }
echo "ok: run_with_pg.sh from a 0700 directory"

# 2. The benchmarks' PostgreSQL rows (bench_quick's part that failed from root's home).
out="$clone/build/bench-quick"
if ! "$clone/bench/run" --quick --only 6,7 --bin-dir "$bin" --out "$out" >"$home/bench.log" 2>&1; then
  echo "FAIL: bench/run --quick --only 6,7 from a private clone:"; tail -n 30 "$home/bench.log"; exit 1
fi
for n in hq_fleet_postgresql hq_read_daily_postgresql hq_read_overview_postgresql; do
  jq -se --arg n "$n" 'map(select(.name == $n)) | length == 1 and (.[0] | has("error") | not)' \
    "$out/rows.jsonl" >/dev/null ||
    { echo "FAIL: $n has no row, or an error:"; cat "$out/rows.jsonl"; exit 1; }
done
echo "ok: bench/run's PostgreSQL benchmarks from a 0700 directory"
echo "2 passed, 0 failed"
