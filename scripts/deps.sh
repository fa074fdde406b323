#!/usr/bin/env bash
# Installs what the client tests need: Node packages (connectycube@6.1.2,
# @xmpp/client) and Debian's python3-slixmpp. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import slixmpp' 2>/dev/null && ! /usr/bin/python3 -c 'import slixmpp' 2>/dev/null; then
  if command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq python3-slixmpp >/dev/null
  else
    echo "deps: python3-slixmpp is missing and apt-get is not available" >&2
    exit 1
  fi
fi
if [ ! -d tests/clients/node/node_modules/connectycube ]; then
  (cd tests/clients/node && npm ci --no-audit --no-fund --loglevel=error)
fi
