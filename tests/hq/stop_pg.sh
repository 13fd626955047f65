#!/bin/sh
# Stops the cluster start_pg.sh started in DIR (the directory is left for the caller to remove).
#   usage: stop_pg.sh DIR
set -eu
dir=${1:?usage: stop_pg.sh DIR}
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [ "$(id -u)" = 0 ]; then
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
else
  "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
fi
