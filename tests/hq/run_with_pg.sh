#!/bin/sh
# Runs a command with SEGUE_TEST_PG_URL pointing at a throwaway PostgreSQL 15 cluster, then stops
# and removes the cluster. Exits 77 (ctest: skipped) where PostgreSQL is not installed.
#   usage: run_with_pg.sh COMMAND [ARGS...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$bin/initdb" ] || { echo "run_with_pg.sh: PostgreSQL not installed at $bin; skipped" >&2; exit 77; }

dir=$(mktemp -d /tmp/segue-pg.XXXXXX)
cleanup() {
  "$here/stop_pg.sh" "$dir" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

url=$("$here/start_pg.sh" "$dir") || exit 1
echo "run_with_pg.sh: PostgreSQL at $url" >&2
SEGUE_TEST_PG_URL=$url "$@"
