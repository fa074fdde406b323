#!/usr/bin/env bash
# make bench-compare: the same scenarios against Parley (embedded store) and
# Prosody, one after another on this machine, on loopback. Writes
# docs/bench/compare.json and prints the markdown table (also appended to
# docs/benchmarks.md by hand). Every server is started here and stopped by
# its PID. Bounded: USERS (default 2,000) sessions, CHAT_USERS (1,000) users
# sending one message per second for DURATION (60s).
set -euo pipefail
cd "$(dirname "$0")/../.."
USERS=${USERS:-2000}
CHAT_USERS=${CHAT_USERS:-1000}
DURATION=${DURATION:-60s}
make build >/dev/null
BIN=$PWD/bin/parley
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

run() { # label addr user-pattern first pid
  "$BIN" bench connect --addr "$2" --transport tcp --users "$USERS" --user "$3" --first "$4" --password bench-password \
    --workers 32 --hold 5s --label "$1" --pid "$5" --json "$work/$1-connect.json"
  "$BIN" bench chat --addr "$2" --transport tcp --users "$CHAT_USERS" --user "$3" --first "$4" --password bench-password \
    --interval 1s --duration "$DURATION" --size 64 --label "$1" --pid "$5" --json "$work/$1-chat.json"
}

echo "== parley"
"$BIN" serve --data "$work/parley" --c2s-addr 127.0.0.1:25222 --c2s-tls-addr "" --ws-addr "" --http-addr "" \
  --admin-addr 127.0.0.1:28081 --c2s-allow-plaintext --login-rate 0 --conn-rate 0 --log-level warn &
ppid=$!; pids+=("$ppid")
until curl -sf http://127.0.0.1:28081/healthz >/dev/null; do sleep 0.2; done
tok=$(cat "$work/parley/admin-token")
seq 0 $((USERS-1)) | xargs -P 6 -I{} curl -sf -o /dev/null -X POST -H "Authorization: Bearer $tok" \
  -d '{"login":"bench{}","password":"bench-password"}' http://127.0.0.1:28081/api/apps/1/users
run parley 127.0.0.1:25222 '%d-1' 1 "$ppid"
kill "$ppid"; wait "$ppid" || true

echo "== prosody"
command -v prosody >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prosody >/dev/null)
pd="$work/prosody"; mkdir -p "$pd/data"
sed "s|@DIR@|$pd|g; s|@PORT@|35222|g" bench/peers/prosody.cfg.lua > "$pd/prosody.cfg.lua"
prosody --config "$pd/prosody.cfg.lua" >"$pd/stdout.log" 2>&1 &
xpid=$!; pids+=("$xpid")
until (echo > /dev/tcp/127.0.0.1/35222) 2>/dev/null; do sleep 0.2; done
"$BIN" bench register --addr 127.0.0.1:35222 --users "$USERS" --user 'bench%d' --first 0 --password bench-password
run prosody 127.0.0.1:35222 'bench%d' 0 "$xpid"
kill "$xpid"; wait "$xpid" || true

mkdir -p docs/bench
"$BIN" bench compare "$work"/parley-connect.json "$work"/parley-chat.json "$work"/prosody-connect.json "$work"/prosody-chat.json \
  --json docs/bench/compare.json
