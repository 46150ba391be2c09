#!/usr/bin/env bash
# Builds lambkin's Node.js runtime component:
#   npm ci (pinned by bootstrap/package-lock.json) -> esbuild bundle -> componentize-js
#   -> target/runtimes/nodejs/runtime.wasm
# Each step is skipped when its outputs are newer than its inputs. FORCE=1 rebuilds.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
bootstrap=$here/bootstrap
out_dir=${LAMBKIN_NODE_RUNTIME_DIR:-$repo/target/runtimes/nodejs}
bundle=$out_dir/runtime.js
wasm=$out_dir/runtime.wasm
force=${FORCE:-0}

mkdir -p "$out_dir"
cd "$bootstrap"

# True when $1 is missing, or older than any of the remaining paths (files or directories).
stale() {
  local target=$1
  shift
  [ "$force" = 1 ] && return 0
  [ -e "$target" ] || return 0
  [ -n "$(find "$@" -newer "$target" -print -quit 2>/dev/null)" ]
}

# 1. npm ci: node_modules/.package-lock.json is npm's record of the installed tree.
if stale node_modules/.package-lock.json package-lock.json package.json; then
  echo "node runtime: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.package-lock.json
fi

# 2. esbuild: src/ and the polyfills from node_modules into one ES module.
if stale "$bundle" src bundle.mjs package-lock.json; then
  echo "node runtime: bundling -> $bundle" >&2
  node bundle.mjs "$bundle.tmp"
  mv "$bundle.tmp" "$bundle"
fi

# 3. componentize-js (StarlingMonkey + wizer), through componentize.mjs: the bundle against
#    wit/world.wit's node-runtime world. fetch goes out through wasi:http and net through
#    wasi:sockets (the host's egress policy decides where); functions are not HTTP servers, so
#    StarlingMonkey's fetch-event (incoming handler) is disabled.
if stale "$wasm" "$bundle" wit package-lock.json componentize.mjs "$here/build.sh"; then
  echo "node runtime: componentize-js -> $wasm" >&2
  node componentize.mjs "$bundle" "$wasm.tmp"
  mv "$wasm.tmp" "$wasm"
fi

echo "$wasm"
