#!/usr/bin/env bash
# Builds SeaweedFS's `weed` (an S3-compatible object store, Apache-2.0) from
# the Go module proxy into .cache/weed, for the S3 bytes backend's tests: a
# real S3 server on loopback, not a fake. Idempotent; the build takes a few
# minutes once.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.cache/weed
[ -x "$out" ] && exit 0
version=v0.0.0-20261109003541-7506e5f91cd6
work=.cache/weed-build
rm -rf "$work" && mkdir -p "$work"
cd "$work"
cat > go.mod <<'MOD'
module weedbuild

go 1.24
MOD
cat > tools.go <<'GO'
//go:build tools

package tools

import _ "github.com/seaweedfs/seaweedfs/weed"
GO
go get "github.com/seaweedfs/seaweedfs/weed@$version" >/dev/null 2>&1
go mod tidy >/dev/null 2>&1
go build -o ../weed github.com/seaweedfs/seaweedfs/weed
cd .. && rm -rf weed-build
