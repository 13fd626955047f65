#!/bin/sh
# Starts a throwaway PostgreSQL 15 cluster in DIR, listening on 127.0.0.1 at a free port, and
# prints its URL (also written to DIR/url). Stop it with stop_pg.sh DIR. For tests only: trust
# authentication, fsync off.
#   usage: start_pg.sh DIR
set -eu
dir=${1:?usage: start_pg.sh DIR}
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$bin/initdb" ] || { echo "start_pg.sh: no PostgreSQL at $bin" >&2; exit 77; }

mkdir -p "$dir"
# initdb refuses to run as root: run the server as the postgres user then.
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
  as() { runuser -u postgres -- "$@"; }
  # Every directory above DIR must be enterable by postgres (a clone under root's 0700 home is
  # not): say so instead of initdb's bare "Permission denied".
  as test -x "$dir" -a -w "$dir" ||
    { echo "start_pg.sh: the postgres user cannot enter $dir (a parent directory is private); use a directory under /tmp" >&2; exit 1; }
else
  as() { "$@"; }
fi

as "$bin/initdb" -D "$dir/data" -A trust -U segue -E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }

# A random port; another run may hold it, so retry a few times.
tries=0
while :; do
  port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
  if as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
       -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null 2>&1; then
    break
  fi
  tries=$((tries + 1))
  if [ "$tries" -ge 8 ]; then
    echo "start_pg.sh: the server did not start; last log lines:" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    exit 1
  fi
done

url="postgresql://segue@127.0.0.1:$port/postgres"
echo "$url" >"$dir/url"
echo "$url"
