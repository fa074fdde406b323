#!/usr/bin/env bash
# Installs what the tests need: Node packages (connectycube@6.1.2,
# @xmpp/client), Debian's python3-slixmpp, profanity, tmux and redis-server,
# and FerretDB (built into .cache/). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
/usr/bin/python3 -c 'import slixmpp' 2>/dev/null || python3 -c 'import slixmpp' 2>/dev/null || need+=(python3-slixmpp)
command -v redis-server >/dev/null || need+=(redis-server)
command -v profanity >/dev/null || need+=(profanity)
command -v tmux >/dev/null || need+=(tmux)
command -v docker-compose >/dev/null || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "deps: missing ${need[*]} and apt-get is not available" >&2
    exit 1
  fi
fi
# The MongoDB backend's tests run against FerretDB unless MONGO_URI is set.
[ -n "${MONGO_URI:-}" ] || bash scripts/ferretdb.sh
# The S3 bytes backend's tests run against SeaweedFS unless S3_ENDPOINT is set.
[ -n "${S3_ENDPOINT:-}" ] || bash scripts/seaweedfs.sh
if [ ! -d tests/clients/node/node_modules/connectycube ]; then
  (cd tests/clients/node && npm ci --no-audit --no-fund --loglevel=error)
fi
