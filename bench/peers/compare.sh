#!/usr/bin/env bash
# make bench-compare: the same scenarios against Parley (embedded store),
# ejabberd and Prosody, one after another on this machine, on loopback.
# Writes docs/bench/compare.json and prints the markdown table recorded in
# docs/benchmarks.md. Each server is started here with the config beside
# this script and stopped by its PID. Bounded: USERS (default 2,000)
# sessions for connect; CHAT_USERS (1,000) users sending one message a
# second each for DURATION (30s); then a ramp of offered rates (RATES), each
# for RAMP_DURATION (10s), stopping at the first rate a server does not
# sustain with p99 under 10 ms.
set -euo pipefail
cd "$(dirname "$0")/../.."
USERS=${USERS:-2000}
CHAT_USERS=${CHAT_USERS:-1000}
DURATION=${DURATION:-30s}
RATES=${RATES:-500,1000,2000,4000,6000,8000,10000,12000,14000,16000,18000,20000,22000,24000,27000,30000}
RAMP_DURATION=${RAMP_DURATION:-10s}
GROUP_USERS=${GROUP_USERS:-1000}   # rooms of 10, one message per room a second
RESUME_USERS=${RESUME_USERS:-200}  # five messages a second each, one session cut every 200 ms
SOAK=${SOAK:-30s}
SERVERS=${SERVERS:-parley ejabberd prosody}
OUT=${OUT:-docs/bench/compare.json}   # the comparison rows
REPORTS=${REPORTS:-docs/bench}         # an HTML report per server
# PIN=1 puts the server under test on CPU 0 and the load tool on CPU 1, as
# separate machines would be: a per-core comparison, not the default.
SRV=() TOOL=()
if [ -n "${PIN:-}" ]; then SRV=(taskset -c 0); TOOL=(taskset -c 1); fi
# SCRAM-SHA-1 is what the ConnectyCube SDK and slixmpp pick; every server
# stores SCRAM keys, never the password itself.
MECH=${MECH:-SCRAM-SHA-1}
make build >/dev/null
mkdir -p "$REPORTS" "$(dirname "$OUT")"
BIN=$PWD/bin/parley
bench() { "${TOOL[@]}" "$BIN" bench "$@"; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# install PKG: Debian's package, without letting its maintainer scripts
# start the packaged service (that would listen on every interface).
install() {
  command -v "$2" >/dev/null && return
  local guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  [ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

wait_port() { for _ in $(seq 150); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.2; done; echo "port $1 never opened" >&2; exit 1; }

run() { # label addr user-pattern first pid [group options...]
  local common=(--addr "$2" --transport tcp --user "$3" --first "$4" --password bench-password --mechanism "$MECH" --label "$1" --pid "$5")
  bench connect "${common[@]}" --users "$USERS" --workers 32 --hold 5s --json "$work/$1-connect.json"
  bench chat "${common[@]}" --users "$CHAT_USERS" --interval 1s --duration "$DURATION" --size 64 --json "$work/$1-chat.json" --html "$REPORTS/$1-chat.html"
  bench chat "${common[@]}" --users "$CHAT_USERS" --rates "$RATES" --duration "$RAMP_DURATION" --size 64 --json "$work/$1-ramp.json"
  # Group messages are not stored, on Parley either: the peers run without
  # an archive (Parley's stored fan-out: the GroupStored benchmark).
  bench group "${common[@]}" --users "$GROUP_USERS" --members 10 --interval 1s --duration "$SOAK" --save-to-history=false "${@:6}" --json "$work/$1-group.json"
  bench resume "${common[@]}" --users "$RESUME_USERS" --interval 200ms --drop-every 200ms --duration "$SOAK" --json "$work/$1-resume.json"
  results+=("$work/$1-connect.json" "$work/$1-chat.json" "$work/$1-ramp.json" "$work/$1-group.json" "$work/$1-resume.json")
}
results=()

bench_parley() {
  echo "== parley $("$BIN" version | head -1)"
  "${SRV[@]}" "$BIN" serve --data "$work/parley" --c2s-addr 127.0.0.1:25222 --c2s-tls-addr "" --ws-addr "" --http-addr 127.0.0.1:28080 \
    --admin-addr 127.0.0.1:28081 --c2s-allow-plaintext --login-rate 0 --conn-rate 0 --log-level warn &
  local pid=$!; pids+=("$pid")
  until curl -sf http://127.0.0.1:28081/healthz >/dev/null; do sleep 0.2; done
  local tok; tok=$(cat "$work/parley/admin-token")
  # One at a time, so that login benchN is user id N+1 (the XMPP name).
  seq 0 $((USERS-1)) | xargs -P 1 -I{} curl -sf -o /dev/null -X POST -H "Authorization: Bearer $tok" \
    -d '{"login":"bench{}","password":"bench-password"}' http://127.0.0.1:28081/api/apps/1/users
  local key; key=$(cat "$work/parley/app-1-auth-key")  # written by the first start; the key is in no log or listing
  run parley 127.0.0.1:25222 '%d-1' 1 "$pid" --rooms parley --http http://127.0.0.1:28080 --app-id 1 --auth-key "$key" --login 'bench%d'
  bench history --http http://127.0.0.1:28080 --app-id 1 --auth-key "$key" --login 'bench%d' --addr 127.0.0.1:25222 \
    --users 200 --workers 16 --seed 50 --page 50 --duration 20s --label parley --pid "$pid" --json "$work/parley-history.json"
  results+=("$work/parley-history.json")
  kill "$pid"; wait "$pid" || true
}

bench_ejabberd() {
  install ejabberd erl
  echo "== ejabberd $(dpkg-query -W -f '${Version}' ejabberd 2>/dev/null)"
  local d="$work/ejabberd"; mkdir -p "$d/spool"
  sed "s|@DIR@|$d|g; s|@PORT@|45222|g" bench/peers/ejabberd.yml > "$d/ejabberd.yml"
  # Started with erl directly: Debian's ejabberdctl reads its own ctl config,
  # which points back at /etc/ejabberd/ejabberd.yml. No node name, so no
  # Erlang distribution port and no epmd: the c2s listener on 127.0.0.1 is
  # the only socket.
  (cd "$d" && EJABBERD_CONFIG_PATH="$d/ejabberd.yml" EJABBERD_LOG_PATH="$d/ejabberd.log" HOME="$d" \
    ERL_LIBS=/usr/lib/x86_64-linux-gnu ERL_MAX_PORTS=65536 \
    exec "${SRV[@]}" erl -noinput +K true +P 1000000 -mnesia dir "\"$d/spool\"" -s ejabberd >"$d/stdout.log" 2>&1) &
  local pid=$!; pids+=("$pid")
  wait_port 45222
  bench register --addr 127.0.0.1:45222 --users "$USERS" --user 'bench%d' --first 0 --password bench-password
  run ejabberd 127.0.0.1:45222 'bench%d' 0 "$pid" --rooms muc --muc-domain conference.localhost
  kill "$pid"; wait "$pid" || true
}

bench_prosody() {
  install prosody prosody
  echo "== prosody $(dpkg-query -W -f '${Version}' prosody 2>/dev/null)"
  local d="$work/prosody"; mkdir -p "$d/data"
  sed "s|@DIR@|$d|g; s|@PORT@|35222|g" bench/peers/prosody.cfg.lua > "$d/prosody.cfg.lua"
  "${SRV[@]}" prosody --config "$d/prosody.cfg.lua" >"$d/stdout.log" 2>&1 &
  local pid=$!; pids+=("$pid")
  wait_port 35222
  bench register --addr 127.0.0.1:35222 --users "$USERS" --user 'bench%d' --first 0 --password bench-password
  run prosody 127.0.0.1:35222 'bench%d' 0 "$pid" --rooms muc --muc-domain conference.localhost
  kill "$pid"; wait "$pid" || true
}

for s in $SERVERS; do "bench_$s"; done

bench compare "${results[@]}" --json "$OUT"
