# Shared by the deploy tests: failing with a reason, bounded waits.
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }
# wait_for SECONDS COMMAND...: polls every 0.1 s, at most SECONDS.
wait_for() {
  local limit=$1; shift
  local i
  for ((i = 0; i < limit * 10; i++)); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  return 1
}
# at_least N FILE PID FIELD [AFTER]: FILE (notify_listen.py's) holds N or more FIELD lines
# from PID after second AFTER (default 0). For wait_for, which re-runs it.
at_least() {
  [ "$(awk -v p="$3" -v f="$4" -v s="${5:-0}" '$2 == p && $3 == f && $1 > s' "$2" | wc -l)" -ge "$1" ]
}
# first_at FILE PID FIELD: the second of PID's first FIELD line.
first_at() { awk -v p="$2" -v f="$3" '$2 == p && $3 == f {print $1; exit}' "$1"; }
