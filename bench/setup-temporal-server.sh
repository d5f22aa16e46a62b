#!/usr/bin/env bash
# Builds the real Temporal server 1.29.1 and its SQL schema tool into .tools/temporal-server (about
# 200 s on 2 cores, once). The schema files come from the same module in Go's module cache.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x "$REPO_ROOT/.tools/temporal-server/server" ] && [ -x "$REPO_ROOT/.tools/temporal-server/sql" ]; then exit 0; fi
echo "[bench] building Temporal server 1.29.1 and temporal-sql-tool with Go (about 200 s, once)" >&2
GOBIN="$REPO_ROOT/.tools/temporal-server" go install \
  go.temporal.io/server/cmd/server@v1.29.1 go.temporal.io/server/cmd/tools/sql@v1.29.1
