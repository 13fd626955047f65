#!/usr/bin/env bash
# segue-hq's people verbs as an operator uses them: user, region, store, audit and scoped tokens
# on a real SQLite file; exit codes, one-line reasons, JSON keys, and what the audit log keeps.
set -euo pipefail
hq=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db="sqlite:$tmp/hq.sqlite"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_exit() {  # expect_exit CODE cmd...   (stdin passes through)
  local want=$1; shift
  set +e; "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?; set -e
  [ "$got" -eq "$want" ] || { cat "$tmp/out" "$tmp/err" >&2; fail "exit $got, expected $want: $*"; }
  if [ "$want" -ne 0 ]; then
    [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "not a one-line reason: $(cat "$tmp/err")"
  fi
}
json() { jq -c "$1" "$tmp/out"; }

expect_exit 0 "$hq" --help
for verb in "user add" "user list" "user disable" "user set-password" "region add" "store set" "audit" "token add --db URL --role read \[--region ID | --store ID\]"; do
  grep -q "segue-hq $verb" "$tmp/out" || fail "--help does not list $verb"
done

# A device makes store s1; regions and names come from the operator.
expect_exit 0 "$hq" device add --db "$db" --store s1 --name Till --json
expect_exit 0 "$hq" region add --db "$db" --id east --name "华东 East"
expect_exit 2 "$hq" region add --db "$db" --id east --name again
grep -q "already exists" "$tmp/err" || fail "duplicate region: $(cat "$tmp/err")"
expect_exit 2 "$hq" region add --db "$db" --id "bad id" --name X
expect_exit 2 "$hq" region add --db "$db" --id west
expect_exit 0 "$hq" store set --db "$db" --store s1 --name "浦东 Pudong" --region east
expect_exit 0 "$hq" store set --db "$db" --store s2 --name "Second"
expect_exit 2 "$hq" store set --db "$db" --store s2 --region west
grep -q "no region west" "$tmp/err" || fail "unknown region: $(cat "$tmp/err")"
expect_exit 2 "$hq" store set --db "$db" --store s2
expect_exit 0 "$hq" store list --db "$db" --json
[ "$(json 'length')" = 2 ] || fail "store list: $(cat "$tmp/out")"
[ "$(json '[.[0].region, .[0].name, .[1].region]')" = '["east","浦东 Pudong",null]' ] || fail "store list: $(cat "$tmp/out")"
expect_exit 0 "$hq" region list --db "$db" --json
[ "$(json '[.[0].id, .[0].stores]')" = '["east",1]' ] || fail "region list: $(cat "$tmp/out")"

# Users: the password comes on stdin, never as an argument.
echo "correct horse battery" | expect_exit 0 "$hq" user add --db "$db" --email Admin@Example.com --role admin --password-stdin
echo "correct horse battery" | expect_exit 0 "$hq" user add --db "$db" --email rita@example.com --role region --region east --password-stdin
echo "correct horse battery" | expect_exit 0 "$hq" user add --db "$db" --email sam@example.com --role store --store s1 --password-stdin
echo "correct horse battery" | expect_exit 2 "$hq" user add --db "$db" --email admin@example.com --role viewer --password-stdin
grep -q "already exists" "$tmp/err" || fail "duplicate user: $(cat "$tmp/err")"
echo "short" | expect_exit 2 "$hq" user add --db "$db" --email v@example.com --role viewer --password-stdin
grep -q "at least 10" "$tmp/err" || fail "short password: $(cat "$tmp/err")"
echo "correct horse battery" | expect_exit 2 "$hq" user add --db "$db" --email v@example.com --role region --password-stdin
echo "correct horse battery" | expect_exit 2 "$hq" user add --db "$db" --email v@example.com --role store --store nowhere --password-stdin
grep -q "no store nowhere" "$tmp/err" || fail "unknown store: $(cat "$tmp/err")"
echo "correct horse battery" | expect_exit 2 "$hq" user add --db "$db" --email v@example.com --role viewer --region east --password-stdin
echo "correct horse battery" | expect_exit 2 "$hq" user add --db "$db" --email v@example.com --role owner --password-stdin
expect_exit 2 "$hq" user add --db "$db" --email v@example.com --role viewer --password "correct horse battery"
expect_exit 2 "$hq" user add --db "$db" --email v@example.com --role viewer --password-stdin < /dev/null
expect_exit 0 "$hq" user list --db "$db" --json
[ "$(json '[.[] | [.email, .role, .region, .store, .disabled]]')" = \
  '[["admin@example.com","admin",null,null,false],["rita@example.com","region","east",null,false],["sam@example.com","store",null,"s1",false]]' ] \
  || fail "user list: $(cat "$tmp/out")"
grep -q argon2 "$tmp/out" && fail "user list shows a hash"
sqlite3 "$tmp/hq.sqlite" "SELECT password_hash FROM users" | grep -vq '^\$argon2id\$' && fail "a password is not an Argon2id hash"
sqlite3 "$tmp/hq.sqlite" "SELECT password_hash FROM users" | grep -q "correct horse" && fail "a password is stored in clear"
expect_exit 0 "$hq" user list --db "$db"
grep -q "rita@example.com" "$tmp/out" || fail "user list table"

expect_exit 0 "$hq" user disable --db "$db" SAM@example.com
expect_exit 1 "$hq" user disable --db "$db" nobody@example.com
echo "another long password" | expect_exit 0 "$hq" user set-password --db "$db" rita@example.com --password-stdin
echo "tiny" | expect_exit 2 "$hq" user set-password --db "$db" rita@example.com --password-stdin
echo "another long password" | expect_exit 1 "$hq" user set-password --db "$db" nobody@example.com --password-stdin
expect_exit 0 "$hq" user list --db "$db" --json
[ "$(json '[.[].disabled]')" = '[false,false,true]' ] || fail "disable: $(cat "$tmp/out")"

# Read tokens: as before, or limited to a region or a store.
expect_exit 0 "$hq" token add --db "$db" --role read
[ "$(wc -c < "$tmp/out")" -eq 44 ] || fail "token: $(cat "$tmp/out")"
expect_exit 0 "$hq" token add --db "$db" --role read --region east
expect_exit 0 "$hq" token add --db "$db" --role read --store s2
expect_exit 2 "$hq" token add --db "$db" --role read --region east --store s1
expect_exit 2 "$hq" token add --db "$db" --role read --region west
expect_exit 2 "$hq" token add --db "$db" --role admin
[ "$(sqlite3 "$tmp/hq.sqlite" "SELECT COUNT(*) FROM tokens")" = 3 ] || fail "tokens table"
[ "$(sqlite3 "$tmp/hq.sqlite" "SELECT COUNT(region_id), COUNT(store_id) FROM token_scopes")" = "1|1" ] || fail "token scopes"

# The audit log has every change, and nothing refused.
expect_exit 0 "$hq" audit --db "$db" --json
[ "$(json '[.entries[].action] | reverse')" = \
  '["region_add","store_set","store_set","user_add","user_add","user_add","user_disable","user_password","token_add","token_add","token_add"]' ] \
  || fail "audit: $(cat "$tmp/out")"
[ "$(json '[.entries[-1].actor, .entries[-1].details.name]')" = '["cli","华东 East"]' ] || fail "audit entry: $(cat "$tmp/out")"
expect_exit 0 "$hq" audit --db "$db" --from 2000-01-01 --to 2000-01-02 --json
[ "$(json '.entries | length')" = 0 ] || fail "audit range"
expect_exit 2 "$hq" audit --db "$db" --from 2026-02-30
expect_exit 0 "$hq" audit --db "$db"
grep -q "user_disable" "$tmp/out" || fail "audit table"
expect_exit 2 "$hq" user frobnicate --db "$db"

# A disabled user let in again (with the password they had); the audit log says who did it.
expect_exit 0 "$hq" --help
grep -q "segue-hq user enable --db URL EMAIL" "$tmp/out" || fail "--help does not list user enable"
expect_exit 0 "$hq" user enable --db "$db" SAM@example.com
grep -qi "^enabled sam@example.com" "$tmp/out" || fail "enable: $(cat "$tmp/out")"
expect_exit 1 "$hq" user enable --db "$db" nobody@example.com
expect_exit 2 "$hq" user enable --db "$db"
expect_exit 0 "$hq" user list --db "$db" --json
[ "$(json '[.[].disabled]')" = '[false,false,false]' ] || fail "enable: $(cat "$tmp/out")"
expect_exit 0 "$hq" audit --db "$db" --json
[ "$(json '[.entries[0].action, .entries[0].subject, .entries[0].actor]')" = '["user_enable","sam@example.com","cli"]' ] \
  || fail "audit of enable: $(cat "$tmp/out")"
echo "people CLI: ok"
