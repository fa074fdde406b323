#!/usr/bin/env bash
# Builds FerretDB v1.24.2 (a MongoDB-wire server on SQLite) into
# .cache/ferretdb for the MongoDB backend's tests. Its module zip lacks
# build/version/version.txt, so it is built in a scratch module after
# `go mod vendor`, with that file written under vendor/. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.cache/ferretdb
[ -x "$out" ] && exit 0
work=.cache/ferretdb-build
rm -rf "$work" && mkdir -p "$work"
cd "$work"
cat > go.mod <<'MOD'
module ferretbuild

go 1.24
MOD
cat > tools.go <<'GO'
//go:build tools

package tools

import _ "github.com/FerretDB/FerretDB/cmd/ferretdb"
GO
go get github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2 >/dev/null 2>&1
go mod tidy >/dev/null 2>&1
go mod vendor
echo "v1.24.2" > vendor/github.com/FerretDB/FerretDB/build/version/version.txt
go build -mod=vendor -o ../ferretdb github.com/FerretDB/FerretDB/cmd/ferretdb
cd .. && rm -rf ferretdb-build
